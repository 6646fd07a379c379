"""Open311 GeoReport v2 endpoint (/open311/v2/): plain Django views, each parse → one service or
selector → render. Every refusal is answered in the spec's error format (``<errors>`` / a JSON
array) in the format asked for, with the matching HTTP status; an unknown format answers 404 in XML.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from dispatch import throttle as citizen_throttle
from dispatch.views.public import serve_file
from governance.errors import DomainError
from open311 import mapping, selectors, services
from open311.access import caller_get
from open311.errors import Open311Error
from open311.media import attachment_get, media_url
from open311.render import FORMATS, XML, render, render_errors


def open311_view(*methods: str):
    """No login (api_key or nobody), no CSRF (no cookies are used), the methods allowed, the format
    checked, and refusals rendered the spec's way."""
    allowed = (*methods, "HEAD") if "GET" in methods else methods

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, fmt: str = XML, **kwargs) -> HttpResponse:
            fmt = fmt.lower()
            try:
                if fmt not in FORMATS:
                    raise Open311Error(404, gettext("Unknown format “%(fmt)s”: use .xml or .json.") % {"fmt": fmt[:10]})
                if request.method not in allowed:
                    raise Open311Error(405, gettext("Use %(methods)s here.") % {"methods": " or ".join(methods)},
                                       headers={"Allow": ", ".join(allowed)})
                return view(request, fmt, **kwargs)
            except Open311Error as error:
                return render_errors(error.status, error.descriptions, fmt, headers=error.headers)
            except ValidationError as error:
                return render_errors(400, error.messages, fmt)
            except DomainError as error:
                return render_errors(error.status, [error.message], fmt)
            except Http404:
                return render_errors(404, [gettext("Not found.")], fmt)

        return login_not_required(csrf_exempt(wrapper))

    return decorate


@open311_view("GET")
def discovery(request, fmt):
    url = request.build_absolute_uri(reverse("open311:root"))
    return render(mapping.discovery_document(url=url.rstrip("/"), production=not settings.DEBUG), fmt)


@open311_view("GET")
def service_list(request, fmt):
    caller_get(request)
    return render(mapping.services_document(selectors.public_services()), fmt)


@open311_view("GET")
def service_definition(request, fmt, code):
    caller_get(request)
    return render(mapping.definition_document(selectors.service_get(code)), fmt)


@open311_view("GET", "POST")
def requests(request, fmt):
    if request.method == "POST":
        return _request_create(request, fmt)
    caller = caller_get(request)
    query = mapping.parse_requests_query(request.GET, now=timezone.now())
    return _render_requests(request, fmt, caller, selectors.requests_search(caller, query))


def _request_create(request, fmt):
    caller = caller_get(request, key_required=True)
    code = (request.POST.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, gettext("service_code is required."))
    minor = selectors.service_get(code)
    data = mapping.parse_new_request(request.POST, minor=minor, client_pk=caller.client.pk,
                                     idempotency_key=request.headers.get("Idempotency-Key"))
    event, created = services.service_request_create(client=caller.client, data=data, jurisdiction=caller.jurisdiction)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return render(mapping.created_document(event, account_id=data.account_id), fmt, headers=headers)


@open311_view("GET")
def request_detail(request, fmt, number):
    caller = caller_get(request)
    return _render_requests(request, fmt, caller, [selectors.request_get(caller, number)])


@open311_view("GET")
def token_detail(request, fmt, token):
    caller = caller_get(request)
    who = citizen_throttle.client_key(request)
    # Tokens are receipt codes: guessing them is counted with the tracking page's misses.
    if caller.client is None and citizen_throttle.RECEIPT_MISSES.exceeded(who):
        raise Open311Error(429, gettext("Too many unknown tokens were tried from here. Please try again in an hour."))
    event = selectors.request_by_token(caller, token)
    if event is None:
        if caller.client is None:
            citizen_throttle.RECEIPT_MISSES.hit(who)
        raise Open311Error(404, gettext("token %(token)s was not found.") % {"token": token[:40]})
    return render(mapping.token_document(event), fmt)


def _render_requests(request, fmt, caller, events):
    full = caller.client is not None  # the rows are all visible to the client's account
    rows = [mapping.request_row(e, full=full, media_url=media_url(request, e, full=full)) for e in events]
    return render(mapping.requests_document(rows), fmt)


@login_not_required
def media(request, signed):
    """A photo behind a media_url (the display copy, without metadata)."""
    try:
        caller_get(request)
        attachment = attachment_get(signed)
    except Open311Error as error:
        return render_errors(error.status, error.descriptions, XML, headers=error.headers)
    return serve_file(attachment.display, "image/jpeg")


@login_not_required
@csrf_exempt
def not_found(request, path=""):
    fmt = path.rsplit(".", 1)[-1].lower() if "." in path else XML
    return render_errors(404, [gettext("There is no such resource; see discovery.xml.")], fmt)
