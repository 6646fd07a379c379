"""Who is asking: the api_key's client (or nobody), the jurisdiction asked about, and the rate.

An api_key is a token of an API client (governance.api.auth) whose client holds the scope "open311".
Creating requests needs one; reading does not, but a reader with one sees the cases its client's
account may see, descriptions included, where an anonymous reader sees the public services' cases
without them. Every request counts against the same rates as the REST API: the client's own rate
with a key, the anonymous rate per address without one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext
from rest_framework.exceptions import AuthenticationFailed

from governance.api.auth import authenticate_key
from governance.api.throttling import ApiRateThrottle
from governance.audit import client_ip
from governance.models import AdministrativeUnit, ApiClient, ApiToken
from open311.errors import Open311Error
from open311.mapping import jurisdiction_get

SCOPE = "open311"


@dataclass(frozen=True)
class Caller:
    client: ApiClient | None
    jurisdiction: AdministrativeUnit | None

    @property
    def account(self):
        return self.client.account if self.client else None


def client_get(key: str | None, ip: str | None, *, required: bool) -> ApiToken | None:
    """The token ``key`` names, if its client holds the open311 scope; 403 otherwise (and when a key
    is required but missing), as the spec answers a missing or invalid api_key."""
    key = (key or "").strip()
    if not key:
        if required:
            raise Open311Error(403, gettext("An api_key is required to create a service request."))
        return None
    try:
        token = authenticate_key(key, ip)
    except AuthenticationFailed as error:
        raise Open311Error(403, gettext("Invalid api_key: %(reason)s") % {"reason": error.detail}) from None
    if SCOPE not in (token.client.scopes or []):
        raise Open311Error(403, gettext("This api_key's client lacks the scope “open311”."))
    return token


class _Throttle(ApiRateThrottle):
    """The REST API's rates. Anonymous callers are told apart by ``client_ip`` (the configured proxy
    header), not by a client-supplied X-Forwarded-For."""

    def get_ident(self, request):
        return client_ip(request) or "unknown"


def throttle(request, token: ApiToken | None) -> None:
    """429 when the caller has used up its rate (a cache outage lets the request through)."""
    request.auth = token  # what ApiRateThrottle reads, as on a DRF request
    limiter = _Throttle()
    if not limiter.allow_request(request, None):
        wait = limiter.wait()
        headers = {"Retry-After": str(max(1, int(wait)))} if wait is not None else {}
        raise Open311Error(429, gettext("Too many requests; try again later."), headers=headers)


def caller_get(request, *, key_required: bool = False) -> Caller:
    """Authenticate, count and place one request: its client (or None) and its jurisdiction."""
    params = request.POST if request.method == "POST" else request.GET
    key = params.get("api_key") or request.GET.get("api_key")
    try:
        token = client_get(key, client_ip(request), required=key_required)
    except Open311Error:
        throttle(request, None)  # failed keys count against the address, like any anonymous call
        raise
    throttle(request, token)
    jurisdiction = jurisdiction_get(params.get("jurisdiction_id") or request.GET.get("jurisdiction_id"))
    return Caller(client=token.client if token else None, jurisdiction=jurisdiction)
