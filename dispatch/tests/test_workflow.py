"""Every action of the workflow table, through its service: from each of its source states (every
source for the main loop, representative ones for the actions open in most states) it leads to its
target, writes one history row and one audit row and bumps the version; from a state it does not
start from it is refused with the actions that are possible named, and nothing is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest
from django.db import transaction

from dispatch import services, workflow
from dispatch.models import Assignment, Event, State, SupervisionOrder, Transition
from dispatch.permissions import Who
from dispatch.tests.flow import bring_to, photo, report
from dispatch.workflow import ACTIONS, NotAllowed, allowed_actions
from governance.models import AuditEntry

S = State




@dataclass
class Spec:
    act: Callable  # (crew, event) -> (the case acted on, actor, note)
    sources: tuple[str, ...]
    refused_from: str
    prepare: Callable | None = None  # (crew, event) -> event; ORM set-up only, so it works in any state
    refuse: Callable | None = None  # the refused attempt, when the service checks its input before the state
    rows: tuple[str, ...] = ()  # history rows written (default: the action alone)
    final: str | None = None  # state after the service (default: the action's target, else unchanged)


def _bare(action, actor_attr=None, **kw):
    """The bare workflow transition, for the actions no service exposes on their own."""

    def run(c, e):
        actor = getattr(c, actor_attr) if actor_attr else None
        with transaction.atomic():
            return workflow.transition(event=e, action=action, actor=actor, **kw), actor, kw.get("note", "")

    return run


def _absorb(c, e):
    duplicate = report(c, title="又一堆垃圾")
    services.event_merge(event=duplicate, into=e, actor=c.operator)
    return e, c.operator, f"Duplicate {duplicate.number} merged in."


def _self_handle(c, e):
    done = services.event_self_handle(reporter=c.worker, minor=c.litter, before_photos=[photo()],
                                      after_photos=[photo(colour="green")], note="已捡拾", title="散落垃圾",
                                      lon=c.inside[0], lat=c.inside[1])
    return done, c.worker, "已捡拾"


def _summoned_b(c, e):
    Assignment.objects.create(event=e, department=c.tree.office_b, role=Assignment.Role.SUMMONED)
    return e


def _order(c, e):
    SupervisionOrder.objects.create(event=e, kind=SupervisionOrder.Kind.ORDER, department=e.department, note="限期")
    return e


def _listed(c, e):
    Event.objects.filter(pk=e.pk).update(listed_supervision=True)
    e.refresh_from_db()
    return e


def _respond(c, e):
    order = e.supervision.get()
    services.event_respond(event=e, actor=c.handler, order=order, note="已安排人员")
    return e, c.handler, "已安排人员"


def _svc(name, actor_attr, **kw):
    def run(c, e):
        actor = getattr(c, actor_attr)
        result = getattr(services, name)(event=e, actor=actor, **kw)
        return (result if isinstance(result, Event) else e), actor, kw.get("note", "")

    return run


BEFORE = (S.REPORTED, S.ACCEPTED, S.REGISTERED, S.RETURNED)
AT_WORK = (S.SIGNED, S.IN_PROGRESS, S.REWORK)

SPECS: dict[str, Spec] = {
    "accept": Spec(_svc("event_accept", "operator"), (S.REPORTED,), S.ACCEPTED),
    "reject": Spec(_svc("event_reject", "operator", note="虚假上报"), (S.REPORTED,), S.ACCEPTED),
    "register": Spec(_svc("event_register", "operator"), (S.ACCEPTED,), S.REPORTED),
    "not_register": Spec(_svc("event_not_register", "operator", note="不属于立案范围"), (S.ACCEPTED,), S.REPORTED),
    "merge": Spec(lambda c, e: (services.event_merge(event=e, into=report(c, title="原案"), actor=c.operator),
                                c.operator, ""), (S.REPORTED, S.ACCEPTED), S.REGISTERED),
    "edit": Spec(_svc("event_edit", "operator", title="更正后的标题"), BEFORE, S.DISPATCHED),
    "absorb": Spec(_absorb, (S.REPORTED, S.IN_PROGRESS, S.CLOSED, S.EVALUATED), S.INVALID,
                   refuse=_bare("absorb", "operator")),
    "escalate": Spec(_svc("event_escalate", "operator", note="需区级协调"), BEFORE, S.DISPATCHED),
    "delegate": Spec(lambda c, e: (services.event_delegate(event=e, actor=c.operator, to_unit=c.tree.community_a),
                                   c.operator, ""), BEFORE, S.DISPATCHED),
    "dispatch": Spec(_svc("event_dispatch", "operator"), (S.REGISTERED, S.RETURNED), S.ACCEPTED),
    "sign": Spec(_svc("event_sign", "handler"), (S.DISPATCHED,), S.REGISTERED),
    "return": Spec(_svc("event_return", "handler", note="非本部门职责"), (S.DISPATCHED,), S.SIGNED),
    "start": Spec(_svc("event_start", "handler"), (S.SIGNED,), S.DISPATCHED),
    "summon": Spec(lambda c, e: (services.event_summon(event=e, actor=c.operator, departments=[c.tree.office_b],
                                                       note="请乙中队到场"), c.operator, "请乙中队到场"),
                   (S.REPORTED, S.DISPATCHED, S.IN_PROGRESS, S.REWORK), S.VERIFYING),
    "co_sign": Spec(lambda c, e: (services.event_co_sign(event=e, actor=c.handler_b, department=c.tree.office_b),
                                  c.handler_b, ""), (S.DISPATCHED, S.IN_PROGRESS, S.REWORK), S.INVALID,
                    prepare=_summoned_b),
    "request_extension": Spec(_svc("event_request_extension", "handler", amount=1, unit="working_days",
                                   note="需要调用车辆"), AT_WORK, S.DISPATCHED),
    "approve_extension": Spec(_svc("event_approve_extension", "operator"), (S.EXTENSION_REQUESTED,), S.IN_PROGRESS),
    "refuse_extension": Spec(_svc("event_refuse_extension", "operator", note="可在时限内完成"),
                             (S.EXTENSION_REQUESTED,), S.IN_PROGRESS),
    "suspend": Spec(_svc("event_suspend", "handler", note="等待法院裁定"), AT_WORK, S.DISPATCHED),
    "resume": Spec(_svc("event_resume", "handler"), (S.SUSPENDED,), S.IN_PROGRESS),
    "backlog": Spec(_svc("event_backlog", "operator", note="需纳入明年计划"),
                    (S.IN_PROGRESS, S.EXTENSION_REQUESTED, S.REWORK), S.SIGNED),
    "reactivate": Spec(_svc("event_reactivate", "operator"), (S.BACKLOG,), S.IN_PROGRESS),
    "handle": Spec(_svc("event_handle", "handler", note="已清理"), AT_WORK, S.DISPATCHED,
                   rows=("handle", "send_to_verify"), final=S.VERIFYING),
    "send_to_verify": Spec(_bare("send_to_verify", as_who=Who.SYSTEM, actor_label="Platform"), (S.HANDLED,),
                           S.VERIFYING),
    "verify_pass": Spec(_svc("event_verify", "worker", passed=True), (S.VERIFYING,), S.IN_PROGRESS),
    "rework": Spec(_svc("event_verify", "worker", passed=False, note="还有残留"), (S.VERIFYING,), S.IN_PROGRESS),
    "self_handle": Spec(_self_handle, (S.REPORTED,), S.ACCEPTED, refuse=_bare("self_handle", "worker"),
                        rows=("report", "self_handle")),  # the service files the report and closes it
    "evaluate": Spec(_svc("event_callback", "operator", contacted=True, solved=True, satisfaction="basically"),
                     (S.CLOSED,), S.VERIFYING),
    "rate": Spec(lambda c, e: (services.event_rate_by_citizen(event=e, satisfaction="satisfied", comment="很好"),
                               None, "很好"), (S.EVALUATED,), S.CLOSED,
                 refuse=_bare("rate", as_who=Who.CITIZEN, actor_label="citizen")),
    "reopen": Spec(_svc("event_reopen", "operator", note="群众反映仍未解决"), (S.CLOSED, S.EVALUATED), S.IN_PROGRESS),
    "remind": Spec(_svc("event_remind", "operator", note="请加快办理"), (S.REPORTED, S.IN_PROGRESS, S.VERIFYING),
                   S.CLOSED),
    "supervise": Spec(_svc("event_supervise", "operator", note="限两个工作日内办结", amount=2, unit="working_days"),
                      (S.REPORTED, S.IN_PROGRESS, S.VERIFYING), S.CLOSED),
    "respond": Spec(_respond, (S.DISPATCHED, S.IN_PROGRESS), S.CLOSED, prepare=_order),
    "list_supervision": Spec(_svc("event_list_supervision", "leader", listed=True),
                             (S.REPORTED, S.IN_PROGRESS), S.CLOSED),
    "unlist_supervision": Spec(_svc("event_list_supervision", "leader", listed=False), (S.IN_PROGRESS, S.CLOSED),
                               S.INVALID, prepare=_listed),
}


def test_every_action_has_a_spec():
    assert set(SPECS) == set(ACTIONS)
    for name, spec in SPECS.items():
        assert set(spec.sources) <= ACTIONS[name].sources, name
        assert spec.refused_from not in ACTIONS[name].sources, name


def _cases():
    for name, spec in SPECS.items():
        for source in spec.sources:
            yield pytest.param(name, source, id=f"{name}-from-{source}")


@pytest.mark.django_db
@pytest.mark.parametrize("action,source", list(_cases()))
def test_action_leads_to_its_target_and_writes_history_and_audit(crew, action, source):
    spec, act = SPECS[action], ACTIONS[action]
    event = bring_to(crew, source)
    if spec.prepare:
        event = spec.prepare(crew, event)
    event.refresh_from_db()
    seen_rows = set(Transition.objects.values_list("pk", flat=True))
    seen_audit = set(AuditEntry.objects.values_list("pk", flat=True))
    version_before = event.version

    result, actor, note = spec.act(crew, event)

    result.refresh_from_db()
    rows = list(Transition.objects.filter(event=result).exclude(pk__in=seen_rows))
    assert [r.action for r in rows] == list(spec.rows or (action,))
    row = next(r for r in rows if r.action == action)
    assert row.from_state == source
    assert row.to_state == (act.target or source)
    assert row.actor == actor
    assert row.note == note
    assert result.state == (spec.final or act.target or source)
    audit = AuditEntry.objects.filter(action=f"dispatch.event.{action}", object_id=str(result.pk)).exclude(
        pk__in=seen_audit)
    assert audit.count() == 1
    assert audit.get().actor == actor
    if act.target and act.target != source:
        assert audit.get().changes == {"state": [source, act.target]}
    if result.pk != event.pk:
        version_before = 0  # self_handle makes a new case
    assert result.version == version_before + len([r for r in rows if r.action != "report"])


def _refusals():
    for name, spec in SPECS.items():
        yield pytest.param(name, spec.refused_from, id=f"{name}-from-{spec.refused_from}")


@pytest.mark.django_db
@pytest.mark.parametrize("action,state", list(_refusals()))
def test_action_is_refused_from_other_states_naming_the_possible_ones(crew, action, state):
    spec = SPECS[action]
    event = bring_to(crew, state)
    if spec.prepare:
        event = spec.prepare(crew, event)
    event.refresh_from_db()
    counts = (Transition.objects.count(), AuditEntry.objects.count(), Event.objects.count())

    with pytest.raises(NotAllowed) as refused:
        (spec.refuse or spec.act)(crew, event)

    assert refused.value.status == 409
    message = refused.value.message
    assert str(ACTIONS[action].label) in message
    for possible in allowed_actions(state):
        assert str(possible.label) in message
    after = Event.objects.get(pk=event.pk)
    assert (after.state, after.version) == (state, event.version)
    if spec.refuse is None and action in ("merge", "absorb"):
        counts = (counts[0] + 1, counts[1] + 1, counts[2] + 1)  # the live case the attempt merged into
    assert (Transition.objects.count(), AuditEntry.objects.count(), Event.objects.count()) == counts


@pytest.mark.django_db
def test_refusal_names_none_when_nothing_is_possible(crew):
    event = bring_to(crew, S.MERGED)
    with pytest.raises(NotAllowed) as refused:
        services.event_accept(event=event, actor=crew.operator)
    assert "Possible now: none." in refused.value.message


@pytest.mark.django_db
def test_actions_for_offers_each_person_only_their_own_buttons(crew):
    event = bring_to(crew, S.DISPATCHED)
    assert {a.name for a in workflow.actions_for(crew.handler, event)} >= {"sign", "return"}
    # Answering supervision is offered only once a supervision order is open on the case.
    assert "respond" not in {a.name for a in workflow.actions_for(crew.handler, event)}
    services.event_supervise(event=event, actor=crew.operator, note="今日办结", amount=1, unit="working_days")
    event.refresh_from_db()
    assert "respond" in {a.name for a in workflow.actions_for(crew.handler, event)}
    assert "sign" not in {a.name for a in workflow.actions_for(crew.operator, event)}
    assert {a.name for a in workflow.actions_for(crew.operator, event)} >= {"summon", "remind", "supervise"}
    assert workflow.actions_for(crew.outsider, event) == []
    assert workflow.actions_for(crew.handler_b, event) == []
    # The lead department signs with "sign"; "co_sign" is for co-handling and summoned departments.
    assert "co_sign" not in {a.name for a in workflow.actions_for(crew.handler, event)}
    services.event_summon(event=event, actor=crew.operator, departments=[crew.tree.office_b], note="到场")
    assert "co_sign" in {a.name for a in workflow.actions_for(crew.handler_b, event)}
