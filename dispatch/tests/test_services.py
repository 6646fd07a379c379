"""Dispatch services: intake, guards (who may not act, bad input), stale forms, routing changes,
summons, returns and the citizen's rating. Every refusal asserts that nothing was written."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError

from dispatch import services, workflow
from dispatch.models import (
    Assignment,
    Attachment,
    Channel,
    Event,
    MinorClass,
    Reporter,
    RoutingRule,
    Stage,
    State,
    Transition,
)
from dispatch.tests.flow import bring_to, not_a_photo, photo, report
from dispatch.workflow import ACTIONS, Conflict, Forbidden, NotAllowed, WorkflowError
from governance.models import AuditEntry
from governance.roles import Role
from governance.tests.factories import DepartmentFactory

S = State




def _counts():
    return (Event.objects.count(), Transition.objects.count(), AuditEntry.objects.count(),
            Attachment.objects.count(), Assignment.objects.count(), Reporter.objects.count())


@contextmanager
def nothing_written():
    before = _counts()
    yield
    assert _counts() == before


# --- Intake ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_locates_a_report_to_its_grid_and_community(crew):
    event, created = services.event_report(channel=Channel.GRID, title="垃圾堆", minor=crew.rubbish,
                                           lon=crew.inside[0], lat=crew.inside[1], reporter=crew.worker,
                                           photos=[photo()])
    assert created
    assert event.grid == crew.grid and event.unit == crew.tree.community_a
    assert event.unit_path == crew.tree.community_a.path
    assert not event.outside_grids
    assert (event.owner_unit, event.owner_path) == (crew.tree.street_a, crew.tree.street_a.path)
    assert event.state == S.REPORTED and event.version == 0
    assert event.number.startswith("SJ") and len(event.receipt_code) == 10
    assert event.attachments.get().stage == Stage.REPORT
    assert list(event.reporters.values_list("user", flat=True)) == [crew.worker.pk]
    row = event.history.get()
    assert (row.action, row.actor, row.data["channel"]) == ("report", crew.worker, "grid")
    assert AuditEntry.objects.filter(action="dispatch.event.reported", object_id=str(event.pk)).count() == 1


@pytest.mark.django_db
def test_it_accepts_a_point_outside_every_grid_for_the_nearest_grids_street(crew):
    event, created = services.event_report(channel=Channel.CITIZEN, title="路灯不亮", lon=crew.outside[0],
                                           lat=crew.outside[1], contact_phone="13800000000")
    assert created and event.outside_grids and event.grid is None
    assert event.unit == crew.tree.street_a  # the street of the nearest grid's community
    assert event.owner_unit == crew.tree.street_a
    assert event.history.get().data["outside_grids"] is True


@pytest.mark.django_db
@pytest.mark.parametrize("lon,lat", [(200.0, 34.0), (108.9, 95.0), (34.27, 108.93), (108.9, None),
                                     (float("nan"), 34.0)])
def test_it_refuses_coordinates_out_of_range_writing_nothing(crew, lon, lat):
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.event_report(channel=Channel.GRID, title="垃圾堆", minor=crew.rubbish, lon=lon, lat=lat,
                              reporter=crew.worker, photos=[photo()])
    assert "location" in refused.value.message_dict


@pytest.mark.django_db
def test_it_refuses_a_report_with_no_place(crew):
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.event_report(channel=Channel.CITIZEN, title="垃圾堆")
    assert "location" in refused.value.message_dict


@pytest.mark.django_db
def test_it_refuses_a_non_image_photo_writing_nothing(crew):
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.event_report(channel=Channel.GRID, title="垃圾堆", minor=crew.rubbish, lon=crew.inside[0],
                              lat=crew.inside[1], reporter=crew.worker, photos=[photo(), not_a_photo()])
    assert "not a photo we can read" in " ".join(refused.value.messages)


@pytest.mark.django_db
@pytest.mark.parametrize("field,value,key", [
    ("channel", "fax", "channel"),
    ("urgency", "panic", "urgency"),
    ("request_type", "gossip", "request_type"),
    ("title", "   ", "title"),
    ("idempotency_key", "k" * 81, "idempotency_key"),
])
def test_it_refuses_bad_fields_writing_nothing(crew, field, value, key):
    fields = dict(channel=Channel.GRID, title="垃圾堆", minor=crew.rubbish, lon=crew.inside[0], lat=crew.inside[1],
                  reporter=crew.worker)
    fields[field] = value
    with nothing_written(), pytest.raises(ValidationError) as refused:
        services.event_report(**fields)
    assert key in refused.value.message_dict


@pytest.mark.django_db
def test_it_refuses_a_category_no_longer_in_use(crew):
    crew.rubbish.is_active = False
    crew.rubbish.save()
    with nothing_written(), pytest.raises(ValidationError) as refused:
        report(crew)
    assert "category" in refused.value.message_dict


@pytest.mark.django_db
def test_it_makes_one_case_of_a_retried_submission(crew):
    first, created = services.event_report(channel=Channel.API, title="垃圾堆", lon=crew.inside[0],
                                           lat=crew.inside[1], idempotency_key="sys-42")
    assert created
    with nothing_written():
        again, created_again = services.event_report(channel=Channel.API, title="垃圾堆", lon=crew.inside[0],
                                                     lat=crew.inside[1], idempotency_key="sys-42")
    assert (again, created_again) == (first, False)


@pytest.mark.django_db
def test_it_gives_hotline_cases_to_the_district_centre(crew):
    event, _ = services.event_report(channel=Channel.HOTLINE, title="噪音扰民", request_type="complaint",
                                     lon=crew.inside[0], lat=crew.inside[1], contact_name="王先生")
    assert event.owner_unit == crew.tree.district and event.unit == crew.tree.community_a
    assert event.request_type == "complaint"


@pytest.mark.django_db
def test_it_dispatches_an_auto_dispatch_class_at_once_as_the_platform(crew):
    crew.rubbish.auto_dispatch = True
    crew.rubbish.save()
    crew.rubbish.co_departments.add(crew.tree.office_b)
    event = report(crew)
    # The caller gets the case as it is now, not the copy made before dispatching.
    assert event.state == S.DISPATCHED and event.department == crew.tree.bureau
    assert event.version == Event.objects.get(pk=event.pk).version == 3
    rows = list(event.history.all())
    assert [r.action for r in rows] == ["report", "accept", "register", "dispatch"]
    assert all(r.actor is None and r.actor_label == "Automatic dispatch" for r in rows[1:])
    assert {(a.department, a.role, a.status) for a in event.assignments.all()} == {
        (crew.tree.bureau, "lead", "pending"), (crew.tree.office_b, "co", "pending")}
    assert event.step == "sign"


@pytest.mark.django_db
def test_it_leaves_an_auto_dispatch_case_outside_every_grid_to_the_operator(crew):
    crew.rubbish.auto_dispatch = True
    crew.rubbish.save()
    event = report(crew, point=crew.outside)
    assert event.state == S.REPORTED and event.department is None


@pytest.mark.django_db
def test_it_closes_a_self_handled_matter_in_one_go(crew):
    event = services.event_self_handle(reporter=crew.worker, minor=crew.litter, before_photos=[photo()],
                                       after_photos=[photo(colour="green")], note="已捡拾", title="散落垃圾",
                                       lon=crew.inside[0], lat=crew.inside[1])
    assert event.state == S.CLOSED and event.self_handled
    assert event.handled_at and event.closed_at
    assert sorted(event.attachments.values_list("stage", flat=True)) == [Stage.AFTER, Stage.BEFORE]
    assert [r.action for r in event.history.all()] == ["report", "self_handle"]
    # Closed by the reporter himself: no call-back clock for the sweep to turn red.
    assert event.step == "" and event.step_due_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("what", ["class", "before", "after", "note", "bad_after"])
def test_it_refuses_self_handling_writing_nothing(crew, what):
    kwargs = dict(reporter=crew.worker, minor=crew.litter, before_photos=[photo()], after_photos=[photo()],
                  note="已捡拾", title="散落垃圾", lon=crew.inside[0], lat=crew.inside[1])
    if what == "class":
        kwargs["minor"] = crew.rubbish  # not a class a grid worker may handle himself
    elif what == "before":
        kwargs["before_photos"] = []
    elif what == "after":
        kwargs["after_photos"] = []
    elif what == "note":
        kwargs["note"] = " "
    else:
        kwargs["after_photos"] = [not_a_photo()]
    with nothing_written(), pytest.raises(ValidationError):
        services.event_self_handle(**kwargs)


# --- Who may not act -------------------------------------------------------------------------------


def _refused(exc_type, call):
    with nothing_written(), pytest.raises(exc_type) as refused:
        call()
    return refused.value


@pytest.mark.django_db
def test_a_handler_cannot_accept_register_or_dispatch(crew):
    event = report(crew)
    assert _refused(Forbidden, lambda: services.event_accept(event=event, actor=crew.handler)).status == 403
    event = services.event_accept(event=event, actor=crew.operator)
    _refused(Forbidden, lambda: services.event_register(event=event, actor=crew.handler))
    event = services.event_register(event=event, actor=crew.operator)
    _refused(Forbidden, lambda: services.event_dispatch(event=event, actor=crew.handler))


@pytest.mark.django_db
def test_an_operator_of_another_street_cannot_act_on_street_a(crew):
    event = report(crew)
    _refused(Forbidden, lambda: services.event_accept(event=event, actor=crew.outsider))
    _refused(Forbidden, lambda: services.event_reject(event=event, actor=crew.outsider, note="无效"))
    _refused(Forbidden, lambda: services.event_remind(event=event, actor=crew.outsider))


@pytest.mark.django_db
def test_the_district_centre_may_act_on_its_streets_cases(crew):
    event = report(crew)
    assert services.event_accept(event=event, actor=crew.dispatcher).state == S.ACCEPTED


@pytest.mark.django_db
def test_a_grid_worker_not_on_the_team_cannot_verify(crew, persona):
    stranger = persona(Role.GRID_WORKER, unit=crew.tree.community_a)
    event = bring_to(crew, S.VERIFYING)
    _refused(Forbidden, lambda: services.event_verify(event=event, actor=stranger, passed=True))
    _refused(Forbidden, lambda: services.event_verify(event=event, actor=crew.handler, passed=True))
    assert services.event_verify(event=event, actor=crew.worker, passed=True).state == S.CLOSED


@pytest.mark.django_db
def test_the_centre_verifies_a_citizens_report(crew):
    event, _ = services.event_report(channel=Channel.CITIZEN, title="垃圾堆", minor=crew.rubbish,
                                     lon=crew.inside[0], lat=crew.inside[1])
    for step in ("accept", "register", "dispatch"):
        event = getattr(services, f"event_{step}")(event=event, actor=crew.operator)
    event = services.event_sign(event=event, actor=crew.handler)
    event = services.event_handle(event=event, actor=crew.handler, note="已清理", photos=[photo()])
    assert event.state == S.VERIFYING and event.verifier is None
    assert event.attachments.get().stage == Stage.AFTER
    assert services.event_verify(event=event, actor=crew.operator, passed=True).state == S.CLOSED


@pytest.mark.django_db
def test_a_handler_of_another_department_cannot_sign_or_handle(crew):
    event = bring_to(crew, S.DISPATCHED)
    _refused(Forbidden, lambda: services.event_sign(event=event, actor=crew.handler_b))
    _refused(Forbidden, lambda: services.event_return(event=event, actor=crew.handler_b, note="不是我们的"))
    event = services.event_sign(event=event, actor=crew.handler)
    _refused(Forbidden, lambda: services.event_handle(event=event, actor=crew.handler_b, note="已清理"))


@pytest.mark.django_db
def test_only_leaders_list_a_case_for_supervision(crew):
    event = bring_to(crew, S.IN_PROGRESS)
    for someone in (crew.operator, crew.dispatcher, crew.handler, crew.worker):
        _refused(Forbidden, lambda: services.event_list_supervision(event=event, actor=someone, listed=True))
    event = services.event_list_supervision(event=event, actor=crew.leader, listed=True)
    assert event.listed_supervision
    # A second click writes no second row.
    _refused(ValidationError, lambda: services.event_list_supervision(event=event, actor=crew.leader, listed=True))
    event = services.event_list_supervision(event=event, actor=crew.leader, listed=False)
    assert not event.listed_supervision


@pytest.mark.django_db
def test_a_leader_of_another_district_cannot_list(crew, persona):
    elsewhere = persona(Role.LEADER, unit=crew.tree.street_b)
    event = bring_to(crew, S.IN_PROGRESS)
    _refused(Forbidden, lambda: services.event_list_supervision(event=event, actor=elsewhere, listed=True))


# Each action that needs a reason, with the state to try it from and the service call.
NOTE_REQUIRED = {
    "reject": (S.REPORTED, lambda c, e, n: services.event_reject(event=e, actor=c.operator, note=n)),
    "not_register": (S.ACCEPTED, lambda c, e, n: services.event_not_register(event=e, actor=c.operator, note=n)),
    "escalate": (S.REPORTED, lambda c, e, n: services.event_escalate(event=e, actor=c.operator, note=n)),
    "return": (S.DISPATCHED, lambda c, e, n: services.event_return(event=e, actor=c.handler, note=n)),
    "request_extension": (S.IN_PROGRESS, lambda c, e, n: services.event_request_extension(
        event=e, actor=c.handler, amount=2, unit="working_hours", note=n)),
    "refuse_extension": (S.EXTENSION_REQUESTED,
                         lambda c, e, n: services.event_refuse_extension(event=e, actor=c.operator, note=n)),
    "suspend": (S.IN_PROGRESS, lambda c, e, n: services.event_suspend(event=e, actor=c.handler, note=n)),
    "backlog": (S.IN_PROGRESS, lambda c, e, n: services.event_backlog(event=e, actor=c.operator, note=n)),
    "handle": (S.IN_PROGRESS, lambda c, e, n: services.event_handle(event=e, actor=c.handler, note=n)),
    "rework": (S.VERIFYING, lambda c, e, n: services.event_verify(event=e, actor=c.worker, passed=False, note=n)),
    "reopen": (S.CLOSED, lambda c, e, n: services.event_reopen(event=e, actor=c.operator, note=n)),
    "supervise": (S.IN_PROGRESS, lambda c, e, n: services.event_supervise(event=e, actor=c.operator, note=n,
                                                                          amount=1, unit="working_days")),
    "respond": (S.IN_PROGRESS, lambda c, e, n: services.event_respond(
        event=e, actor=c.handler, note=n,
        order=services.event_supervise(event=e, actor=c.operator, note="限期", amount=1, unit="working_days"))),
}


def test_every_action_needing_a_note_is_tested():
    assert set(NOTE_REQUIRED) == {name for name, a in ACTIONS.items() if a.note_required}


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(NOTE_REQUIRED))
@pytest.mark.parametrize("note", ["", "   "])
def test_an_action_needing_a_reason_is_refused_without_one(crew, action, note):
    state, call = NOTE_REQUIRED[action]
    event = bring_to(crew, state)
    if action == "respond":
        # The order is issued first; only the empty answer must leave nothing behind.
        order = services.event_supervise(event=event, actor=crew.operator, note="限期", amount=1, unit="working_days")
        call = lambda c, e, n: services.event_respond(event=e, actor=c.handler, note=n, order=order)  # noqa: E731
    expected = ValidationError if action == "handle" else WorkflowError  # handle checks its form field first
    with nothing_written(), pytest.raises(expected) as refused:
        call(crew, event, note)
    if expected is WorkflowError:
        assert type(refused.value) is WorkflowError and refused.value.status == 400
        assert "needs a reason" in refused.value.message
    assert Event.objects.get(pk=event.pk).state == state


# --- Bad input -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_without_a_category_is_refused(crew):
    event, _ = services.event_report(channel=Channel.CITIZEN, title="不知道算什么", lon=crew.inside[0],
                                     lat=crew.inside[1])
    event = services.event_accept(event=event, actor=crew.operator)
    refused = _refused(ValidationError, lambda: services.event_register(event=event, actor=crew.operator))
    assert "category" in refused.message_dict
    event = services.event_register(event=event, actor=crew.operator, minor=crew.manhole)
    assert (event.minor, event.urgency, event.step) == (crew.manhole, "urgent", "dispatch")


@pytest.mark.django_db
def test_dispatch_with_no_route_and_no_department_is_refused(crew):
    orphan = MinorClass.objects.create(major=crew.rubbish.major, code="77", name="其他", limit_amount=1,
                                       limit_unit="working_days")
    event = bring_to(crew, S.REGISTERED, minor=orphan)
    refused = _refused(ValidationError, lambda: services.event_dispatch(event=event, actor=crew.operator))
    assert "department" in refused.message_dict
    event = services.event_dispatch(event=event, actor=crew.operator, department=crew.tree.office_b)
    assert event.department == crew.tree.office_b


@pytest.mark.django_db
def test_dispatch_follows_the_most_specific_routing_rule_and_the_operator_overrides_it(crew):
    street_team = DepartmentFactory(name="甲街道城管中队", unit=crew.tree.street_a)
    RoutingRule.objects.create(unit=crew.tree.district, major=crew.rubbish.major, department=crew.tree.office_b)
    RoutingRule.objects.create(unit=crew.tree.street_a, minor=crew.rubbish, department=street_team)
    event = services.event_dispatch(event=bring_to(crew, S.REGISTERED), actor=crew.operator)
    assert event.department == street_team
    other = services.event_dispatch(event=bring_to(crew, S.REGISTERED), actor=crew.operator,
                                    department=crew.tree.bureau)
    assert other.department == crew.tree.bureau


@pytest.mark.django_db
def test_dispatch_to_an_inactive_department_is_refused(crew):
    crew.tree.office_b.is_active = False
    crew.tree.office_b.save()
    event = bring_to(crew, S.REGISTERED)
    refused = _refused(ValidationError, lambda: services.event_dispatch(event=event, actor=crew.operator,
                                                                          department=crew.tree.office_b))
    assert "department" in refused.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["street_b", "district", "community_b"])
def test_delegate_outside_the_branch_is_refused(crew, where):
    """The district may hand a street A case to street A (or its community), not to street B, not to itself."""
    event = services.event_escalate(event=report(crew), actor=crew.operator, note="需区级协调")
    refused = _refused(ValidationError, lambda: services.event_delegate(event=event, actor=crew.dispatcher,
                                                                          to_unit=getattr(crew.tree, where)))
    assert "to_unit" in refused.message_dict


@pytest.mark.django_db
def test_escalate_from_the_top_is_refused(crew, persona):
    city = crew.tree.district.parent
    city_centre = persona(Role.DISTRICT_DISPATCHER, unit=city)
    event = services.event_escalate(event=report(crew), actor=crew.operator, note="需区级协调")
    event = services.event_escalate(event=event, actor=crew.dispatcher, note="需市级协调")
    assert event.owner_unit == city
    refused = _refused(ValidationError, lambda: services.event_escalate(event=event, actor=city_centre, note="再上报"))
    assert "already run by the highest level" in " ".join(refused.messages)
    assert refused.message_dict  # a message dict, as every service error


@pytest.mark.django_db
def test_edit_corrects_details_and_refuses_bad_values(crew):
    event = bring_to(crew, S.REGISTERED)
    for changes, key in [({"number": "X"}, "__all__"), ({"title": ""}, "title"), ({"urgency": "panic"}, "urgency"),
                         ({"minor": None}, "category")]:
        refused = _refused(ValidationError, lambda: services.event_edit(event=event, actor=crew.operator,
                                                                          **changes))
        assert key in refused.message_dict
    event = services.event_edit(event=event, actor=crew.operator, minor=crew.manhole, urgency="urgent",
                                title="井盖丢失", unit=crew.tree.community_a)
    assert (event.minor, event.urgency, event.title, event.track) == (crew.manhole, "urgent", "井盖丢失", "general")
    assert event.history.last().action == "edit"


# --- Stale forms -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stale_form_is_refused_naming_who_changed_the_case(crew):
    event = report(crew)
    seen = event.version
    services.event_accept(event=event, actor=crew.dispatcher, expected_version=seen)
    with nothing_written(), pytest.raises(Conflict) as refused:
        services.event_accept(event=event, actor=crew.operator, expected_version=seen)
    assert refused.value.status == 409
    assert crew.dispatcher.full_name in refused.value.message and "Accept" in refused.value.message
    with nothing_written(), pytest.raises(Conflict):
        services.event_reject(event=event, actor=crew.operator, note="无效", expected_version=seen)
    # With the version it now has, the operator goes on.
    fresh = Event.objects.get(pk=event.pk)
    assert services.event_register(event=fresh, actor=crew.operator, expected_version=fresh.version).version == 2


@pytest.mark.django_db
def test_a_stale_form_after_the_platform_acted_names_the_platform(crew):
    crew.rubbish.auto_dispatch = True
    crew.rubbish.save()
    event = report(crew)
    with pytest.raises(Conflict) as refused:
        services.event_dispatch(event=event, actor=crew.operator, expected_version=0)
    assert "Automatic dispatch" in refused.value.message


# --- Escalation, delegation, summons, co-handling, returns -----------------------------------------


@pytest.mark.django_db
def test_escalate_hands_the_case_to_the_district_and_delegate_hands_it_back(crew):
    event = report(crew)
    event = services.event_escalate(event=event, actor=crew.operator, note="需区级协调")
    assert (event.owner_unit, event.owner_path) == (crew.tree.district, crew.tree.district.path)
    assert event.history.last().data == {"to": crew.tree.district.name}
    # The street no longer runs it; the district does.
    _refused(Forbidden, lambda: services.event_accept(event=event, actor=crew.operator))
    event = services.event_delegate(event=event, actor=crew.dispatcher, to_unit=crew.tree.street_a)
    assert (event.owner_unit, event.owner_path) == (crew.tree.street_a, crew.tree.street_a.path)
    assert services.event_accept(event=event, actor=crew.operator).state == S.ACCEPTED


@pytest.mark.django_db
def test_summons_call_each_department_to_sign_and_they_co_sign(crew, persona):
    water = DepartmentFactory(name="水务局", unit=crew.tree.district)
    water_handler = persona(Role.DEPARTMENT_HANDLER, department=water)
    event = bring_to(crew, S.IN_PROGRESS)
    event = services.event_summon(event=event, actor=crew.operator, departments=[crew.tree.office_b, water,
                                                                                 crew.tree.office_b],
                                  note="联合整治")
    summoned = {a.department: a for a in event.assignments.filter(role="summoned")}
    assert set(summoned) == {crew.tree.office_b, water}  # each once, though named twice
    assert all(a.status == "pending" and a.sign_due_at for a in summoned.values())
    assert event.state == S.IN_PROGRESS and event.step == "handle"  # the case's own clock runs on

    # Only a handler of the summoned department signs for it.
    refused = _refused(ValidationError, lambda: services.event_co_sign(event=event, actor=crew.handler_b,
                                                                         department=water))
    assert "department" in refused.message_dict
    event = services.event_co_sign(event=event, actor=crew.handler_b, department=crew.tree.office_b)
    signed = event.assignments.get(department=crew.tree.office_b)
    assert (signed.status, signed.signed_by) == ("signed", crew.handler_b) and signed.signed_at
    assert event.history.last().data == {"department": crew.tree.office_b.name}
    # Signed once; a second time there is nothing left to sign.
    _refused(Forbidden, lambda: services.event_co_sign(event=event, actor=crew.handler_b,
                                                       department=crew.tree.office_b))
    services.event_co_sign(event=event, actor=water_handler, department=water)
    assert set(event.assignments.filter(role="summoned").values_list("status", flat=True)) == {"signed"}


@pytest.mark.django_db
def test_the_lead_cannot_co_sign_its_own_assignment(crew):
    event = bring_to(crew, S.DISPATCHED)
    _refused(Forbidden, lambda: services.event_co_sign(event=event, actor=crew.handler, department=crew.tree.bureau))
    assert event.assignments.get(role="lead").status == "pending"


@pytest.mark.django_db
def test_a_summoned_department_can_then_be_dispatched_as_the_lead(crew):
    event = bring_to(crew, S.REGISTERED)
    services.event_summon(event=event, actor=crew.operator, departments=[crew.tree.office_b], note="先到场")
    event = services.event_dispatch(event=event, actor=crew.operator, department=crew.tree.office_b,
                                    co_departments=[crew.tree.bureau, crew.tree.bureau])
    open_rows = set(event.assignments.filter(status="pending").values_list("department", "role"))
    assert open_rows == {(crew.tree.office_b.pk, "lead"), (crew.tree.bureau.pk, "co")}
    assert services.event_sign(event=event, actor=crew.handler_b).state == S.SIGNED


@pytest.mark.django_db
def test_co_handling_departments_are_assigned_and_co_sign(crew):
    event = services.event_dispatch(event=bring_to(crew, S.REGISTERED), actor=crew.operator,
                                    co_departments=[crew.tree.office_b])
    co = event.assignments.get(role="co")
    assert (co.department, co.status, co.sign_due_at) == (crew.tree.office_b, "pending", event.step_due_at)
    services.event_co_sign(event=event, actor=crew.handler_b, department=crew.tree.office_b)
    assert event.assignments.get(role="co").status == "signed"
    assert event.state == S.DISPATCHED  # the lead still has to sign


@pytest.mark.django_db
def test_return_clears_the_lead_and_the_centre_dispatches_elsewhere(crew):
    event = bring_to(crew, S.DISPATCHED)
    event = services.event_return(event=event, actor=crew.handler, note="属于乙街道辖区")
    assert event.state == S.RETURNED and event.department is None and event.step == "dispatch"
    returned = event.assignments.get(department=crew.tree.bureau)
    assert (returned.status, returned.note) == ("returned", "属于乙街道辖区")
    event = services.event_dispatch(event=event, actor=crew.operator, department=crew.tree.office_b)
    assert event.state == S.DISPATCHED and event.department == crew.tree.office_b
    assert event.assignments.get(department=crew.tree.bureau).status == "returned"
    assert event.assignments.get(department=crew.tree.office_b, role="lead").status == "pending"
    _refused(Forbidden, lambda: services.event_sign(event=event, actor=crew.handler))
    event = services.event_sign(event=event, actor=crew.handler_b)
    assert event.assignments.get(department=crew.tree.office_b).signed_by == crew.handler_b


@pytest.mark.django_db
def test_handling_and_rework_follow_the_lead_assignment(crew):
    event = bring_to(crew, S.VERIFYING)
    assert event.assignments.get(role="lead").status == "done"
    event = services.event_verify(event=event, actor=crew.worker, passed=False, note="还有残留",
                                  photos=[photo()])
    assert event.rework_count == 1 and event.assignments.get(role="lead").status == "signed"
    assert event.attachments.filter(stage=Stage.VERIFY).count() == 1
    event = services.event_handle(event=event, actor=crew.handler, note="再次清理")
    event = services.event_verify(event=event, actor=crew.worker, passed=True)
    event = services.event_reopen(event=event, actor=crew.operator, note="群众反映仍有垃圾")
    assert (event.state, event.rework_count, event.closed_at) == (S.REWORK, 2, None)


@pytest.mark.django_db
def test_a_stale_copy_does_not_lose_a_rework(crew):
    event = bring_to(crew, S.VERIFYING)
    stale = Event.objects.get(pk=event.pk)
    event = services.event_verify(event=event, actor=crew.worker, passed=False, note="还有残留")
    event = services.event_handle(event=event, actor=crew.handler, note="再次清理")
    stale.state = S.VERIFYING  # a caller's old copy: rework_count 0
    event = services.event_verify(event=stale, actor=crew.worker, passed=False, note="仍有残留")
    assert event.rework_count == 2


@pytest.mark.django_db
def test_supervision_orders_and_answers(crew):
    event = bring_to(crew, S.IN_PROGRESS)
    reminder = services.event_remind(event=event, actor=crew.operator, note="请加快")
    assert (reminder.kind, reminder.department, reminder.issued_by) == ("reminder", crew.tree.bureau, crew.operator)
    order = services.event_supervise(event=event, actor=crew.leader, note="两日内办结", amount=2, unit="working_days")
    assert order.kind == "order" and order.due_at
    refused = _refused(ValidationError, lambda: services.event_supervise(event=event, actor=crew.operator,
                                                                           note="x", amount=0, unit="days"))
    assert "amount" in refused.message_dict
    _refused(Forbidden, lambda: services.event_respond(event=event, actor=crew.handler_b, order=order, note="收到"))
    answered = services.event_respond(event=event, actor=crew.handler, order=order, note="已安排")
    assert answered.responded_at and answered.response == "已安排"
    refused = _refused(ValidationError, lambda: services.event_respond(event=event, actor=crew.handler,
                                                                         order=order, note="再答"))
    assert "order" in refused.message_dict


# --- Call-back and the citizen's rating ------------------------------------------------------------


@pytest.mark.django_db
def test_the_citizen_rates_a_closed_case_once(crew):
    event = bring_to(crew, S.CLOSED)
    event = services.event_rate_by_citizen(event=event, satisfaction="basically")
    assert event.state == S.EVALUATED and event.satisfaction == "basically"
    row = event.history.last()
    assert (row.action, row.actor, row.actor_label) == ("evaluate", None, "Reporter (receipt code)")
    # Rated without a comment; a second rating is still refused.
    with nothing_written(), pytest.raises(WorkflowError, match="already been rated"):
        services.event_rate_by_citizen(event=event, satisfaction="dissatisfied", comment="其实没修好")
    assert Event.objects.get(pk=event.pk).satisfaction == "basically"


@pytest.mark.django_db
def test_the_citizen_rates_after_the_call_back_once(crew):
    event = bring_to(crew, S.EVALUATED)
    event = services.event_rate_by_citizen(event=event, satisfaction="satisfied", comment="很及时")
    assert (event.satisfaction, event.rating_comment, event.history.last().action) == ("satisfied", "很及时", "rate")
    with nothing_written(), pytest.raises(WorkflowError):
        services.event_rate_by_citizen(event=event, satisfaction="satisfied")


@pytest.mark.django_db
@pytest.mark.parametrize("state", [S.REPORTED, S.IN_PROGRESS, S.VERIFYING, S.INVALID])
def test_the_citizen_cannot_rate_before_the_case_is_closed(crew, state):
    event = bring_to(crew, state)
    with nothing_written(), pytest.raises(WorkflowError, match="once it is closed"):
        services.event_rate_by_citizen(event=event, satisfaction="satisfied")


@pytest.mark.django_db
def test_a_rating_must_be_one_of_the_three(crew):
    event = bring_to(crew, S.CLOSED)
    with nothing_written(), pytest.raises(ValidationError):
        services.event_rate_by_citizen(event=event, satisfaction="meh")
    with nothing_written(), pytest.raises(ValidationError):
        services.event_callback(event=event, actor=crew.operator, contacted=True, solved=True, satisfaction="meh")


@pytest.mark.django_db
def test_the_call_back_is_recorded(crew):
    event = bring_to(crew, S.CLOSED)
    event = services.event_callback(event=event, actor=crew.operator, contacted=True, solved=False,
                                    satisfaction="dissatisfied", note="群众不满意")
    assert (event.state, event.callback_contacted, event.callback_solved, event.satisfaction) == (
        S.EVALUATED, True, False, "dissatisfied")
    assert event.step == "" and event.step_due_at is None
    # A dissatisfied rating can reopen the case.
    assert services.event_reopen(event=event, actor=crew.operator, note="重新办理").state == S.REWORK


@pytest.mark.django_db
def test_approving_without_a_request_is_refused(crew):
    event = bring_to(crew, S.IN_PROGRESS)
    with nothing_written(), pytest.raises(NotAllowed):
        services.event_approve_extension(event=event, actor=crew.operator)


@pytest.mark.django_db
@pytest.mark.parametrize("amount,unit", [(0, "working_hours"), ("x", "working_days"), (2, "minutes"),
                                         (2, "fortnights")])
def test_an_extension_needs_a_sensible_length(crew, amount, unit):
    event = bring_to(crew, S.IN_PROGRESS)
    with nothing_written(), pytest.raises(ValidationError):
        services.event_request_extension(event=event, actor=crew.handler, amount=amount, unit=unit, note="需要时间")


@pytest.mark.django_db
def test_actions_after_a_transition_see_the_new_state(crew):
    """The services return the locked, updated row; chaining them needs no reload."""
    event = report(crew)
    for name in ("accept", "register", "dispatch"):
        event = getattr(services, f"event_{name}")(event=event, actor=crew.operator,
                                                   expected_version=event.version)
    assert event.state == S.DISPATCHED and event.version == 3
    assert workflow.actions_for(crew.handler, event)
