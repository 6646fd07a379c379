"""Follow-ups: who is told what after each step of a case, once, and the re-send of lost follow-ups."""

import datetime

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import Channel, Reporter, Transition
from dispatch.notify import follow_up
from dispatch.tasks import follow_ups_resend, transition_follow_up
from governance.models import Notification
from governance.roles import Role
from governance.tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


def report(loop, **kw):
    kw = {"channel": Channel.GRID, "title": "垃圾堆", "minor": loop.rubbish, "lon": loop.inside[0],
          "lat": loop.inside[1], "reporter": loop.worker, **kw}
    event, _ = services.event_report(**kw)
    return event


def registered(loop, **kw):
    event = report(loop, **kw)
    event = services.event_accept(event=event, actor=loop.operator)
    return services.event_register(event=event, actor=loop.operator)


def dispatched(loop, **kw):
    return services.event_dispatch(event=registered(loop), actor=loop.operator, **kw)


def in_progress(loop):
    event = services.event_sign(event=dispatched(loop), actor=loop.handler)
    return services.event_start(event=event, actor=loop.handler)


def follow(event, action) -> int:
    row = Transition.objects.filter(event=event, action=action).latest("at", "pk")
    return follow_up(row.pk)


def inbox(user):
    return list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_it_tells_the_handlers_of_the_lead_and_co_departments_of_a_dispatch(loop, persona):
    co = DepartmentFactory(name="环卫所", unit=loop.tree.district)
    co_handler = persona(Role.DEPARTMENT_HANDLER, department=co)
    bystander = persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b)
    event = services.event_dispatch(event=registered(loop), actor=loop.operator, co_departments=[co], note="尽快")

    assert follow(event, "dispatch") == 2
    note = Notification.objects.get(recipient=loop.handler)
    assert note.kind == "dispatch.event.dispatch" and event.number in note.title
    assert note.url == f"/dispatch/cases/{event.pk}/" and "尽快" in note.body
    assert inbox(co_handler) == ["dispatch.event.dispatch"]
    for person in (bystander, loop.outsider, loop.operator, loop.worker, loop.dispatcher):
        assert inbox(person) == []


def test_a_follow_up_sent_twice_tells_people_once(loop):
    event = dispatched(loop)
    row = Transition.objects.get(event=event, action="dispatch")
    assert transition_follow_up(row.pk) == 1
    assert transition_follow_up(row.pk) == 0
    assert Notification.objects.filter(recipient=loop.handler).count() == 1
    row.refresh_from_db()
    assert row.followed_up_at is not None


def test_a_vanished_row_is_skipped_quietly(loop):
    assert transition_follow_up(10**9) == 0


def test_steps_nobody_needs_to_hear_of_are_still_marked_done(loop):
    event = registered(loop)
    assert follow(event, "accept") == 0
    assert Transition.objects.get(event=event, action="accept").followed_up_at is not None
    assert not Notification.objects.exists()


def test_the_summoned_departments_are_told(loop, persona):
    police = DepartmentFactory(name="派出所", unit=loop.tree.street_a)
    officer = persona(Role.DEPARTMENT_HANDLER, department=police)
    event = in_progress(loop)
    services.event_summon(event=event, actor=loop.operator, departments=[police], note="联合执法")
    follow(event, "summon")
    assert inbox(officer) == ["dispatch.event.summon"]
    assert inbox(loop.handler) == []


def test_a_return_tells_the_centre(loop, persona):
    colleague = persona(Role.STREET_OPERATOR, unit=loop.tree.street_a)
    event = services.event_return(event=dispatched(loop), actor=loop.handler, note="不属于我局职责")
    follow(event, "return")
    assert inbox(loop.operator) == inbox(colleague) == ["dispatch.event.return"]
    assert "不属于我局职责" in Notification.objects.get(recipient=colleague).body
    assert inbox(loop.handler) == [] and inbox(loop.outsider) == [] and inbox(loop.dispatcher) == []


def test_a_handled_case_tells_its_verifier(loop):
    event = services.event_handle(event=in_progress(loop), actor=loop.handler, note="已清理")
    follow(event, "handle")
    follow(event, "send_to_verify")
    assert inbox(loop.worker) == ["dispatch.event.send_to_verify"]
    assert "已清理" in Notification.objects.get(recipient=loop.worker).body
    assert inbox(loop.operator) == [] and inbox(loop.outsider) == []


def test_without_a_named_verifier_the_grid_team_is_told(loop):
    event = report(loop, channel=Channel.CITIZEN, reporter=None, contact_name="张三")
    event = services.event_accept(event=event, actor=loop.operator)
    event = services.event_register(event=event, actor=loop.operator)
    event = services.event_dispatch(event=event, actor=loop.operator)
    event = services.event_start(event=services.event_sign(event=event, actor=loop.handler), actor=loop.handler)
    event = services.event_handle(event=event, actor=loop.handler, note="已清理")
    assert event.verifier is None
    follow(event, "send_to_verify")
    assert inbox(loop.worker) == ["dispatch.event.send_to_verify"]


def test_closing_tells_every_reporter_with_an_account_and_the_centre(loop, persona):
    second_worker = persona(Role.GRID_WORKER, unit=loop.tree.community_a)
    colleague = persona(Role.STREET_OPERATOR, unit=loop.tree.street_a)
    event = report(loop)
    duplicate = report(loop, reporter=second_worker)
    services.event_merge(event=duplicate, into=event, actor=loop.operator)
    event = services.event_accept(event=event, actor=loop.operator)
    event = services.event_register(event=event, actor=loop.operator)
    event = services.event_dispatch(event=event, actor=loop.operator)
    event = services.event_start(event=services.event_sign(event=event, actor=loop.handler), actor=loop.handler)
    event = services.event_handle(event=event, actor=loop.handler, note="已清理")
    event = services.event_verify(event=event, actor=loop.operator, passed=True)  # the centre verifies

    follow(event, "verify_pass")
    assert inbox(loop.worker) == inbox(second_worker) == ["dispatch.event.verify_pass"]
    assert inbox(colleague) == ["dispatch.event.verify_pass"]  # call-back due
    assert inbox(loop.operator) == []  # who acted is not told of his own action
    assert Reporter.objects.filter(event=event, notified_at__isnull=True).count() == 0


def test_an_escalated_case_tells_the_centre_above(loop):
    event = services.event_escalate(event=report(loop), actor=loop.operator, note="涉及多个街道")
    follow(event, "escalate")
    assert inbox(loop.dispatcher) == ["dispatch.event.escalate"]
    assert inbox(loop.operator) == [] and inbox(loop.outsider) == []


def test_a_report_outside_every_grid_or_urgent_tells_the_centre_and_a_plain_one_does_not(loop):
    plain = report(loop)
    follow(plain, "report")
    assert inbox(loop.operator) == []

    outside = report(loop, lon=loop.outside[0], lat=loop.outside[1])
    assert outside.outside_grids
    follow(outside, "report")
    assert inbox(loop.operator) == ["dispatch.event.report"]

    urgent = report(loop, minor=loop.manhole)
    follow(urgent, "report")
    assert inbox(loop.operator) == ["dispatch.event.report"] * 2
    assert inbox(loop.outsider) == []


def test_an_extension_request_tells_the_centre_and_the_answer_tells_the_handler(loop):
    event = services.event_request_extension(event=in_progress(loop), actor=loop.handler, amount=2,
                                             unit="working_days", note="需要采购设备")
    follow(event, "request_extension")
    assert inbox(loop.operator) == ["dispatch.event.request_extension"]
    event = services.event_approve_extension(event=event, actor=loop.operator)
    follow(event, "approve_extension")
    assert inbox(loop.handler) == ["dispatch.event.approve_extension"]


def test_reminders_and_supervision_orders_tell_the_lead_department(loop):
    event = in_progress(loop)
    services.event_remind(event=event, actor=loop.dispatcher, note="请加快")
    services.event_supervise(event=event, actor=loop.dispatcher, note="限期办结", amount=1, unit="working_days")
    follow(event, "remind")
    follow(event, "supervise")
    assert sorted(inbox(loop.handler)) == ["dispatch.event.remind", "dispatch.event.supervise"]
    assert inbox(loop.outsider) == []


def test_people_who_left_are_not_told(loop):
    loop.handler.is_active = False
    loop.handler.save(update_fields=["is_active"])
    event = dispatched(loop)
    assert follow(event, "dispatch") == 0


def test_lost_follow_ups_are_sent_again_after_two_minutes(loop):
    event = dispatched(loop)
    rows = Transition.objects.filter(event=event)
    assert not rows.filter(followed_up_at__isnull=False).exists()  # their tasks were never sent (no commit)
    old = timezone.now() - datetime.timedelta(minutes=3)
    rows.exclude(action="dispatch").update(at=old)

    assert follow_ups_resend() == rows.count() - 1  # the dispatch row is too young to count as lost
    assert not rows.exclude(action="dispatch").filter(followed_up_at__isnull=True).exists()
    assert rows.get(action="dispatch").followed_up_at is None
    assert inbox(loop.handler) == []  # nothing in those rows concerned him

    rows.filter(action="dispatch").update(at=old)
    assert follow_ups_resend() == 1
    assert inbox(loop.handler) == ["dispatch.event.dispatch"]
    assert follow_ups_resend() == 0


def test_the_resend_stops_when_the_broker_refuses(loop, monkeypatch):
    event = dispatched(loop)
    Transition.objects.filter(event=event).update(at=timezone.now() - datetime.timedelta(minutes=3))
    monkeypatch.setattr("dispatch.tasks.send_now", lambda *args: False)
    assert follow_ups_resend() == 0
    assert not Transition.objects.filter(followed_up_at__isnull=False).exists()
