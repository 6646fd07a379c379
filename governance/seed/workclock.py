"""The deadline engine's arithmetic on whole epoch seconds, table-driven, for seeding millions of steps.

``governance.deadlines.compute_deadline`` takes ~100 µs (it formats the rule it explains, works on
aware datetimes); the synthetic city needs deadlines for every step of two million cases. This
clock precomputes, for the days around the seeding date, which days are worked and how much
working time lies before each, and then answers with a few list lookups. It gives the same instants
as the engine for the same calendar (governance/tests/test_seed_city.py compares them); outside its
range, or for a time zone whose offset changes (DST), or periods with sub-second bounds, it asks
the engine itself.
"""

from __future__ import annotations

import datetime
import math
from bisect import bisect_right

from governance.deadlines import LimitUnit, TimeLimit, WorkingCalendar, compute_deadline, share_reached_at

_UTC = datetime.UTC
_EPOCH_DAY = datetime.date(1970, 1, 1).toordinal()


class WorkClock:
    def __init__(self, calendar: WorkingCalendar, first: datetime.date, last: datetime.date):
        self.calendar = calendar
        self.first_day = first.toordinal() - _EPOCH_DAY  # day numbers count from 1970-01-01
        n = last.toordinal() - first.toordinal() + 1
        noons = [first + datetime.timedelta(days=k) for k in range(0, n, 7)] + [last]
        offsets = {calendar.tz.utcoffset(datetime.datetime.combine(day, datetime.time(12))) for day in noons}
        spans = [(p.hour * 3600 + p.minute * 60 + p.second, q.hour * 3600 + q.minute * 60 + q.second)
                 for p, q in calendar.periods]
        exact = all(p.microsecond == 0 and q.microsecond == 0 for p, q in calendar.periods)
        self.usable = len(offsets) == 1 and exact
        self.offset = int(next(iter(offsets)).total_seconds()) if len(offsets) == 1 else 0
        self.spans = spans
        self.day_work = sum(b - a for a, b in spans)
        self.closing = spans[-1][1]
        self.working = [calendar.is_working_day(first + datetime.timedelta(days=k)) for k in range(n)]
        self.before = [0] * (n + 1)  # working seconds before day k of the table
        self.worked_days_before = [0] * (n + 1)
        for k, worked in enumerate(self.working):
            self.before[k + 1] = self.before[k] + (self.day_work if worked else 0)
            self.worked_days_before[k + 1] = self.worked_days_before[k] + worked
        self.worked = [k for k, worked in enumerate(self.working) if worked]  # table indices of working days
        self.n = n

    # --- helpers on table day indices ----------------------------------------------------------

    def _day(self, t: int) -> tuple[int, int]:
        """(table day index, local second of the day) of instant ``t``."""
        local = t + self.offset
        day, second = divmod(local, 86400)
        return day - self.first_day, second

    def _start_of(self, k: int) -> int:
        """Epoch second of local midnight starting table day ``k``."""
        return (k + self.first_day) * 86400 - self.offset

    def _in_range(self, k: int, margin: int = 0) -> bool:
        return 0 <= k and k + margin < self.n

    def clock(self, t: int) -> int:
        """Working seconds from the table's start to ``t``."""
        local = t + self.offset
        day = local // 86400
        k = day - self.first_day
        total = self.before[k]
        if self.working[k]:
            second = local - day * 86400
            for a, b in self.spans:
                if second <= a:
                    break
                if second < b:
                    return total + second - a
                total += b - a
        return total

    def at_clock(self, target: float) -> float:
        """The earliest instant whose working clock reads ``target`` (the engine's _instant_at_clock)."""
        index = int(target // self.day_work)
        rest = target - index * self.day_work
        if rest == 0:  # at a day's close exactly: the end of the previous working day
            index, rest = index - 1, self.day_work
        start = (self.worked[index] + self.first_day) * 86400 - self.offset
        for a, b in self.spans:
            if rest <= b - a:
                return start + a + rest
            rest -= b - a
        raise AssertionError("rest exceeds a working day")

    # --- the engine's functions ----------------------------------------------------------------

    def due(self, start: int, amount: int, unit: str) -> int:
        """``compute_deadline(start, TimeLimit(amount, unit)).due`` as epoch seconds."""
        if unit == "minutes":
            return start + amount * 60
        if unit == "hours":
            return start + amount * 3600
        k, _second = self._day(start)
        if not self.usable or not self._in_range(k, amount * 2 + 30):
            return self._engine_due(start, amount, unit)
        if unit == "working_hours":
            return int(self.at_clock(self.clock(start) + amount * 3600))
        if unit == "working_days":
            counted = self.worked_days_before[k + 1]  # working days up to and including the start day
            index = counted + amount - 1
            if index >= len(self.worked):
                return self._engine_due(start, amount, unit)
            return self._start_of(self.worked[index]) + self.closing
        if unit == "days":
            last = k + amount
            if not self.working[last]:
                index = self.worked_days_before[last + 1]
                if index >= len(self.worked):
                    return self._engine_due(start, amount, unit)
                last = self.worked[index]
            return self._start_of(last + 1)
        raise ValueError(f"unknown limit unit {unit!r}")

    def yellow(self, start: int, due: int, unit: str, share: float) -> int:
        """``share_reached_at`` rounded up to the whole second."""
        if unit not in ("working_hours", "working_days"):
            return start + math.ceil((due - start) * share)
        k1, _ = self._day(start)
        k2, _ = self._day(due)
        if not self.usable or not (self._in_range(k1) and self._in_range(k2)):
            return self._engine_yellow(start, due, unit, share)
        origin = self.clock(start)
        total = self.clock(due) - origin
        return math.ceil(self.at_clock(origin + math.ceil(total * share * 1_000_000) / 1_000_000))

    # --- the engine, for what the table does not cover ---------------------------------------------

    def _engine_due(self, start: int, amount: int, unit: str) -> int:
        moment = datetime.datetime.fromtimestamp(start, tz=_UTC)
        return math.ceil(compute_deadline(moment, TimeLimit(amount, unit), self.calendar).due.timestamp())

    def _engine_yellow(self, start: int, due: int, unit: str, share: float) -> int:
        a = datetime.datetime.fromtimestamp(start, tz=_UTC)
        b = datetime.datetime.fromtimestamp(due, tz=_UTC)
        return math.ceil(share_reached_at(a, b, LimitUnit(unit), share, self.calendar).timestamp())


def next_working_moment(clock: WorkClock, t: int) -> int:
    """``t`` if it lies in working time, else the start of the next working period (when staff act)."""
    k, second = clock._day(t)
    if not clock._in_range(k, 30):
        return t
    if clock.working[k]:
        for a, b in clock.spans:
            if second < b:
                return t if second >= a else clock._start_of(k) + a
    index = bisect_right(clock.worked, k)
    if index >= len(clock.worked):
        return t
    return clock._start_of(clock.worked[index]) + clock.spans[0][0]


# --- The same on arrays (numpy): the whole city's clocks at once ------------------------------------

UNIT_CODES = {"minutes": 0, "hours": 1, "days": 2, "working_hours": 3, "working_days": 4}


class VectorClock:
    """``WorkClock`` on numpy arrays of epoch seconds (int64). Only for a usable clock (fixed offset,
    whole-second periods); callers check ``WorkClock.usable`` and otherwise use the scalar clock."""

    def __init__(self, clock: WorkClock):
        import numpy as np

        self.np = np
        self.c = clock
        self.before = np.asarray(clock.before, np.int64)
        self.working = np.asarray(clock.working, bool)
        self.worked = np.asarray(clock.worked, np.int64)
        self.worked_days_before = np.asarray(clock.worked_days_before, np.int64)
        self.span_start = np.asarray([a for a, _b in clock.spans], np.int64)
        self.span_len = np.asarray([b - a for a, b in clock.spans], np.int64)
        self.span_cum = np.concatenate([[0], np.cumsum(self.span_len)])  # worked before each period

    def _start_of(self, k):
        return (k + self.c.first_day) * 86400 - self.c.offset

    def clock(self, t):
        np = self.np
        local = np.asarray(t, np.int64) + self.c.offset
        day = local // 86400
        k = day - self.c.first_day
        second = local - day * 86400
        inside = np.clip(second[:, None] - self.span_start[None, :], 0, self.span_len[None, :]).sum(axis=1)
        return self.before[k] + np.where(self.working[k], inside, 0)

    def at_clock(self, target):
        """Float instants (the scalar ``at_clock`` on each element)."""
        np = self.np
        target = np.asarray(target, np.float64)
        index = np.floor(target / self.c.day_work).astype(np.int64)
        rest = target - index * self.c.day_work
        edge = rest == 0
        index = np.where(edge, index - 1, index)
        rest = np.where(edge, self.c.day_work, rest)
        period = np.searchsorted(self.span_cum[1:], rest, side="left")
        period = np.minimum(period, len(self.span_len) - 1)
        return self._start_of(self.worked[index]) + self.span_start[period] + (rest - self.span_cum[period])

    def due(self, t, amount, unit):
        """``compute_deadline(...).due`` for arrays of starts, amounts and unit codes."""
        np = self.np
        t = np.asarray(t, np.int64)
        amount = np.asarray(amount, np.int64)
        unit = np.asarray(unit)
        out = np.empty(len(t), np.int64)
        m = unit == 0
        out[m] = t[m] + amount[m] * 60
        m = unit == 1
        out[m] = t[m] + amount[m] * 3600
        m = unit == 3
        if m.any():
            out[m] = self.at_clock(self.clock(t[m]) + amount[m] * 3600).astype(np.int64)
        k = (t + self.c.offset) // 86400 - self.c.first_day
        m = unit == 4
        if m.any():
            index = self.worked_days_before[k[m] + 1] + amount[m] - 1
            out[m] = self._start_of(self.worked[index]) + self.c.closing
        m = unit == 2
        if m.any():
            last = k[m] + amount[m]
            off = ~self.working[last]
            moved = self.worked[np.minimum(self.worked_days_before[last + 1], len(self.worked) - 1)]
            out[m] = self._start_of(np.where(off, moved, last) + 1)
        return out

    def yellow(self, t, due, unit, share: float):
        np = self.np
        t, due, unit = np.asarray(t, np.int64), np.asarray(due, np.int64), np.asarray(unit)
        out = t + np.ceil((due - t) * share).astype(np.int64)
        m = unit >= 3
        if m.any():
            origin = self.clock(t[m])
            total = self.clock(due[m]) - origin
            target = origin + np.ceil(total * share * 1_000_000) / 1_000_000
            out[m] = np.ceil(self.at_clock(target)).astype(np.int64)
        return out

    def next_working_moment(self, t):
        """``next_working_moment`` on arrays."""
        np = self.np
        t = np.asarray(t, np.int64)
        c = self.clock(t)
        # The instant the clock next moves on from c: if t is inside a period that is t itself.
        nxt = self.at_clock(c + 1).astype(np.int64) - 1
        return np.where(nxt > t, nxt, t)
