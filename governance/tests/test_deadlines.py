"""Tests for the pure deadline engine; no Django settings or database needed."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from governance.deadlines import (
    DEFAULT_WORKING_PERIODS,
    Deadline,
    LimitUnit,
    TimeLimit,
    WorkingCalendar,
    compute_deadline,
    elapsed_share,
    extend_deadline,
    share_reached_at,
    shift_for_pause,
    working_time_between,
)

TZ = ZoneInfo("Asia/Shanghai")

# TEST DATA, not official dates: a synthetic 2026 National Day week (Thu 1 – Wed 7 October off)
# with two synthetic make-up working days, Sunday 27 September and Saturday 10 October.
NATIONAL_DAY = frozenset(date(2026, 10, day) for day in range(1, 8))
MAKEUP = frozenset({date(2026, 9, 27), date(2026, 10, 10)})
CAL = WorkingCalendar(holidays=NATIONAL_DAY, makeup_workdays=MAKEUP)
PLAIN = WorkingCalendar()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


def due(start: datetime, amount: int, unit: LimitUnit, calendar: WorkingCalendar = CAL, **kwargs) -> datetime:
    return compute_deadline(start, TimeLimit(amount, unit), calendar, **kwargs).due


# --- limits and calendar ---


def test_unit_values_are_the_stored_strings():
    assert [unit.value for unit in LimitUnit] == ["minutes", "hours", "days", "working_hours", "working_days"]


def test_time_limit_accepts_stored_string_and_reads_in_english():
    limit = TimeLimit(4, "working_hours")
    assert limit.unit is LimitUnit.WORKING_HOURS
    assert str(limit) == "4 working hours"
    assert str(TimeLimit(1, LimitUnit.DAYS)) == "1 day"


@pytest.mark.parametrize("amount", [0, -1])
def test_non_positive_amount_is_refused(amount):
    with pytest.raises(ValueError):
        TimeLimit(amount, LimitUnit.DAYS)


def test_makeup_day_overrides_weekend_and_holiday_overrides_weekday():
    assert CAL.is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert not CAL.is_working_day(date(2026, 10, 17))  # ordinary Saturday
    assert not CAL.is_working_day(date(2026, 10, 5))  # holiday Monday
    assert CAL.is_working_day(date(2026, 10, 8))


def test_a_day_both_holiday_and_makeup_is_a_data_error():
    with pytest.raises(ValueError):
        WorkingCalendar(holidays={date(2026, 10, 10)}, makeup_workdays={date(2026, 10, 10)})


def test_overlapping_periods_are_refused():
    with pytest.raises(ValueError):
        WorkingCalendar(periods=((time(8), time(12)), (time(11), time(17))))


# --- working hours ---


def test_working_hours_cross_lunch():
    assert due(at(2026, 6, 9, 10), 4, LimitUnit.WORKING_HOURS) == at(2026, 6, 9, 16)


def test_working_hours_cross_a_night():
    assert due(at(2026, 6, 9, 16), 4, LimitUnit.WORKING_HOURS) == at(2026, 6, 10, 11)


def test_working_hours_starting_on_saturday_begin_on_monday_morning():
    assert due(at(2026, 6, 13, 10), 2, LimitUnit.WORKING_HOURS) == at(2026, 6, 15, 10, 30)


def test_working_hours_starting_at_lunch_begin_at_the_afternoon_period():
    assert due(at(2026, 6, 9, 12, 30), 1, LimitUnit.WORKING_HOURS) == at(2026, 6, 9, 15)


def test_working_hours_cross_national_day_holiday():
    # 1.5 h on Wed 30 Sep, then 1–7 Oct off, 2.5 h on Thu 8 Oct.
    assert due(at(2026, 9, 30, 16), 4, LimitUnit.WORKING_HOURS) == at(2026, 10, 8, 11)


def test_makeup_saturday_counts_as_working_day():
    assert due(at(2026, 10, 9, 16), 4, LimitUnit.WORKING_HOURS) == at(2026, 10, 10, 11)
    assert due(at(2026, 10, 9, 16), 4, LimitUnit.WORKING_HOURS, PLAIN) == at(2026, 10, 12, 11)


def test_deadline_landing_on_period_end_stays_there():
    assert due(at(2026, 6, 9, 8, 30), 7, LimitUnit.WORKING_HOURS) == at(2026, 6, 9, 17, 30)
    assert due(at(2026, 6, 9, 17, 30), 7, LimitUnit.WORKING_HOURS) == at(2026, 6, 10, 17, 30)
    morning = WorkingCalendar(periods=((time(8, 30), time(11, 30)), (time(14), time(17, 30))))
    assert due(at(2026, 6, 9, 8, 30), 3, LimitUnit.WORKING_HOURS, morning) == at(2026, 6, 9, 11, 30)


def test_working_hours_rule_explains_the_count():
    deadline = compute_deadline(at(2026, 10, 9, 16), TimeLimit(4, LimitUnit.WORKING_HOURS), CAL)
    assert isinstance(deadline, Deadline)
    assert deadline.rule == "4 working hours from 2026-10-09 16:00, counting 08:30–12:00, 14:00–17:30 on working days"


def test_result_is_in_calendar_tz_whatever_the_input_tz():
    start = datetime(2026, 6, 9, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    result = due(start, 4, LimitUnit.WORKING_HOURS)
    assert result == at(2026, 6, 9, 16)
    assert result.tzinfo is TZ


# --- working days ---


def test_working_days_do_not_count_the_start_day():
    assert due(at(2026, 6, 9, 10), 5, LimitUnit.WORKING_DAYS) == at(2026, 6, 16, 17, 30)


def test_working_days_skip_holiday_and_count_makeup_day():
    # 30 Sep, 8 Oct, 9 Oct, Sat 10 Oct (make-up), Mon 12 Oct.
    assert due(at(2026, 9, 29, 9), 5, LimitUnit.WORKING_DAYS) == at(2026, 10, 12, 17, 30)


def test_working_days_from_a_saturday():
    assert due(at(2026, 6, 13, 10), 1, LimitUnit.WORKING_DAYS) == at(2026, 6, 15, 17, 30)


# --- calendar days (期间) ---


def test_calendar_days_end_at_midnight_after_the_last_day():
    # Mediation, 30 days: the last day is Thu 9 July; the period ends at its 24:00.
    assert due(at(2026, 6, 9, 10), 30, LimitUnit.DAYS) == at(2026, 7, 10)


def test_calendar_days_postponed_past_holiday():
    # 15 days from Sun 20 Sep ends on Mon 5 Oct, a holiday: moved to Thu 8 Oct.
    deadline = compute_deadline(at(2026, 9, 20, 10), TimeLimit(15, LimitUnit.DAYS), CAL)
    assert deadline.due == at(2026, 10, 9)
    assert "2026-10-05 is not a working day" in deadline.rule


def test_calendar_days_without_extension():
    assert due(at(2026, 9, 20, 10), 15, LimitUnit.DAYS, extend_to_working_day=False) == at(2026, 10, 6)


def test_calendar_days_ending_on_makeup_sunday_are_not_postponed():
    assert due(at(2026, 9, 12, 10), 15, LimitUnit.DAYS) == at(2026, 9, 28)


def test_calendar_days_ending_on_saturday_move_to_monday():
    assert due(at(2026, 10, 9, 10), 15, LimitUnit.DAYS) == at(2026, 10, 27)


def test_petition_60_days_plus_30_day_extension():
    first = compute_deadline(at(2026, 6, 1, 10), TimeLimit(60, LimitUnit.DAYS), CAL)
    assert first.due == at(2026, 8, 1)  # last day Fri 31 July
    extended = extend_deadline(first, TimeLimit(30, LimitUnit.DAYS), CAL)
    # 30 days after 31 July is Sun 30 August, moved to Mon 31 August.
    assert extended.due == at(2026, 9, 1)


def test_extension_in_working_days_counts_from_the_last_day():
    first = compute_deadline(at(2026, 6, 1, 10), TimeLimit(60, LimitUnit.DAYS), CAL)
    assert extend_deadline(first, TimeLimit(1, LimitUnit.WORKING_DAYS), CAL).due == at(2026, 8, 3, 17, 30)


# --- calendar time ---


def test_urgent_minutes_ignore_the_calendar():
    assert due(at(2026, 10, 3, 23, 55), 10, LimitUnit.MINUTES) == at(2026, 10, 4, 0, 5)


def test_hours_ignore_the_calendar():
    assert due(at(2026, 10, 3, 23), 2, LimitUnit.HOURS) == at(2026, 10, 4, 1)


def test_calendar_time_is_true_elapsed_time_even_across_dst():
    berlin = WorkingCalendar(tz=ZoneInfo("Europe/Berlin"))
    start = datetime(2026, 3, 29, 1, 0, tzinfo=berlin.tz)  # clocks jump 02:00 -> 03:00
    result = compute_deadline(start, TimeLimit(2, LimitUnit.HOURS), berlin).due
    assert result.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=2)
    assert (result.hour, result.minute) == (4, 0)


def test_shanghai_has_no_dst_which_working_time_assumes():
    # Working periods are wall-clock arithmetic; this is exact only in a zone without DST.
    offsets = {at(2026, month, 1).utcoffset() for month in range(1, 13)}
    assert offsets == {timedelta(hours=8)}


# --- naive datetimes ---


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 6, 9, 10)
    with pytest.raises(ValueError):
        compute_deadline(naive, TimeLimit(4, LimitUnit.WORKING_HOURS), CAL)
    with pytest.raises(ValueError):
        working_time_between(naive, at(2026, 6, 10), CAL)
    with pytest.raises(ValueError):
        elapsed_share(at(2026, 6, 9), naive, at(2026, 6, 10), LimitUnit.DAYS, CAL)


# --- elapsed share ---

WH_START = at(2026, 6, 9, 16)
WH_DUE = at(2026, 6, 10, 11)  # 4 working hours later


@pytest.mark.parametrize(
    ("now", "share"),
    [
        (WH_START, 0.0),
        (at(2026, 6, 9, 12), 0.0),  # before the start
        (at(2026, 6, 10, 9), 0.5),  # 1.5 h + 0.5 h
        (at(2026, 6, 10, 10, 12), 0.8),  # 1.5 h + 1.7 h
        (WH_DUE, 1.0),
        (at(2026, 6, 10, 12), 1.25),  # overdue: 1.5 + 3.5 h
        (at(2026, 6, 10, 15), 1.5),  # 1.5 + 3.5 + 1 h
    ],
)
def test_elapsed_share_in_working_hours(now, share):
    assert elapsed_share(WH_START, now, WH_DUE, LimitUnit.WORKING_HOURS, CAL) == pytest.approx(share)


def test_elapsed_share_pauses_at_night():
    night = at(2026, 6, 9, 23)
    assert elapsed_share(WH_START, night, WH_DUE, LimitUnit.WORKING_HOURS, CAL) == pytest.approx(0.375)


def test_overdue_over_a_weekend_is_told_by_is_overdue_not_by_share():
    deadline = compute_deadline(at(2026, 6, 12, 8, 30), TimeLimit(7, LimitUnit.WORKING_HOURS), CAL)
    saturday = at(2026, 6, 13, 10)
    assert elapsed_share(at(2026, 6, 12, 8, 30), saturday, deadline.due, LimitUnit.WORKING_HOURS, CAL) == 1.0
    assert deadline.is_overdue(saturday)
    assert not deadline.is_overdue(deadline.due)


def test_elapsed_share_in_calendar_days_and_minutes():
    start = at(2026, 6, 9, 10)
    end = due(start, 30, LimitUnit.DAYS)
    assert elapsed_share(start, start + (end - start) / 2, end, LimitUnit.DAYS, CAL) == pytest.approx(0.5)
    urgent_end = due(start, 10, LimitUnit.MINUTES)
    assert elapsed_share(start, start + timedelta(minutes=8), urgent_end, LimitUnit.MINUTES, CAL) == pytest.approx(0.8)
    assert elapsed_share(start, start + timedelta(minutes=15), urgent_end, "minutes", CAL) == pytest.approx(1.5)


# --- cross-check against a slow day-by-day reference ---


def brute_working_time(start: datetime, end: datetime, calendar: WorkingCalendar) -> timedelta:
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if calendar.is_working_day(day):
            for opens, closes in calendar.periods:
                lo = max(start, datetime.combine(day, opens, tzinfo=TZ))
                hi = min(end, datetime.combine(day, closes, tzinfo=TZ))
                total += max(hi - lo, timedelta())
        day += timedelta(days=1)
    return total


def test_working_time_matches_day_by_day_reference():
    rng = random.Random(20261001)
    base = at(2026, 8, 1)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 120 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(0, 40 * 24 * 60))
        assert working_time_between(start, end, CAL) == brute_working_time(start, end, CAL)


def test_working_hours_deadline_is_exact_and_earliest():
    rng = random.Random(7)
    base = at(2026, 8, 1)
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 120 * 24 * 60))
        hours = rng.randrange(1, 140)
        result = due(start, hours, LimitUnit.WORKING_HOURS)
        assert working_time_between(start, result, CAL) == timedelta(hours=hours)
        # Earliest such instant: one minute earlier is short of the limit.
        assert working_time_between(start, result - timedelta(minutes=1), CAL) < timedelta(hours=hours)


def test_long_spans_are_counted_exactly():
    start, end = at(2001, 3, 4, 9), at(2049, 11, 5, 15)
    assert working_time_between(start, end, CAL) == brute_working_time(start, end, CAL)
    assert DEFAULT_WORKING_PERIODS == CAL.periods


# --- the instant a share is reached (the stored yellow-warning time) ---


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (0.5, at(2026, 6, 10, 9)),  # 1.5 h on the 9th, 0.5 h the next morning
        (0.8, at(2026, 6, 10, 10, 12)),
        (1.0, WH_DUE),
    ],
)
def test_share_reached_at_in_working_hours(share, expected):
    reached = share_reached_at(WH_START, WH_DUE, LimitUnit.WORKING_HOURS, share, CAL)
    assert reached == expected
    assert elapsed_share(WH_START, reached, WH_DUE, LimitUnit.WORKING_HOURS, CAL) == pytest.approx(share)


def test_share_reached_at_a_period_end_stays_there_not_after_lunch():
    start = at(2026, 6, 9, 8, 30)
    end = due(start, 7, LimitUnit.WORKING_HOURS)  # 17:30 the same day
    assert share_reached_at(start, end, LimitUnit.WORKING_HOURS, 0.5, CAL) == at(2026, 6, 9, 12)


def test_share_reached_at_skips_the_holiday_week():
    start = at(2026, 9, 30, 16)  # Wednesday before the synthetic National Day week
    end = due(start, 4, LimitUnit.WORKING_HOURS)
    assert end == at(2026, 10, 8, 11)
    assert share_reached_at(start, end, LimitUnit.WORKING_HOURS, 0.5, CAL) == at(2026, 10, 8, 9)


def test_share_reached_at_in_calendar_time_is_a_plain_fraction():
    start = at(2026, 6, 9, 10)
    assert share_reached_at(start, start + timedelta(minutes=10), LimitUnit.MINUTES, 0.8, CAL) == start + timedelta(
        minutes=8)
    end = due(start, 30, LimitUnit.DAYS)
    assert share_reached_at(start, end, LimitUnit.DAYS, 0.5, CAL) == start + (end - start) / 2


@pytest.mark.parametrize("share", [0, -0.1, 1.01])
def test_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(ValueError):
        share_reached_at(WH_START, WH_DUE, LimitUnit.WORKING_HOURS, share, CAL)


def test_share_reached_at_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        share_reached_at(datetime(2026, 6, 9, 16), WH_DUE, LimitUnit.WORKING_HOURS, 0.8, CAL)


def test_share_reached_at_is_the_earliest_instant_with_that_share():
    rng = random.Random(80)
    base = at(2026, 8, 1)
    for _ in range(200):
        start = base + timedelta(minutes=rng.randrange(0, 120 * 24 * 60))
        end = due(start, rng.randrange(1, 60), LimitUnit.WORKING_HOURS)
        share = rng.choice([0.5, 0.75, 0.8, 0.9])
        reached = share_reached_at(start, end, LimitUnit.WORKING_HOURS, share, CAL)
        assert start <= reached <= end
        assert elapsed_share(start, reached, end, LimitUnit.WORKING_HOURS, CAL) >= share
        assert elapsed_share(start, reached - timedelta(minutes=1), end, LimitUnit.WORKING_HOURS, CAL) < share


# --- moving a deadline for the time a clock stood paused (suspension) ---


def test_a_calendar_deadline_moves_by_the_elapsed_pause():
    moment = at(2026, 6, 10, 12)
    assert shift_for_pause(moment, at(2026, 6, 9, 10), at(2026, 6, 9, 22), LimitUnit.HOURS, CAL) == at(2026, 6, 11)


def test_a_working_time_deadline_moves_by_the_working_time_paused():
    # Paused Tuesday 16:00 – Wednesday 09:30: 1.5 h + 1 h of working time.
    moment = WH_DUE  # Wednesday 11:00
    shifted = shift_for_pause(moment, at(2026, 6, 9, 16), at(2026, 6, 10, 9, 30), LimitUnit.WORKING_HOURS, CAL)
    assert shifted == at(2026, 6, 10, 15, 30)  # 11:00 + 1 h to lunch, then 1.5 h from 14:00


def test_a_pause_over_a_weekend_or_a_holiday_moves_nothing():
    moment = at(2026, 6, 15, 11)
    weekend = shift_for_pause(moment, at(2026, 6, 13, 9), at(2026, 6, 14, 18), LimitUnit.WORKING_DAYS, CAL)
    assert weekend == moment
    holiday = shift_for_pause(at(2026, 10, 9, 10), at(2026, 10, 2), at(2026, 10, 6), LimitUnit.WORKING_HOURS, CAL)
    assert holiday == at(2026, 10, 9, 10)


def test_a_shifted_deadline_keeps_the_working_time_left():
    rng = random.Random(2026)
    base = at(2026, 8, 1)
    for _ in range(200):
        start = base + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        moment = due(start, rng.randrange(1, 80), LimitUnit.WORKING_HOURS)
        paused_from = start + (moment - start) * rng.random()
        paused_to = paused_from + timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        shifted = shift_for_pause(moment, paused_from, paused_to, LimitUnit.WORKING_HOURS, CAL)
        assert working_time_between(start, shifted, CAL) == (
            working_time_between(start, moment, CAL) + working_time_between(paused_from, paused_to, CAL))


def test_shift_for_pause_refuses_a_naive_moment():
    with pytest.raises(ValueError):
        shift_for_pause(datetime(2026, 6, 10, 11), at(2026, 6, 9, 16), at(2026, 6, 10), LimitUnit.WORKING_HOURS, CAL)
