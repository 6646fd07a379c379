"""Open311 reads: the services offered and the service requests a caller may see.

Anonymous callers see the cases of the public services (events and components). A caller with an
api_key sees, of those, the cases its client's account may see (``events_visible_to``, the one
scoping filter): within its jurisdiction, or reported by it. Both are narrowed further to the
jurisdiction_id asked about. What of a case is shown is decided in ``open311.mapping``.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext

from dispatch.models import Attachment, Event, MinorClass
from dispatch.selectors import active_minor_classes, events_visible_to
from open311.access import Caller
from open311.errors import Open311Error
from open311.mapping import CLOSED_STATES, MAX_REQUESTS, PUBLIC_KINDS, RequestQuery, parse_service_code


def public_services() -> QuerySet[MinorClass]:
    return active_minor_classes().filter(major__kind__in=PUBLIC_KINDS)


def service_get(code: str) -> MinorClass:
    parsed = parse_service_code(code)
    minor = None
    if parsed is not None:
        kind, major, minor_code = parsed
        minor = public_services().filter(major__kind=kind, major__code=major, code=minor_code).first()
    if minor is None:
        raise Open311Error(404, gettext("service_code %(code)s was not found.") % {"code": (code or "")[:40]})
    return minor


def requests_visible(caller: Caller) -> QuerySet[Event]:
    rows = events_visible_to(caller.account) if caller.client else Event.objects.all()
    rows = rows.filter(minor__major__kind__in=PUBLIC_KINDS)
    if caller.jurisdiction is not None:
        rows = rows.filter(unit_path__startswith=caller.jurisdiction.path)
    photos = Attachment.objects.only("pk", "event", "stage", "uploaded_at").order_by("uploaded_at", "pk")
    return rows.select_related("minor__major", "department", "unit", "merged_into").prefetch_related(
        Prefetch("attachments", queryset=photos))


def requests_search(caller: Caller, query: RequestQuery) -> list[Event]:
    """GET requests: newest first, at most the spec's 1000."""
    rows = requests_visible(caller)
    if query.ids:
        rows = rows.filter(number__in=query.ids)
    else:
        if query.service_codes:
            match = Q(pk__in=[])
            for kind, major, minor in query.service_codes:
                match |= Q(minor__major__kind=kind, minor__major__code=major, minor__code=minor)
            rows = rows.filter(match)
        if query.statuses == {"open"}:
            rows = rows.exclude(state__in=CLOSED_STATES)
        elif query.statuses == {"closed"}:
            rows = rows.filter(state__in=CLOSED_STATES)
        rows = rows.filter(created_at__gte=query.start)
        if query.end is not None:
            rows = rows.filter(created_at__lte=query.end)
    return list(rows.order_by("-created_at", "-pk")[:MAX_REQUESTS])


def request_get(caller: Caller, number: str) -> Event:
    """One request the caller may see; 404 for missing and not yours alike."""
    event = requests_visible(caller).filter(number=(number or "").strip().upper()).first()
    if event is None:
        raise Open311Error(404, gettext("service_request_id %(id)s was not found.") % {"id": (number or "")[:40]})
    return event


def request_by_token(caller: Caller, token: str) -> Event | None:
    """The request a token (receipt code; case and separators do not matter) names, None if none the
    caller may see. A merged duplicate answers with itself: its own request says where it went."""
    cleaned = "".join(ch for ch in (token or "").upper() if ch.isalnum())
    return requests_visible(caller).filter(receipt_code=cleaned).first() if cleaned else None
