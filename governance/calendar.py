"""The working calendar as the administrators keep it, turned into the deadline engine's calendar.

Deadlines everywhere (dispatch, mediation, petitions) are computed with ``compute_deadline(start,
limit, current_calendar())``. The calendar object is cached per process, so sweeps over many cases
build it once; it is rebuilt when a calendar row changes (a version stamp in the shared cache is
bumped on save) and at least every minute, for processes that do not share the cache.
"""

from __future__ import annotations

import datetime
import logging
import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from governance.deadlines import DEFAULT_WORKING_PERIODS, Deadline, TimeLimit, WorkingCalendar, compute_deadline
from governance.models import CalendarDay, CalendarDayKind, WorkingPeriod

logger = logging.getLogger(__name__)

_VERSION_KEY = "governance:calendar-version"
_MAX_AGE_S = 60
_cached: tuple[object, float, WorkingCalendar] | None = None


def current_calendar() -> WorkingCalendar:
    global _cached
    try:
        version = cache.get(_VERSION_KEY, 0)
    except Exception:  # the shared cache (Redis) is down: keep to the minute-old copy, deadlines still work
        logger.warning("calendar version unavailable from the cache", exc_info=True)
        version = _cached[0] if _cached is not None else 0
    if _cached is None or _cached[0] != version or time.monotonic() - _cached[1] > _MAX_AGE_S:
        _cached = (version, time.monotonic(), _build())
    return _cached[2]


def _build() -> WorkingCalendar:
    days = list(CalendarDay.objects.values_list("date", "kind"))
    periods = tuple((p.start, p.end) for p in WorkingPeriod.objects.order_by("start")) or DEFAULT_WORKING_PERIODS
    return WorkingCalendar(
        periods=periods,
        holidays=frozenset(d for d, kind in days if kind == CalendarDayKind.HOLIDAY),
        makeup_workdays=frozenset(d for d, kind in days if kind == CalendarDayKind.WORKDAY),
        tz=ZoneInfo(settings.TIME_ZONE),
    )


def deadline_for(start: datetime.datetime, limit: TimeLimit) -> Deadline:
    return compute_deadline(start, limit, current_calendar())


@receiver([post_save, post_delete], sender=CalendarDay)
@receiver([post_save, post_delete], sender=WorkingPeriod)
def _calendar_changed(**kwargs) -> None:
    # Invalidation only (no domain logic): other processes see the new version through the cache.
    global _cached
    _cached = None  # this process sees the change at once, even without the shared cache
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 1, None)
    except Exception:  # Redis down: other processes rebuild within _MAX_AGE_S anyway
        logger.warning("could not bump the calendar version in the cache", exc_info=True)
