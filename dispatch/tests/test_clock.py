"""Step clocks on the working calendar (office hours 08:30–12:00 and 14:00–17:30, Monday to Friday):
the deadline after each transition, urgent classes on calendar time, holidays and make-up days,
the yellow warning share, extensions, suspensions, escalation and summons.

``timezone.now`` is patched (``flow.frozen``) so each step happens at a chosen instant. The instants
lie in a week after today, because the personas' roles start today."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.core.cache import cache

from dispatch import clock, services
from dispatch.models import Alert, Event, State
from dispatch.tests.flow import at, frozen, monday, photo, report
from governance import calendar
from governance.models import CalendarDay, CalendarDayKind, Parameter

S = State
MON = monday()
TUE, WED, FRI, SAT = (MON + datetime.timedelta(days=n) for n in (1, 2, 4, 5))
NEXT_MON = MON + datetime.timedelta(days=7)


@pytest.fixture(autouse=True)
def fresh_calendar():
    """The calendar is cached per process with a version stamp in the cache; start and end clean so
    holidays made here do not leak into other tests (their rows are rolled back, the stamp is not)."""
    cache.clear()
    calendar._cached = None
    yield
    cache.clear()
    calendar._cached = None



def assert_clock(event, *, step, started, due, yellow=None, rule=None, unit=None):
    assert event.step == step
    assert event.step_started_at == started
    assert event.step_due_at == due
    if yellow is not None:
        assert event.step_yellow_at == yellow
    if rule is not None:
        assert event.step_rule == rule
    if unit is not None:
        assert event.step_limit_unit == unit
    stored = Event.objects.get(pk=event.pk)  # what the sweep will read
    assert (stored.step, stored.step_due_at, stored.step_yellow_at) == (event.step, event.step_due_at,
                                                                        event.step_yellow_at)


def signed_at(loop, when, **report_fields):
    """A case reported, routed and signed for at ``when`` (its handling clock starts then)."""
    with frozen(when):
        event = report(loop, **report_fields)
        for name in ("accept", "register", "dispatch"):
            event = getattr(services, f"event_{name}")(event=event, actor=loop.operator)
        return services.event_sign(event=event, actor=loop.handler)


@pytest.mark.django_db
def test_the_step_clock_after_each_transition(loop):
    with frozen(at(MON, 9)) as now:
        event = report(loop)
        assert_clock(event, step="accept", started=at(MON, 9), due=at(MON, 10), yellow=at(MON, 9, 48),
                     rule="dispatch.limit.accept", unit="working_hours")
        assert event.alert == Alert.NONE

        now.now = at(MON, 9, 30)
        event = services.event_accept(event=event, actor=loop.operator)
        assert_clock(event, step="register", started=at(MON, 9, 30), due=at(MON, 10, 30),
                     rule="dispatch.limit.register")

        now.now = at(MON, 10)
        event = services.event_register(event=event, actor=loop.operator)
        assert_clock(event, step="dispatch", started=at(MON, 10), due=at(MON, 11), rule="dispatch.limit.dispatch")

        now.now = at(MON, 10, 30)
        event = services.event_dispatch(event=event, actor=loop.operator)
        assert_clock(event, step="sign", started=at(MON, 10, 30), due=at(MON, 11, 30), rule="dispatch.limit.sign")
        assert event.assignments.get().sign_due_at == at(MON, 11, 30)

        # Handling: the class's own limit, 4 working hours: 11:00–12:00, then 14:00–17:00.
        now.now = at(MON, 11)
        event = services.event_sign(event=event, actor=loop.handler)
        assert_clock(event, step="handle", started=at(MON, 11), due=at(MON, 17), yellow=at(MON, 16, 12),
                     rule="0102 暴露垃圾", unit="working_hours")
        assert event.handling_due_at == at(MON, 17)
        assert event.step_limit_amount == 4

        now.now = at(MON, 11, 30)
        event = services.event_start(event=event, actor=loop.handler)
        assert_clock(event, step="handle", started=at(MON, 11), due=at(MON, 17))  # the same step runs on

        now.now = at(MON, 15)
        event = services.event_handle(event=event, actor=loop.handler, note="已清理", photos=[photo()])
        assert_clock(event, step="verify", started=at(MON, 15), due=at(MON, 16), rule="dispatch.limit.verify")
        assert event.handled_at == at(MON, 15)

        now.now = at(MON, 15, 30)
        event = services.event_verify(event=event, actor=loop.worker, passed=True)
        assert_clock(event, step="callback", started=at(MON, 15, 30), due=at(WED, 17, 30),
                     rule="dispatch.limit.callback", unit="working_days")
        assert event.closed_at == at(MON, 15, 30)

        now.now = at(MON, 16)
        event = services.event_callback(event=event, actor=loop.operator, contacted=True, solved=True,
                                        satisfaction="satisfied")
        assert_clock(event, step="", started=None, due=None, yellow=None, rule="")


@pytest.mark.django_db
def test_rejecting_stops_the_clock(loop):
    with frozen(at(MON, 9)):
        event = services.event_reject(event=report(loop), actor=loop.operator, note="虚假")
    assert_clock(event, step="", started=None, due=None)
    assert event.closed_at == at(MON, 9)


@pytest.mark.django_db
def test_an_urgent_class_runs_on_calendar_time_even_at_night(loop):
    with frozen(at(MON, 22)) as now:
        event = report(loop, minor=loop.manhole)
        assert event.urgency == "urgent"
        assert_clock(event, step="accept", started=at(MON, 22), due=at(MON, 22, 10),
                     rule="dispatch.limit_urgent.accept", unit="minutes")
        for name, minute in (("accept", 5), ("register", 10), ("dispatch", 15)):
            now.now = at(MON, 22, minute)
            event = getattr(services, f"event_{name}")(event=event, actor=loop.operator)
        assert_clock(event, step="sign", started=at(MON, 22, 15), due=at(MON, 22, 45),
                     rule="dispatch.limit_urgent.sign")
        now.now = at(MON, 22, 40)
        event = services.event_sign(event=event, actor=loop.handler)
    # 2 hours from signing, straight through the night; yellow at 80 % = 96 minutes.
    assert_clock(event, step="handle", started=at(MON, 22, 40), due=at(TUE, 0, 40), yellow=at(TUE, 0, 16),
                 rule="0109 井盖缺失", unit="hours")


@pytest.mark.django_db
def test_an_urgent_class_signed_on_a_saturday_night(loop):
    event = signed_at(loop, at(SAT, 3), minor=loop.manhole)
    assert event.step_due_at == at(SAT, 5)


@pytest.mark.django_db
@pytest.mark.parametrize("signed,due", [
    (at(MON, 16, 30), at(TUE, 11, 30)),  # 1 hour today, 3 tomorrow morning
    (at(FRI, 16, 30), at(NEXT_MON, 11, 30)),  # the weekend does not count
    (at(SAT, 10), at(NEXT_MON, 14, 30)),  # starts on Monday morning: 3.5 h, then 0.5 h after lunch
    (at(MON, 12, 30), at(TUE, 9)),  # the lunch break does not count: 14:00–17:30, then 08:30–09:00
    (at(MON, 7), at(MON, 14, 30)),  # nor the early morning
])
def test_working_hours_pause_outside_working_time(loop, signed, due):
    event = signed_at(loop, signed)
    assert event.step_due_at == due and event.step == "handle"


@pytest.mark.django_db
def test_holidays_are_not_working_days(loop):
    CalendarDay.objects.create(date=TUE, kind=CalendarDayKind.HOLIDAY, name="节日")
    assert signed_at(loop, at(MON, 16, 30)).step_due_at == at(WED, 11, 30)


@pytest.mark.django_db
def test_make_up_working_days_count(loop):
    CalendarDay.objects.create(date=SAT, kind=CalendarDayKind.WORKDAY, name="调休上班")
    assert signed_at(loop, at(FRI, 16, 30)).step_due_at == at(SAT, 11, 30)


@pytest.mark.django_db
def test_working_days_end_at_the_close_of_the_last_day(loop):
    loop.rubbish.limit_amount, loop.rubbish.limit_unit = 2, "working_days"
    loop.rubbish.save()
    CalendarDay.objects.create(date=TUE, kind=CalendarDayKind.HOLIDAY)
    event = signed_at(loop, at(MON, 10))
    # The start day is not counted; Tuesday is a holiday: Wednesday and Thursday.
    assert event.step_due_at == at(MON + datetime.timedelta(days=3), 17, 30)


@pytest.mark.django_db
@pytest.mark.parametrize("value,yellow", [
    (None, at(MON, 11, 42)),  # default 80 % of 08:30→14:30 (4 working hours) = 3.2 h
    (0.5, at(MON, 10, 30)),
    (50, at(MON, 10, 30)),  # entered as a percentage
    ("lots", at(MON, 11, 42)),  # not a number: the default, not a crash
    (150, at(MON, 11, 42)),  # no share: the default
    (0, at(MON, 11, 42)),
])
def test_the_yellow_warning_comes_at_the_configured_share(loop, value, yellow):
    if value is not None:
        Parameter.objects.create(key="dispatch.yellow_share", value=value)
    event = signed_at(loop, at(MON, 8, 30))
    assert (event.step_due_at, event.step_yellow_at) == (at(MON, 14, 30), yellow)


@pytest.mark.django_db
def test_step_limits_are_parameters(loop):
    Parameter.objects.create(key="dispatch.limit.accept", value=[30, "minutes"])
    Parameter.objects.create(key="dispatch.limit.register", value="two hours")  # mistyped: the default applies
    with frozen(at(MON, 9)) as now:
        event = report(loop)
        assert_clock(event, step="accept", started=at(MON, 9), due=at(MON, 9, 30), unit="minutes")
        now.now = at(MON, 9, 10)
        event = services.event_accept(event=event, actor=loop.operator)
    assert_clock(event, step="register", started=at(MON, 9, 10), due=at(MON, 10, 10), unit="working_hours")


@pytest.mark.django_db
def test_an_approved_extension_moves_the_due_time_and_clears_the_warning(loop):
    event = signed_at(loop, at(MON, 9))
    assert event.step_due_at == at(MON, 15)
    with frozen(at(MON, 10)) as now:
        event = services.event_start(event=event, actor=loop.handler)
        event = services.event_request_extension(event=event, actor=loop.handler, amount=2, unit="working_hours",
                                                 note="需要调用车辆")
        assert event.step_due_at == at(MON, 15)  # nothing moves until the centre approves
        Event.objects.filter(pk=event.pk).update(alert=Alert.RED, escalated_at=at(MON, 10))
        now.now = at(MON, 10, 30)
        event = services.event_approve_extension(event=event, actor=loop.operator)
    assert event.state == S.IN_PROGRESS
    # 15:00 + 2 working hours; yellow at 80 % of the whole 09:00→17:00 (6 working hours) = 4.8 h.
    assert_clock(event, step="handle", started=at(MON, 9), due=at(MON, 17), yellow=at(MON, 15, 48),
                 rule="0102 暴露垃圾, extended by 2 working hours")
    assert event.handling_due_at == at(MON, 17)
    stored = Event.objects.get(pk=event.pk)
    assert (stored.alert, stored.escalated_at, stored.handling_due_at) == (Alert.NONE, None, at(MON, 17))
    assert event.history.last().data["new_due"] == at(MON, 17).isoformat()


@pytest.mark.django_db
def test_an_extension_in_working_days_ends_at_the_close_of_a_working_day(loop):
    event = signed_at(loop, at(FRI, 9))
    assert event.step_due_at == at(FRI, 15)
    with frozen(at(FRI, 10)):
        event = services.event_request_extension(event=event, actor=loop.handler, amount=1, unit="working_days",
                                                 note="需要时间")
        event = services.event_approve_extension(event=event, actor=loop.operator)
    assert event.step_due_at == at(NEXT_MON, 17, 30)


@pytest.mark.django_db
def test_a_refused_extension_keeps_the_due_time(loop):
    event = signed_at(loop, at(MON, 9))
    with frozen(at(MON, 10)):
        event = services.event_request_extension(event=event, actor=loop.handler, amount=2, unit="working_hours",
                                                 note="需要调用车辆")
        event = services.event_refuse_extension(event=event, actor=loop.operator, note="时限内可完成")
    assert event.state == S.IN_PROGRESS and event.step_due_at == at(MON, 15)


@pytest.mark.django_db
def test_suspend_and_resume_shift_the_due_time_by_the_working_time_paused(loop):
    event = signed_at(loop, at(MON, 9))  # due 15:00, yellow 80 % of 4 h → 14:12
    assert (event.step_due_at, event.step_yellow_at) == (at(MON, 15), at(MON, 14, 12))
    with frozen(at(MON, 14)) as now:
        event = services.event_suspend(event=event, actor=loop.handler, note="等待法院裁定")
        assert (event.state, event.paused_at, event.step_due_at) == (S.SUSPENDED, at(MON, 14), at(MON, 15))
        Event.objects.filter(pk=event.pk).update(alert=Alert.RED)  # a sweep ran meanwhile
        now.now = at(TUE, 9)
        event = services.event_resume(event=event, actor=loop.operator)
    # Paused 14:00–17:30 and 08:30–09:00: 4 working hours, so 15:00 Mon → 10:00 Tue.
    assert event.state == S.IN_PROGRESS and event.paused_at is None
    assert_clock(event, step="handle", started=at(MON, 9), due=at(TUE, 10), yellow=at(TUE, 9, 12))
    stored = Event.objects.get(pk=event.pk)
    assert (stored.handling_due_at, stored.alert, stored.paused_at) == (at(TUE, 10), Alert.NONE, None)


@pytest.mark.django_db
def test_a_weekend_pause_moves_a_working_time_clock_by_nothing(loop):
    event = signed_at(loop, at(FRI, 9))
    with frozen(at(FRI, 17, 30)) as now:
        event = services.event_suspend(event=event, actor=loop.handler, note="周末停工")
        now.now = at(NEXT_MON, 8, 30)
        event = services.event_resume(event=event, actor=loop.handler)
    assert event.step_due_at == at(FRI, 15)


@pytest.mark.django_db
def test_suspending_a_calendar_time_clock_moves_it_by_the_elapsed_time(loop):
    event = signed_at(loop, at(MON, 22), minor=loop.manhole)  # due 00:00
    with frozen(at(MON, 22, 30)) as now:
        event = services.event_suspend(event=event, actor=loop.handler, note="等待供电部门断电")
        now.now = at(TUE, 1, 30)
        event = services.event_resume(event=event, actor=loop.handler)
    assert event.step_due_at == at(TUE, 3)


@pytest.mark.django_db
def test_a_case_still_overdue_after_resuming_stays_red(loop):
    event = signed_at(loop, at(MON, 9))
    with frozen(at(MON, 16)) as now:
        event = services.event_suspend(event=event, actor=loop.handler, note="等待")
        Event.objects.filter(pk=event.pk).update(alert=Alert.RED)
        now.now = at(MON, 17)
        event = services.event_resume(event=event, actor=loop.handler)
    assert event.step_due_at == at(MON, 16) and Event.objects.get(pk=event.pk).alert == Alert.RED


@pytest.mark.django_db
def test_escalate_and_delegate_restart_the_acceptance_clock(loop):
    with frozen(at(MON, 9)) as now:
        event = report(loop)
        Event.objects.filter(pk=event.pk).update(alert=Alert.YELLOW)
        now.now = at(MON, 9, 40)
        event = services.event_escalate(event=event, actor=loop.operator, note="需区级协调")
        assert_clock(event, step="accept", started=at(MON, 9, 40), due=at(MON, 10, 40))
        assert event.alert == Alert.NONE
        now.now = at(MON, 10)
        event = services.event_delegate(event=event, actor=loop.dispatcher, to_unit=loop.tree.street_a)
    assert_clock(event, step="accept", started=at(MON, 10), due=at(MON, 11))


@pytest.mark.django_db
def test_summoned_departments_must_sign_within_the_signing_limit(loop):
    event = signed_at(loop, at(MON, 9))
    with frozen(at(MON, 17)):
        event = services.event_summon(event=event, actor=loop.operator, departments=[loop.tree.office_b],
                                      note="联合整治")
    summoned = event.assignments.get(role="summoned")
    assert (summoned.assigned_at, summoned.sign_due_at) == (at(MON, 17), at(TUE, 9))
    assert event.step_due_at == at(MON, 15)  # the case's own clock is untouched


@pytest.mark.django_db
def test_summons_on_an_urgent_case_run_on_calendar_time(loop):
    event = signed_at(loop, at(MON, 22), minor=loop.manhole)
    with frozen(at(MON, 23)):
        event = services.event_summon(event=event, actor=loop.operator, departments=[loop.tree.office_b],
                                      note="紧急到场")
    assert event.assignments.get(role="summoned").sign_due_at == at(MON, 23, 30)


@pytest.mark.django_db
def test_rework_starts_a_new_handling_clock(loop):
    event = signed_at(loop, at(MON, 9))
    with frozen(at(MON, 10)) as now:
        event = services.event_handle(event=event, actor=loop.handler, note="已清理")
        now.now = at(MON, 10, 30)
        event = services.event_verify(event=event, actor=loop.worker, passed=False, note="还有残留")
    assert_clock(event, step="handle", started=at(MON, 10, 30), due=at(MON, 16, 30), rule="0102 暴露垃圾")


@pytest.mark.django_db
def test_a_case_flagged_urgent_at_intake_stays_urgent_when_registered(loop):
    with frozen(at(MON, 22)) as now:
        event = report(loop, urgency="urgent")
        assert event.step_limit_unit == "minutes"
        now.now = at(MON, 22, 5)
        event = services.event_accept(event=event, actor=loop.operator)
        event = services.event_register(event=event, actor=loop.operator)
    assert event.urgency == "urgent"
    assert_clock(event, step="dispatch", started=at(MON, 22, 5), due=at(MON, 22, 15))


def test_limit_label_and_step_labels():
    from governance.deadlines import TimeLimit

    assert clock.limit_label(TimeLimit(4, "working_hours")) == "4 working hours"
    assert set(clock.STEP_LABELS) == set(clock.STEP_OF_STATE.values())


def test_the_step_of_a_case():
    event = SimpleNamespace(state=S.CLOSED, self_handled=True)
    assert clock.step_of(event) == ""
    event.self_handled = False
    assert clock.step_of(event) == "callback"
    event.state = S.BACKLOG
    assert clock.step_of(event) == ""
