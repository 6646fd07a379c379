"""Working-calendar deadline engine: one clock for dispatch, petitions and mediation.

Pure Python on purpose (no Django imports): the sweep that colours 200,000 open cases calls
`elapsed_share` in a tight loop, and tests run without settings. The models layer builds a
`WorkingCalendar` from its tables of special days and working periods and passes it in.

Conventions, the same for every unit:
- `Deadline.due` is the instant the period ends. A case is overdue when `now > due`
  (`Deadline.is_overdue`); at exactly `due` it is still on time.
- A period counted in days ends at 24:00 of its last day, represented as 00:00 of the
  following day (Civil Code art. 203: "期间的最后一日的截止时间为二十四时").
- The start day of a day count is not counted (Civil Code art. 201; 民事诉讼法 art. 85).

Time zone assumption: working time is wall-clock arithmetic in `WorkingCalendar.tz`
(default Asia/Shanghai, which has had no DST since 1991). In a zone with DST, a working
period that straddles a transition would be off by the shift. MINUTES/HOURS are measured as
true elapsed time (via UTC), so they are right in any zone.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Typical Chinese government office hours; each calendar may set its own.
DEFAULT_WORKING_PERIODS: tuple[tuple[time, time], ...] = (
    (time(8, 30), time(12, 0)),
    (time(14, 0), time(17, 30)),
)
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday

_US_PER_SECOND = 1_000_000
_ONE_US = timedelta(microseconds=1)


# --- small helpers ---


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got naive {value!r}")


def _time_us(value: time | datetime) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * _US_PER_SECOND + value.microsecond


def _elapsed_us(start: datetime, end: datetime) -> int:
    delta = end.astimezone(UTC) - start.astimezone(UTC)
    return (delta.days * 86400 + delta.seconds) * _US_PER_SECOND + delta.microseconds


def _midnight_after(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)


def _sorted_ordinals(days: Iterable[date]) -> tuple[int, ...]:
    return tuple(sorted(d.toordinal() for d in days))


def _fmt(local: datetime) -> str:
    return f"{local:%Y-%m-%d %H:%M}"


class LimitUnit(str, Enum):
    """Unit of a time limit; the values are stored in the database, do not rename them."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"

    @property
    def is_working_time(self) -> bool:
        return self in (LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS)


_UNIT_WORDS: dict[LimitUnit, tuple[str, str]] = {
    LimitUnit.MINUTES: ("minute", "minutes"),
    LimitUnit.HOURS: ("hour", "hours"),
    LimitUnit.DAYS: ("day", "days"),
    LimitUnit.WORKING_HOURS: ("working hour", "working hours"),
    LimitUnit.WORKING_DAYS: ("working day", "working days"),
}


@dataclass(frozen=True)
class TimeLimit:
    """A limit such as "4 working hours". English `str` only; callers translate via gettext."""

    amount: int
    unit: LimitUnit

    def __post_init__(self) -> None:
        # Accept the stored string ("working_hours") so model code can pass the column as is.
        object.__setattr__(self, "unit", LimitUnit(self.unit))
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValueError(f"amount must be an int, got {self.amount!r}")
        if self.amount <= 0:
            raise ValueError(f"amount must be positive, got {self.amount}")

    def __str__(self) -> str:
        singular, plural = _UNIT_WORDS[self.unit]
        return f"{self.amount} {singular if self.amount == 1 else plural}"


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and hours of one administration.

    A date is a working day if it is a make-up working day (调休), else not if it is a holiday
    (法定节假日 day off), else not if its weekday is in `weekend`. A date in both `holidays` and
    `makeup_workdays` is a data error and raises ValueError.
    """

    periods: tuple[tuple[time, time], ...] = DEFAULT_WORKING_PERIODS
    weekend: frozenset[int] = DEFAULT_WEEKEND
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    tz: ZoneInfo = SHANGHAI

    # Derived lookups, built once per calendar so the hot path is O(log holidays).
    _spans: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _week_prefix: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _extra_off: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _extra_on: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: the only way to normalise and cache
        set_(self, "periods", tuple((start, end) for start, end in self.periods))
        set_(self, "weekend", frozenset(self.weekend))
        set_(self, "holidays", frozenset(self.holidays))
        set_(self, "makeup_workdays", frozenset(self.makeup_workdays))
        self._validate()
        spans = tuple((_time_us(start), _time_us(end)) for start, end in self.periods)
        set_(self, "_spans", spans)
        set_(self, "_day_us", sum(end - start for start, end in spans))
        prefix = [0]
        for weekday in range(7):
            prefix.append(prefix[-1] + (weekday not in self.weekend))
        set_(self, "_week_prefix", tuple(prefix))
        # Only special days that change the weekly pattern matter for counting.
        set_(self, "_extra_off", _sorted_ordinals(d for d in self.holidays if d.weekday() not in self.weekend))
        set_(self, "_extra_on", _sorted_ordinals(d for d in self.makeup_workdays if d.weekday() in self.weekend))

    def _validate(self) -> None:
        if not self.periods:
            raise ValueError("a working calendar needs at least one working period")
        previous_end: time | None = None
        for start, end in self.periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("working periods are wall-clock times; give naive times")
            if start >= end:
                raise ValueError(f"working period {start}–{end} is empty or reversed")
            if previous_end is not None and start < previous_end:
                raise ValueError("working periods must be sorted and must not overlap")
            previous_end = end
        if not self.weekend <= set(range(7)):
            raise ValueError("weekend holds weekday numbers 0 (Monday) .. 6 (Sunday)")
        if len(self.weekend) == 7:
            # Deadline search would never find a working day.
            raise ValueError("a working calendar needs at least one working weekday")
        both = self.holidays & self.makeup_workdays
        if both:
            raise ValueError(f"dates both holiday and make-up working day: {sorted(both)}")

    def is_working_day(self, d: date) -> bool:
        if d in self.makeup_workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() not in self.weekend

    def periods_label(self) -> str:
        return ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in self.periods)

    # --- counting helpers (ordinal arithmetic, no day-by-day loops) ---

    def _working_days_before(self, ordinal: int) -> int:
        """Number of working days with an ordinal below `ordinal` (from 0001-01-01)."""
        weeks, rest = divmod(ordinal - 1, 7)  # ordinal 1 is a Monday
        count = weeks * self._week_prefix[7] + self._week_prefix[rest]
        return count - bisect_left(self._extra_off, ordinal) + bisect_left(self._extra_on, ordinal)

    def _nth_working_day(self, index: int, hint: int) -> int:
        """Ordinal of the working day numbered `index` (0-based, as counted by
        `_working_days_before`); `hint` is an ordinal not after the answer."""
        low, step = hint, 8
        while self._working_days_before(low + step) <= index:
            low, step = low + step, step * 2
        high = low + step  # the answer lies in [low, high)
        while low < high:
            middle = (low + high) // 2
            if self._working_days_before(middle + 1) > index:
                high = middle
            else:
                low = middle + 1
        return low

    def _working_us_in_day(self, us_of_day: int) -> int:
        done = 0
        for start, end in self._spans:
            if us_of_day <= start:
                break
            if us_of_day < end:
                return done + us_of_day - start
            done += end - start
        return done

    def _us_of_day_at(self, working_us: int) -> int:
        """Earliest time of day by which `working_us` (0 < x <= a day's worth) have been worked;
        a total reached exactly at a period's end stays at that end."""
        for start, end in self._spans:
            if working_us <= end - start:
                return start + working_us
            working_us -= end - start
        raise AssertionError("working_us exceeds one working day")

    def _clock(self, local: datetime) -> int:
        """Working microseconds from 0001-01-01 to `local`; differences give working time."""
        ordinal = local.toordinal()
        before = self._working_days_before(ordinal) * self._day_us
        if not self.is_working_day(local.date()):
            return before
        return before + self._working_us_in_day(_time_us(local))


DEFAULT_CALENDAR = WorkingCalendar()


@dataclass(frozen=True)
class Deadline:
    """When a limit runs out, with a plain English account of how that was computed."""

    due: datetime
    limit: TimeLimit
    rule: str

    def is_overdue(self, now: datetime) -> bool:
        _require_aware(now)
        return now > self.due


def compute_deadline(
    start: datetime,
    limit: TimeLimit,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
    *,
    extend_to_working_day: bool = True,
) -> Deadline:
    """Deadline of `limit` running from `start`, as an aware datetime in `calendar.tz`.

    `extend_to_working_day` applies to DAYS only: a period whose last day is not a working day
    ends at the end of the next working day instead (Civil Code art. 203; 民事诉讼法 art. 85).
    """
    _require_aware(start)
    if limit.amount <= 0:  # TimeLimit checks this too; guard against objects built around it
        raise ValueError(f"amount must be positive, got {limit.amount}")
    local = start.astimezone(calendar.tz)
    if limit.unit is LimitUnit.MINUTES or limit.unit is LimitUnit.HOURS:
        return _calendar_time_deadline(local, limit, calendar)
    if limit.unit is LimitUnit.DAYS:
        return _calendar_days_deadline(local, limit, calendar, extend_to_working_day)
    if limit.unit is LimitUnit.WORKING_DAYS:
        return _working_days_deadline(local, limit, calendar)
    return _working_hours_deadline(local, limit, calendar)


def extend_deadline(
    deadline: Deadline,
    extra: TimeLimit,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
    *,
    extend_to_working_day: bool = True,
) -> Deadline:
    """Add an extension (e.g. 信访 60 days + 30 days) after an existing deadline.

    Do not call `compute_deadline(deadline.due, ...)` for day counts: a DAYS due is 00:00 of the
    day after the last day, and counting from there skips a day. Day counts here start from the
    last day of the current period (not counted itself), time counts from `due`.
    """
    day_count = extra.unit in (LimitUnit.DAYS, LimitUnit.WORKING_DAYS)
    start = deadline.due - _ONE_US if day_count else deadline.due
    added = compute_deadline(start, extra, calendar, extend_to_working_day=extend_to_working_day)
    return Deadline(added.due, extra, f"{deadline.rule}; then extended by {extra}: {added.rule}")


def working_time_between(
    start: datetime, end: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR
) -> timedelta:
    """Working time inside the working periods of working days from `start` to `end`
    (negative if `end` is before `start`)."""
    _require_aware(start)
    _require_aware(end)
    tz = calendar.tz
    us = calendar._clock(end.astimezone(tz)) - calendar._clock(start.astimezone(tz))
    return timedelta(microseconds=us)


def elapsed_share(
    start: datetime,
    now: datetime,
    due: datetime,
    unit: LimitUnit,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> float:
    """Share of the limit used by `now`: 0.0 at start, 1.0 at `due`, above 1.0 after it.

    Measured in working time for WORKING_* units, so nights and weekends do not count; hence a
    working-time share stays at 1.0 from a Friday 17:30 due until Monday 08:30. Decide "red"
    with `now > due` (`Deadline.is_overdue`), and use the share for thresholds such as 80 %.
    """
    _require_aware(start)
    _require_aware(now)
    _require_aware(due)
    if LimitUnit(unit).is_working_time:
        tz = calendar.tz
        origin = calendar._clock(start.astimezone(tz))
        used = calendar._clock(now.astimezone(tz)) - origin
        total = calendar._clock(due.astimezone(tz)) - origin
    else:
        # Aware subtraction across tzinfos goes through UTC, giving true elapsed time.
        used = _elapsed_us(start, now)
        total = _elapsed_us(start, due)
    if used <= 0:
        return 0.0
    if total <= 0:  # degenerate limit: nothing to use up
        return math.inf if now > due else 1.0
    return used / total


# --- one function per unit ---


def _calendar_time_deadline(local: datetime, limit: TimeLimit, calendar: WorkingCalendar) -> Deadline:
    minutes = limit.amount * (60 if limit.unit is LimitUnit.HOURS else 1)
    # Through UTC so that the result is true elapsed time even in a DST zone.
    due = (local.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(calendar.tz)
    rule = f"{limit} of calendar time from {_fmt(local)}; the working calendar does not apply"
    return Deadline(due, limit, rule)


def _calendar_days_deadline(
    local: datetime, limit: TimeLimit, calendar: WorkingCalendar, extend: bool
) -> Deadline:
    # 期间: the start day is not counted; the period ends at 24:00 of its last day.
    last_day = local.date() + timedelta(days=limit.amount)
    rule = f"{limit} from {_fmt(local)}: the start day is not counted"
    if extend and not calendar.is_working_day(last_day):
        # General rule of Chinese procedure (Civil Code art. 203, 民事诉讼法 art. 85): a period
        # whose last day is a day off ends on the next working day.
        ordinal = last_day.toordinal()
        moved = date.fromordinal(calendar._nth_working_day(calendar._working_days_before(ordinal + 1), ordinal))
        rule += f"; the last day {last_day} is not a working day, so the period moves to {moved}"
        last_day = moved
    rule += f"; it ends at 24:00 of {last_day}"
    return Deadline(_midnight_after(last_day, calendar.tz), limit, rule)


def _working_days_deadline(local: datetime, limit: TimeLimit, calendar: WorkingCalendar) -> Deadline:
    ordinal = local.toordinal()
    # Working days up to and including the start day; the next ones are counted.
    counted_before = calendar._working_days_before(ordinal + 1)
    last_day = date.fromordinal(calendar._nth_working_day(counted_before + limit.amount - 1, ordinal))
    closing = calendar.periods[-1][1]
    due = datetime.combine(last_day, closing, tzinfo=calendar.tz)
    rule = (
        f"{limit} from {_fmt(local)}: the start day is not counted; it ends at the close of "
        f"working day {limit.amount}, {last_day} {closing:%H:%M}"
    )
    return Deadline(due, limit, rule)


def _working_hours_deadline(local: datetime, limit: TimeLimit, calendar: WorkingCalendar) -> Deadline:
    due = _instant_at_clock(calendar._clock(local) + limit.amount * 3600 * _US_PER_SECOND, local, calendar)
    rule = f"{limit} from {_fmt(local)}, counting {calendar.periods_label()} on working days"
    return Deadline(due, limit, rule)


def share_reached_at(
    start: datetime,
    due: datetime,
    unit: LimitUnit,
    share: float,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> datetime:
    """The instant at which `elapsed_share(start, now, due, unit)` reaches `share` (0 < share <= 1).

    Sweeps store it once per step (e.g. the 80 % yellow-warning instant) and then only compare
    timestamps, instead of measuring working time for every open case on every run.
    """
    _require_aware(start)
    _require_aware(due)
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    if not LimitUnit(unit).is_working_time:
        return start + (due - start) * share
    tz = calendar.tz
    origin = calendar._clock(start.astimezone(tz))
    total = calendar._clock(due.astimezone(tz)) - origin
    return _instant_at_clock(origin + math.ceil(total * share), start.astimezone(tz), calendar)


def shift_for_pause(
    moment: datetime,
    paused_from: datetime,
    paused_to: datetime,
    unit: LimitUnit,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> datetime:
    """`moment` (a due or warning instant) moved later by the time a clock stood paused.

    Working-time limits move by the working time inside the pause (a weekend pause moves nothing);
    calendar limits by the elapsed time.
    """
    _require_aware(moment)
    if not LimitUnit(unit).is_working_time:
        return moment + (paused_to - paused_from)
    paused = working_time_between(paused_from, paused_to, calendar)
    tz = calendar.tz
    target = calendar._clock(moment.astimezone(tz)) + paused // _ONE_US
    return _instant_at_clock(target, moment.astimezone(tz), calendar)


def _instant_at_clock(target: int, hint: datetime, calendar: WorkingCalendar) -> datetime:
    """The earliest instant whose working clock reads `target`; `hint` is not after it."""
    day_index, rest = divmod(target, calendar._day_us)
    if rest == 0:  # exactly at a day's close: the end of the previous working day
        day_index, rest = day_index - 1, calendar._day_us
    day = date.fromordinal(calendar._nth_working_day(day_index, hint.toordinal()))
    return datetime.combine(day, time(), tzinfo=calendar.tz) + timedelta(microseconds=calendar._us_of_day_at(rest))

