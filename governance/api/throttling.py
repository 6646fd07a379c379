"""Request rates: per API client (its ``rate_limit`` or API_CLIENT_RATE), per signed-in user
(API_USER_RATE) and per address for anonymous requests (API_ANON_RATE). Answered 429 with
``Retry-After`` in the one error format. If the cache is down, requests are let through (and
logged): an outage of the rate counter must not stop intake."""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from governance.api.auth import client_of
from governance.audit import client_ip

log = logging.getLogger(__name__)


class ApiRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self):
        pass  # the rate depends on the request: set in allow_request

    def get_rate(self):  # pragma: no cover - rates are chosen per request
        return None

    def _rate_for(self, request) -> tuple[str, str]:
        client = client_of(request)
        if client is not None:
            return f"client:{client.pk}", client.rate_limit or settings.API_CLIENT_RATE
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}", settings.API_USER_RATE
        # The address as governance.audit sees it (the proxy's header only when one is configured);
        # DRF's get_ident would trust any X-Forwarded-For a client cares to send.
        return f"anon:{client_ip(request)}", settings.API_ANON_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.ident}

    def allow_request(self, request, view):
        self.ident, self.rate = self._rate_for(request)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache backend is down: let the request through
            log.warning("API rate counter unavailable; request let through", exc_info=True)
            return True
