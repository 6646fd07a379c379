"""The case page and its action forms, through the views: each form calls its service, errors map to
400 (bad input), 409 (conflict, not allowed) and 403 (forbidden) with the message shown, nothing saved."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dispatch import services
from dispatch.models import Assignment, Attachment, Channel, Event, Stage, State, SupervisionOrder
from dispatch.tests.flow import bring_to, photo, report
from governance.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English, the language the messages are asserted in."""
    return Client(headers={"Accept-Language": "en"})


def page(client, event):
    return client.get(reverse("dispatch:case", args=[event.pk]))


def act(client, event, action, files=None, **fields):
    """POST the action form as the page renders it: prefixed fields and the version shown."""
    data = {f"{action}-version": fields.pop("version", event.version), f"{action}-note": fields.pop("note", "")}
    for name, value in fields.items():
        data[f"{action}-{name}"] = value
    for name, value in (files or {}).items():
        data[f"{action}-{name}"] = value
    return client.post(reverse("dispatch:act", args=[event.pk, action]), data)


def fresh(event) -> Event:
    return Event.objects.get(pk=event.pk)


# --- The page ------------------------------------------------------------------------------------


def test_it_shows_the_case_to_the_centre_with_its_actions(client, loop):
    event = report(loop, contact_phone="13900000000", contact_name="王先生", photos=[photo()])
    client.force_login(loop.operator)
    response = page(client, event)
    assert response.status_code == 200
    body = response.content.decode()
    assert event.number in body and "垃圾堆" in body
    assert 'id="action-accept"' in body and 'id="action-reject"' in body
    assert f'name="accept-version" value="{event.version}"' in body
    assert "13900000000" in body  # the centre sees the reporter's phone
    shot = Attachment.objects.get(event=event)
    assert reverse("dispatch:photo", args=[shot.pk, "thumb"]) in body
    assert reverse("dispatch:photo", args=[shot.pk, "display"]) in body
    assert "Reported" in body  # the creation row of the timeline
    assert "Acceptance" in body and "dispatch.limit.accept" in body  # the clock names its step and rule


def test_it_hides_phone_numbers_from_everyone_but_the_centre(client, loop):
    event = bring_to(loop, State.DISPATCHED, contact_phone="13900000000")
    client.force_login(loop.handler)
    response = page(client, event)
    assert response.status_code == 200
    assert "13900000000" not in response.content.decode()


def test_it_answers_404_to_an_outsider(client, loop):
    event = report(loop)
    client.force_login(loop.outsider)
    assert page(client, event).status_code == 404
    assert act(client, event, "accept").status_code == 404
    assert fresh(event).state == State.REPORTED


def test_it_answers_404_for_an_unknown_action(client, loop):
    event = report(loop)
    client.force_login(loop.operator)
    assert act(client, event, "explode").status_code == 404


def test_a_handler_is_not_offered_accept_and_is_refused(client, loop):
    event = bring_to(loop, State.DISPATCHED)
    other = report(loop, title="另一件")
    client.force_login(loop.handler)
    body = page(client, event).content.decode()
    assert 'id="action-sign"' in body and 'id="action-accept"' not in body
    # A case not dispatched to his department is not even visible to him.
    assert act(client, other, "accept").status_code == 404
    # On his own case, an action outside his part is refused with 409 (wrong state) or 403 (not his).
    response = act(client, event, "dispatch", department="")
    assert response.status_code in (403, 409)
    assert fresh(event).state == State.DISPATCHED


def test_the_case_page_queries_do_not_grow_with_the_history(client, loop, django_assert_max_num_queries):
    short = report(loop, photos=[photo()])
    long = bring_to(loop, State.IN_PROGRESS, photos=[photo(), photo()])
    services.event_summon(event=long, actor=loop.operator, departments=[loop.tree.office_b], note="请协助")
    services.event_remind(event=fresh(long), actor=loop.operator, note="请尽快")
    client.force_login(loop.operator)
    page(client, short)  # warm caches (content types, parameters)
    counts = []
    for event in (short, long):
        with CaptureQueriesContext(connection) as queries:
            assert page(client, event).status_code == 200
        counts.append(len(queries))
    with django_assert_max_num_queries(25):
        page(client, long)
    # The long case has more rows of every kind, and more actions offered (more forms), but every list
    # is one query: the difference stays a handful, not one per row.
    assert counts[1] - counts[0] <= 10, counts


# --- Intake and registration ---------------------------------------------------------------------


def test_accept_then_register_with_a_category(client, loop):
    event = report(loop, minor=None)
    client.force_login(loop.operator)
    response = act(client, event, "accept")
    assert response.status_code == 302 and response.url == reverse("dispatch:case", args=[event.pk])
    event = fresh(event)
    assert event.state == State.ACCEPTED
    # Registering without a category is bad input: 400 with the message, nothing saved.
    response = act(client, event, "register", category="")
    assert response.status_code == 400
    assert fresh(event).state == State.ACCEPTED
    response = act(client, event, "register", category=loop.manhole.pk)
    assert response.status_code == 302
    event = fresh(event)
    assert event.state == State.REGISTERED and event.minor == loop.manhole and event.urgency == "urgent"
    follow = client.get(response.url)
    assert "Done: Register." in follow.content.decode()


def test_reject_needs_a_reason(client, loop):
    event = report(loop)
    client.force_login(loop.operator)
    response = act(client, event, "reject")
    assert response.status_code == 400
    assert 'id="case-error"' in response.content.decode()
    assert fresh(event).state == State.REPORTED
    assert act(client, event, "reject", note="重复上报").status_code == 302
    assert fresh(event).state == State.INVALID


def test_dispatch_to_the_routed_department(client, loop):
    event = bring_to(loop, State.REGISTERED)
    client.force_login(loop.operator)
    body = page(client, event).content.decode()
    assert "Routed to “测试城管局”" in body
    response = act(client, event, "dispatch", department="")
    assert response.status_code == 302
    event = fresh(event)
    assert event.state == State.DISPATCHED and event.department == loop.tree.bureau


def test_dispatch_overridden_with_co_handlers(client, loop):
    event = bring_to(loop, State.REGISTERED)
    client.force_login(loop.operator)
    response = act(client, event, "dispatch", department=loop.tree.office_b.pk, co_departments=[loop.tree.bureau.pk])
    assert response.status_code == 302
    event = fresh(event)
    assert event.department == loop.tree.office_b
    parts = {(a.department_id, a.role) for a in event.assignments.all()}
    assert parts == {(loop.tree.office_b.pk, Assignment.Role.LEAD), (loop.tree.bureau.pk, Assignment.Role.CO)}


def test_escalate_needs_a_reason_and_moves_the_case_up(client, loop):
    event = bring_to(loop, State.ACCEPTED)
    client.force_login(loop.operator)
    assert act(client, event, "escalate").status_code == 400
    assert act(client, event, "escalate", note="涉及多个街道").status_code == 302
    event = fresh(event)
    assert event.owner_unit == loop.tree.district
    # The district may hand it back down to the street.
    client.force_login(loop.dispatcher)
    assert act(client, event, "delegate", to_unit=loop.tree.street_a.pk).status_code == 302
    assert fresh(event).owner_unit == loop.tree.street_a


def test_merge_a_duplicate_into_the_case_it_repeats(client, loop):
    first = report(loop, title="垃圾堆")
    second = report(loop, title="又是那堆垃圾", contact_name="李女士")
    client.force_login(loop.operator)
    body = page(client, second).content.decode()
    assert 'id="case-duplicates"' in body and first.number in body
    response = act(client, second, "merge", into=first.pk)
    assert response.status_code == 302
    second = fresh(second)
    assert second.state == State.MERGED and second.merged_into == first
    assert first.reporters.count() == 2


def test_merge_refuses_a_case_that_is_not_offered(client, loop):
    first = report(loop)
    far = report(loop, title="远处", point=loop.inside, minor=loop.manhole)  # another class: not a duplicate
    client.force_login(loop.operator)
    response = act(client, first, "merge", into=far.pk)
    assert response.status_code == 400
    assert fresh(first).state == State.REPORTED


# --- The department ------------------------------------------------------------------------------


def test_sign_then_return_needs_a_reason(client, loop):
    event = bring_to(loop, State.DISPATCHED)
    client.force_login(loop.handler)
    response = act(client, event, "return")
    assert response.status_code == 400
    assert "Reason" in response.content.decode() and "This field is required." in response.content.decode()
    assert fresh(event).state == State.DISPATCHED
    assert act(client, event, "return", note="不属于本部门职责").status_code == 302
    event = fresh(event)
    assert event.state == State.RETURNED and event.department is None


def test_sign_and_start(client, loop):
    event = bring_to(loop, State.DISPATCHED)
    client.force_login(loop.handler)
    assert act(client, event, "sign").status_code == 302
    event = fresh(event)
    assert event.state == State.SIGNED
    assert act(client, event, "start").status_code == 302
    assert fresh(event).state == State.IN_PROGRESS


def test_handle_with_a_photo_goes_on_to_verification(client, loop):
    event = bring_to(loop, State.IN_PROGRESS)
    client.force_login(loop.handler)
    body = page(client, event).content.decode()
    assert 'enctype="multipart/form-data"' in body and 'accept="image/*"' in body
    response = act(client, event, "handle", note="已清理干净", files={"photos": [photo("a.jpg"), photo("b.jpg")]})
    assert response.status_code == 302
    event = fresh(event)
    assert event.state == State.VERIFYING and event.verifier == loop.worker
    assert Attachment.objects.filter(event=event, stage=Stage.AFTER).count() == 2


def test_handle_refuses_a_file_that_is_not_a_photo(client, loop):
    from dispatch.tests.flow import not_a_photo

    event = bring_to(loop, State.IN_PROGRESS)
    client.force_login(loop.handler)
    response = act(client, event, "handle", note="已清理", files={"photos": [not_a_photo()]})
    assert response.status_code == 400
    assert "is not a photo we can read" in response.content.decode()
    assert fresh(event).state == State.IN_PROGRESS
    assert not Attachment.objects.filter(event=event, stage=Stage.AFTER).exists()


def test_extension_requested_then_approved(client, loop):
    event = bring_to(loop, State.IN_PROGRESS)
    due_before = event.step_due_at
    client.force_login(loop.handler)
    assert act(client, event, "request_extension", amount=2, unit="working_days").status_code == 400  # no reason
    assert act(client, event, "request_extension", amount=2, unit="working_days", note="需调用车辆").status_code == 302
    event = fresh(event)
    assert event.state == State.EXTENSION_REQUESTED
    client.force_login(loop.operator)
    assert act(client, event, "approve_extension").status_code == 302
    event = fresh(event)
    assert event.state == State.IN_PROGRESS and event.step_due_at > due_before
    assert "extended by 2 working days" in event.step_rule


def test_summon_and_co_sign(client, loop, persona):
    event = bring_to(loop, State.DISPATCHED)
    office_handler = persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b)
    client.force_login(loop.operator)
    assert act(client, event, "summon", departments=[loop.tree.office_b.pk], note="请到场").status_code == 302
    event = fresh(event)
    summoned = event.assignments.get(department=loop.tree.office_b)
    assert summoned.role == Assignment.Role.SUMMONED and summoned.status == Assignment.Status.PENDING
    client.force_login(office_handler)
    body = page(client, event).content.decode()
    assert 'id="action-co_sign"' in body
    assert act(client, event, "co_sign", department=loop.tree.office_b.pk).status_code == 302
    summoned.refresh_from_db()
    assert summoned.status == Assignment.Status.SIGNED and summoned.signed_by == office_handler


# --- Verification and call-back ------------------------------------------------------------------


def test_verify_pass_closes(client, loop):
    event = bring_to(loop, State.VERIFYING)
    client.force_login(loop.worker)
    body = page(client, event).content.decode()
    assert 'id="action-verify"' in body
    assert act(client, event, "verify", result="pass", files={"photos": [photo()]}).status_code == 302
    event = fresh(event)
    assert event.state == State.CLOSED
    assert Attachment.objects.filter(event=event, stage=Stage.VERIFY).count() == 1


def test_verify_rework_needs_a_note(client, loop):
    event = bring_to(loop, State.VERIFYING)
    client.force_login(loop.worker)
    response = act(client, event, "verify", result="rework")
    assert response.status_code == 400
    assert "Say what still needs doing." in response.content.decode()
    assert fresh(event).state == State.VERIFYING
    assert act(client, event, "verify", result="rework", note="还有残留").status_code == 302
    event = fresh(event)
    assert event.state == State.REWORK and event.rework_count == 1


def test_callback_records_the_rating(client, loop):
    event = bring_to(loop, State.CLOSED)
    client.force_login(loop.operator)
    response = act(client, event, "evaluate", contacted="yes", solved="no", satisfaction="basically")
    assert response.status_code == 302
    event = fresh(event)
    assert event.state == State.EVALUATED
    assert (event.callback_contacted, event.callback_solved, event.satisfaction) == (True, False, "basically")


# --- Supervision ---------------------------------------------------------------------------------


def test_supervision_order_and_answer(client, loop, persona):
    event = bring_to(loop, State.IN_PROGRESS)
    leader = persona(Role.LEADER)
    client.force_login(leader)
    assert act(client, event, "list_supervision").status_code == 302
    assert fresh(event).listed_supervision
    assert act(client, fresh(event), "supervise", note="三日内办结", amount=3, unit="working_days").status_code == 302
    order = SupervisionOrder.objects.get(event=event, kind=SupervisionOrder.Kind.ORDER)
    client.force_login(loop.handler)
    assert act(client, fresh(event), "respond", order=order.pk, note="已安排人员").status_code == 302
    order.refresh_from_db()
    assert order.responded_at is not None and order.response == "已安排人员"
    body = page(client, event).content.decode()
    assert 'id="case-supervision"' in body and "已安排人员" in body


# --- Conflicts -----------------------------------------------------------------------------------


def test_a_stale_form_is_refused_with_409_and_nothing_changes(client, loop):
    event = bring_to(loop, State.REGISTERED)
    client.force_login(loop.operator)
    shown = event.version
    # Someone else dispatches the case while the operator is looking at it.
    services.event_dispatch(event=event, actor=loop.dispatcher, department=loop.tree.office_b)
    before = fresh(event)
    response = act(client, event, "dispatch", version=shown, department=loop.tree.bureau.pk)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed this case while you were looking at it" in body
    assert 'id="case-error"' in body
    after = fresh(event)
    assert (after.state, after.version, after.department_id) == (before.state, before.version, before.department_id)
    # The page is re-rendered with the case as it is now: the new version in every form.
    assert f'value="{after.version}"' in body


def test_an_action_the_state_no_longer_allows_is_409(client, loop):
    event = report(loop)
    client.force_login(loop.operator)
    assert act(client, event, "accept").status_code == 302
    response = act(client, fresh(event), "accept")
    assert response.status_code == 409
    assert "is not possible while the case is" in response.content.decode()


def test_citizen_cases_show_the_request_type(client, loop):
    event, _created = services.event_report(channel=Channel.HOTLINE, title="噪音扰民", unit=loop.tree.community_a,
                                            request_type="complaint", contact_phone="13700000000")
    client.force_login(loop.dispatcher)
    body = page(client, event).content.decode()
    assert "Complaint" in body and "13700000000" in body


def test_the_timeline_labels_the_sweeps_rows(client, loop):
    from django.utils import timezone

    from dispatch.models import Transition

    event = report(loop)
    Transition.objects.create(event=event, action="overdue", from_state=State.REPORTED, to_state=State.REPORTED,
                              actor_label="Platform", at=timezone.now(),
                              data={"step": "accept", "due": timezone.now().isoformat(),
                                    "escalated_to": loop.tree.district.pk})
    client.force_login(loop.operator)
    body = page(client, event).content.decode()
    assert "Overdue: escalated to the supervising level" in body
    assert "step: Acceptance" in body and "escalated_to" not in body
