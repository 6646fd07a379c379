"""Per-client counters for the public pages (citizen reports, receipt-code lookups).

Counts live in the cache (Redis when REDIS_URL is set, so every web process shares them; locmem on
a developer's machine). Each counter is a window of an hour that starts with its first hit: the
key is created with ``add`` and counted with ``incr``, both atomic in Redis, and Redis keeps the
key's expiry on ``incr``. The limits are [practice] parameters an administrator can change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache

from governance.audit import client_ip
from governance.params import get_param

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Throttle:
    scope: str  # what is counted, e.g. "citizen-report"
    param: str  # the Parameter key of the hourly limit
    default: int

    def limit(self) -> int:
        return int(get_param(self.param, self.default))

    def _key(self, ident: str) -> str:
        return f"dispatch:throttle:{self.scope}:{ident}"

    def exceeded(self, ident: str) -> bool:
        """Whether ``ident`` has used up its hour (checked before doing the work).

        With the cache (Redis) down, nobody is stopped: a citizen's report matters more than
        the throttle, and the outage is logged."""
        try:
            return (cache.get(self._key(ident)) or 0) >= self.limit()
        except Exception:
            logger.warning("throttle %s unavailable; letting the request through", self.scope, exc_info=True)
            return False

    def hit(self, ident: str) -> int:
        """Count one use; returns the count so far in this window (0 when the cache is down)."""
        key = self._key(ident)
        try:
            cache.add(key, 0, timeout=WINDOW_SECONDS)
            try:
                return cache.incr(key)
            except ValueError:  # expired between add and incr: start a new window
                cache.add(key, 1, timeout=WINDOW_SECONDS)
                return 1
        except Exception:
            logger.warning("throttle %s unavailable; not counted", self.scope, exc_info=True)
            return 0


CITIZEN_REPORTS = Throttle("citizen-report", "dispatch.citizen_reports_per_hour", 5)
# Only lookups of codes that do not exist are counted: a citizen reloading their own page is never
# stopped, while someone trying codes runs out after a few dozen guesses (of 32^10 codes).
RECEIPT_MISSES = Throttle("receipt-miss", "dispatch.receipt_misses_per_hour", 30)


def client_key(request) -> str:
    """Who is counted: the client's address (behind a proxy, from ``CLIENT_IP_HEADER``)."""
    return client_ip(request) or "unknown"
