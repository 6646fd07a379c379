"""The deadline sweep: yellow, red, escalation once, who is told, what it leaves alone, and its lock."""

import datetime

import pytest
from django.core.cache import cache

from dispatch import services
from dispatch.models import Alert, Channel, Event, State, SupervisionOrder, Transition
from dispatch.sweep import LOCK_KEY, SweepResult, sweep
from governance.models import AuditEntry, Notification
from governance.roles import Role

pytestmark = pytest.mark.django_db

SECOND = datetime.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _no_lock_left():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def report(loop, **kw):
    event, _ = services.event_report(channel=Channel.GRID, title="垃圾堆", minor=loop.rubbish, lon=loop.inside[0],
                                     lat=loop.inside[1], reporter=loop.worker, **kw)
    return event


def dispatched(loop):
    event = report(loop)
    event = services.event_accept(event=event, actor=loop.operator)
    event = services.event_register(event=event, actor=loop.operator)
    return services.event_dispatch(event=event, actor=loop.operator)


def told(user, kind):
    return Notification.objects.filter(recipient=user, kind=kind).count()


def fresh(event):
    return Event.objects.get(pk=event.pk)


def test_it_marks_yellow_when_the_share_is_used_and_not_before(loop):
    event = report(loop)
    assert event.step == "accept" and event.step_yellow_at < event.step_due_at

    assert sweep(now=event.step_yellow_at - SECOND) == SweepResult()
    assert fresh(event).alert == Alert.NONE

    result = sweep(now=event.step_yellow_at)
    assert (result.yellow, result.red, result.escalated) == (1, 0, 0)
    assert fresh(event).alert == Alert.YELLOW
    row = Transition.objects.get(event=event, action="warned_yellow")
    assert row.from_state == row.to_state == State.REPORTED
    assert row.actor is None and row.actor_label
    assert row.data["step"] == "accept"
    assert datetime.datetime.fromisoformat(row.data["due"]) == event.step_due_at
    assert AuditEntry.objects.filter(action="dispatch.event.warned_yellow", object_id=str(event.pk)).count() == 1


def test_it_tells_the_centre_of_a_yellow_case_not_yet_with_a_department(loop):
    event = report(loop)
    sweep(now=event.step_yellow_at)
    assert told(loop.operator, "dispatch.event.warned_yellow") == 1
    note = Notification.objects.get(recipient=loop.operator)
    assert event.number in note.title and note.url == f"/dispatch/cases/{event.pk}/"
    for person in (loop.handler, loop.dispatcher, loop.outsider, loop.worker):
        assert not Notification.objects.filter(recipient=person).exists()


def test_it_tells_the_lead_department_of_a_yellow_dispatched_case(loop):
    event = dispatched(loop)
    assert event.step == "sign"
    sweep(now=event.step_yellow_at)
    assert told(loop.handler, "dispatch.event.warned_yellow") == 1
    assert not Notification.objects.filter(recipient__in=[loop.operator, loop.outsider, loop.dispatcher]).exists()


def test_it_marks_red_after_the_due_time_and_escalates_to_the_level_above(loop):
    event = dispatched(loop)
    result = sweep(now=event.step_due_at)
    assert (result.yellow, result.red) == (1, 0)  # at the due instant the case is still on time

    result = sweep(now=event.step_due_at + SECOND)
    assert (result.yellow, result.red, result.escalated) == (0, 1, 1)
    event = fresh(event)
    assert event.alert == Alert.RED and event.escalated_at is not None
    order = SupervisionOrder.objects.get(event=event)
    assert order.kind == SupervisionOrder.Kind.ESCALATION
    assert order.to_unit == loop.tree.district  # the street centre's supervising level
    assert order.department == loop.tree.bureau and order.due_at == event.step_due_at
    row = Transition.objects.get(event=event, action="overdue")
    assert row.data["escalated_to"] == loop.tree.district.pk and row.from_state == row.to_state == State.DISPATCHED
    assert AuditEntry.objects.filter(action="dispatch.event.overdue", object_id=str(event.pk)).count() == 1


def test_a_case_found_past_its_due_goes_straight_to_red(loop):
    event = report(loop)
    assert sweep(now=event.step_due_at + datetime.timedelta(hours=3)) == SweepResult(red=1, escalated=1, notified=2)
    assert list(Transition.objects.filter(event=event).exclude(action="report").values_list("action", flat=True)) == [
        "overdue"]


def test_a_red_case_tells_the_handler_and_the_supervising_level_but_no_outsider(loop):
    event = dispatched(loop)
    sweep(now=event.step_due_at + SECOND)
    assert told(loop.handler, "dispatch.event.overdue") == 1
    assert told(loop.dispatcher, "dispatch.event.overdue") == 1
    assert not Notification.objects.filter(recipient__in=[loop.outsider, loop.operator, loop.worker]).exists()


def test_the_sweep_is_idempotent_and_escalates_once(loop):
    event = dispatched(loop)
    later = event.step_due_at + datetime.timedelta(hours=1)
    sweep(now=later)
    notes, rows, audits = Notification.objects.count(), Transition.objects.count(), AuditEntry.objects.count()

    assert sweep(now=later) == SweepResult()
    assert sweep(now=later + datetime.timedelta(days=3)) == SweepResult()
    assert SupervisionOrder.objects.filter(event=event).count() == 1
    assert (Notification.objects.count(), Transition.objects.count(), AuditEntry.objects.count()) == (
        notes, rows, audits)


def test_a_new_step_starts_on_time_and_is_escalated_again_when_it_runs_over(loop):
    event = report(loop, urgency="urgent")  # calendar minutes: each step's due differs from the last
    sweep(now=event.step_due_at + SECOND)
    assert fresh(event).alert == Alert.RED
    event = services.event_accept(event=fresh(event), actor=loop.operator)  # the register step starts now
    assert event.alert == Alert.NONE and event.escalated_at is None
    sweep(now=event.step_due_at + SECOND)
    assert SupervisionOrder.objects.filter(event=event, kind=SupervisionOrder.Kind.ESCALATION).count() == 2


def test_a_case_whose_clock_restarted_is_left_alone(loop):
    event = report(loop)
    # Reported yesterday and never accepted: long overdue …
    yesterday = event.created_at - datetime.timedelta(days=1)
    Event.objects.filter(pk=event.pk).update(step_yellow_at=yesterday, step_due_at=yesterday)
    # … until someone accepts it (the register step's clock starts now) just before the sweep runs.
    event = services.event_accept(event=fresh(event), actor=loop.operator)
    assert sweep(now=event.step_started_at + SECOND) == SweepResult()
    assert fresh(event).alert == Alert.NONE


def test_suspended_and_backlog_cases_are_paused(loop):
    paused = dispatched(loop)
    paused = services.event_sign(event=paused, actor=loop.handler)
    paused = services.event_start(event=paused, actor=loop.handler)
    backlog = services.event_backlog(event=paused, actor=loop.operator, note="无法解决")
    other = dispatched(loop)
    other = services.event_sign(event=other, actor=loop.handler)
    other = services.event_start(event=other, actor=loop.handler)
    suspended = services.event_suspend(event=other, actor=loop.handler, note="等待天气")
    assert (backlog.state, suspended.state) == (State.BACKLOG, State.SUSPENDED)

    assert suspended.step_due_at is not None  # the clock keeps its place while it stands still
    result = sweep(now=suspended.step_due_at + datetime.timedelta(days=30))
    assert result == SweepResult()
    assert set(Event.objects.values_list("alert", flat=True)) == {Alert.NONE}
    assert not SupervisionOrder.objects.exists()


def test_finished_and_dead_cases_are_not_swept(loop):
    event = report(loop)
    services.event_reject(event=event, actor=loop.operator, note="重复")
    assert sweep(now=event.step_due_at + datetime.timedelta(days=30)) == SweepResult()


def test_a_held_lock_skips_the_run_and_changes_nothing(loop):
    event = report(loop)
    cache.add(LOCK_KEY, "another sweep", 60)
    assert sweep(now=event.step_due_at + SECOND) == SweepResult(skipped=True)
    assert fresh(event).alert == Alert.NONE
    assert cache.get(LOCK_KEY) == "another sweep"  # not ours to release

    cache.delete(LOCK_KEY)
    assert sweep(now=event.step_due_at + SECOND).red == 1
    assert cache.get(LOCK_KEY) is None  # released after the run


def test_the_lock_is_released_when_the_sweep_fails(loop, monkeypatch):
    from dispatch import sweep as module

    def broken(now):
        raise RuntimeError("database gone")

    monkeypatch.setattr(module, "_sweep", broken)
    with pytest.raises(RuntimeError):
        sweep()
    assert cache.get(LOCK_KEY) is None


def test_an_unanswered_supervision_order_tells_its_issuer_once(loop):
    event = dispatched(loop)
    order = services.event_supervise(event=event, actor=loop.dispatcher, note="请尽快处理", amount=1, unit="hours")
    result = sweep(now=order.due_at + SECOND)
    assert result.supervision_overdue == 1
    assert told(loop.dispatcher, "dispatch.event.supervision_overdue") == 1
    row = Transition.objects.get(event=event, action="supervision_overdue")
    assert row.data["order"] == order.pk
    assert sweep(now=order.due_at + datetime.timedelta(hours=5)).supervision_overdue == 0
    assert told(loop.dispatcher, "dispatch.event.supervision_overdue") == 1


def test_an_answered_supervision_order_is_not_reported(loop):
    event = dispatched(loop)
    event = services.event_sign(event=event, actor=loop.handler)
    order = services.event_supervise(event=event, actor=loop.dispatcher, note="请尽快处理", amount=1, unit="hours")
    services.event_respond(event=fresh(event), actor=loop.handler, order=order, note="已安排人员")
    assert sweep(now=order.due_at + SECOND).supervision_overdue == 0
    assert not Transition.objects.filter(action="supervision_overdue").exists()


def test_a_summoned_department_that_does_not_sign_in_time_is_reported_once(loop, persona):
    office_handler = persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b)
    event = services.event_sign(event=dispatched(loop), actor=loop.handler)
    services.event_summon(event=event, actor=loop.operator, departments=[loop.tree.office_b], note="吹哨报到")
    summoned = event.assignments.get(department=loop.tree.office_b)
    assert sweep(now=summoned.sign_due_at - SECOND).unsigned_overdue == 0

    assert sweep(now=summoned.sign_due_at + SECOND).unsigned_overdue == 1
    row = Transition.objects.get(event=event, action="unsigned_overdue")
    assert row.data["assignment"] == summoned.pk
    assert told(office_handler, "dispatch.event.unsigned_overdue") == 1
    assert told(loop.operator, "dispatch.event.unsigned_overdue") == 1
    assert told(loop.outsider, "dispatch.event.unsigned_overdue") == 0
    assert sweep(now=summoned.sign_due_at + datetime.timedelta(hours=3)).unsigned_overdue == 0


def test_a_summoned_department_that_signed_is_not_reported(loop, persona):
    office_handler = persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b)
    event = services.event_sign(event=dispatched(loop), actor=loop.handler)
    event = services.event_summon(event=event, actor=loop.operator, departments=[loop.tree.office_b], note="吹哨报到")
    services.event_co_sign(event=event, actor=office_handler, department=loop.tree.office_b)
    summoned = event.assignments.get(department=loop.tree.office_b)
    assert summoned.status == "signed"
    assert sweep(now=summoned.sign_due_at + SECOND).unsigned_overdue == 0


def test_the_sweep_runs_a_fixed_number_of_queries_whatever_the_number_of_cases(loop, django_assert_max_num_queries):
    cases = [dispatched(loop) for _ in range(3)]
    later = max(c.step_due_at for c in cases) + SECOND
    with django_assert_max_num_queries(40) as few:
        assert sweep(now=later).red == 3
    cases = [dispatched(loop) for _ in range(12)]
    later = max(c.step_due_at for c in cases) + SECOND
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert sweep(now=later).red == 12


def test_a_community_staff_member_elsewhere_is_not_told(loop, persona):
    community_b_staff = persona(Role.COMMUNITY_STAFF, unit=loop.tree.community_b)
    event = dispatched(loop)
    sweep(now=event.step_due_at + SECOND)
    assert not Notification.objects.filter(recipient=community_b_staff).exists()


def test_the_state_lists_behind_the_partial_indexes_match_the_workflow_and_the_clock():
    """The sweep's and the queues' partial indexes hold the rows of these lists only; a state the clock
    or the workflow adds later must join them, or the sweep and the tab counts would miss its cases."""
    from dispatch.clock import STEP_OF_STATE
    from dispatch.models import LIVE_STATES, SWEPT_STATES
    from dispatch.workflow import OPEN_STATES

    assert set(LIVE_STATES) == set(OPEN_STATES) | {State.CLOSED}
    assert set(SWEPT_STATES) == set(STEP_OF_STATE) - {State.SUSPENDED, State.BACKLOG}
