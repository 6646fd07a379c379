"""The case workflow: every action, the states it may start from, where it leads and who may take it.

``transition`` is the only code that writes ``Event.state``. It locks the row, refuses a stale
form (``expected_version``), refuses an action the state does not allow (naming the ones it does),
checks who is acting, restarts the step clock, and writes the history row and the audit row.
Services call it and add their own writes inside the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy as _

from dispatch import clock
from dispatch.journal import journal_events
from dispatch.models import OPEN_STATES, Event, State, Transition
from dispatch.permissions import Who, may_act
from governance.audit import audit_log
from governance.errors import DomainError
from governance.queue import enqueue_on_commit

S = State


@dataclass(frozen=True)
class Action:
    name: str
    label: Promise
    sources: frozenset[str]
    target: str | None  # None: the state does not change
    who: frozenset[str]
    note_required: bool = False
    restarts_clock: bool = True  # only used when target is None


FINISHED_STATES = frozenset({S.CLOSED, S.EVALUATED})
DEAD_STATES = frozenset({S.INVALID, S.NOT_REGISTERED, S.MERGED})
BEFORE_DISPATCH = frozenset({S.REPORTED, S.ACCEPTED, S.REGISTERED, S.RETURNED})
AT_WORK = frozenset({S.SIGNED, S.IN_PROGRESS, S.REWORK})
WITH_DEPARTMENT = frozenset({S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.EXTENSION_REQUESTED, S.SUSPENDED, S.REWORK})


def _a(name, label, sources, target, who, **kw) -> Action:
    return Action(name, label, frozenset(sources), target, frozenset(who), **kw)


CENTRE, HANDLER, ASSIGNEE, VERIFIER, SUPERVISOR, LEADER, REPORTER, CITIZEN, SYSTEM = (
    Who.CENTRE, Who.HANDLER, Who.ASSIGNEE, Who.VERIFIER, Who.SUPERVISOR, Who.LEADER, Who.REPORTER, Who.CITIZEN,
    Who.SYSTEM,
)

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in [
        # Intake and registration (受理, 立案) by the command centre that owns the case.
        _a("accept", _("Accept"), {S.REPORTED}, S.ACCEPTED, {CENTRE, SYSTEM}),
        _a("reject", _("Mark invalid"), {S.REPORTED}, S.INVALID, {CENTRE}, note_required=True),
        _a("register", _("Register"), {S.ACCEPTED}, S.REGISTERED, {CENTRE, SYSTEM}),
        _a("not_register", _("Do not register"), {S.ACCEPTED}, S.NOT_REGISTERED, {CENTRE}, note_required=True),
        _a("merge", _("Merge as duplicate"), {S.REPORTED, S.ACCEPTED}, S.MERGED, {CENTRE}),
        _a("edit", _("Correct details"), BEFORE_DISPATCH, None, {CENTRE}, restarts_clock=False),
        _a("absorb", _("Duplicate merged in"), OPEN_STATES | FINISHED_STATES, None, {CENTRE}, restarts_clock=False),
        _a("escalate", _("Escalate to the level above"), BEFORE_DISPATCH, None, {CENTRE}, note_required=True),
        _a("delegate", _("Delegate to the level below"), BEFORE_DISPATCH, None, {CENTRE}),
        # Routing (派遣) and the department's answer.
        _a("dispatch", _("Dispatch"), {S.REGISTERED, S.RETURNED}, S.DISPATCHED, {CENTRE, SYSTEM}),
        _a("sign", _("Sign for it"), {S.DISPATCHED}, S.SIGNED, {HANDLER}),
        _a("return", _("Return (not our remit)"), {S.DISPATCHED}, S.RETURNED, {HANDLER}, note_required=True),
        _a("start", _("Start handling"), {S.SIGNED}, S.IN_PROGRESS, {HANDLER}),
        _a("summon", _("Summon departments (吹哨)"), OPEN_STATES - {S.HANDLED, S.VERIFYING}, None, {CENTRE},
           restarts_clock=False),
        _a("co_sign", _("Sign as co-handler"), OPEN_STATES, None, {ASSIGNEE}, restarts_clock=False),
        # Handling.
        _a("request_extension", _("Request an extension"), AT_WORK, S.EXTENSION_REQUESTED, {HANDLER},
           note_required=True),
        _a("approve_extension", _("Approve the extension"), {S.EXTENSION_REQUESTED}, S.IN_PROGRESS, {CENTRE}),
        _a("refuse_extension", _("Refuse the extension"), {S.EXTENSION_REQUESTED}, S.IN_PROGRESS, {CENTRE},
           note_required=True),
        _a("suspend", _("Suspend"), AT_WORK, S.SUSPENDED, {HANDLER, CENTRE}, note_required=True),
        _a("resume", _("Resume"), {S.SUSPENDED}, S.IN_PROGRESS, {HANDLER, CENTRE}),
        _a("backlog", _("Put on the backlog list (挂账)"), {S.IN_PROGRESS, S.EXTENSION_REQUESTED, S.REWORK},
           S.BACKLOG, {CENTRE}, note_required=True),
        _a("reactivate", _("Take off the backlog list"), {S.BACKLOG}, S.IN_PROGRESS, {CENTRE}),
        _a("handle", _("Report as handled"), AT_WORK, S.HANDLED, {HANDLER}, note_required=True),
        # Verification (核查) and closing.
        _a("send_to_verify", _("Send for verification"), {S.HANDLED}, S.VERIFYING, {CENTRE, SYSTEM}),
        _a("verify_pass", _("Verified: close"), {S.VERIFYING}, S.CLOSED, {VERIFIER}),
        _a("rework", _("Verified: rework needed"), {S.VERIFYING}, S.REWORK, {VERIFIER}, note_required=True),
        _a("self_handle", _("Handled on the spot"), {S.REPORTED}, S.CLOSED, {REPORTER}),
        _a("evaluate", _("Record the call-back"), {S.CLOSED}, S.EVALUATED, {CENTRE, CITIZEN}),
        _a("rate", _("Rate"), {S.EVALUATED}, None, {CITIZEN}, restarts_clock=False),
        _a("reopen", _("Reopen for rework"), FINISHED_STATES, S.REWORK, {CENTRE}, note_required=True),
        # Supervision (催办, 督办, 挂牌督办) and the sweep's warnings.
        _a("remind", _("Send a reminder (催办)"), OPEN_STATES, None, {SUPERVISOR}, restarts_clock=False),
        _a("supervise", _("Issue a supervision order (督办)"), OPEN_STATES, None, {SUPERVISOR},
           note_required=True, restarts_clock=False),
        _a("respond", _("Answer the supervision order"), OPEN_STATES, None, {HANDLER}, note_required=True,
           restarts_clock=False),
        _a("list_supervision", _("List for supervision (挂牌督办)"), OPEN_STATES, None, {LEADER},
           restarts_clock=False),
        _a("unlist_supervision", _("Remove from listed supervision"), OPEN_STATES | FINISHED_STATES, None,
           {LEADER}, restarts_clock=False),
    ]
}


class WorkflowError(DomainError):
    """A refused action. ``status`` is the HTTP status views and the API answer with."""


class NotAllowed(WorkflowError):
    status = 409
    code = "not_allowed"


class Conflict(WorkflowError):
    status = 409
    code = "conflict"


class Forbidden(WorkflowError):
    status = 403
    code = "forbidden"


def allowed_actions(state: str) -> list[Action]:
    return [a for a in ACTIONS.values() if state in a.sources]


def actions_for(user, event: Event) -> list[Action]:
    """What ``user`` may do to ``event`` now (for buttons; ``transition`` and the services check again)."""
    return [
        a for a in allowed_actions(event.state)
        if may_act(user, a.who, event) and (a.name not in _NEEDS or _NEEDS[a.name](event))
    ]


def _has_open_order(event: Event) -> bool:
    return event.supervision.filter(kind="order", responded_at__isnull=True).exists()


# Actions offered only when the case has something for them to work on.
_NEEDS = {"respond": _has_open_order}


def transition(
    *,
    event: Event,
    action: str,
    actor,
    note: str = "",
    expected_version: int | None = None,
    update: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    actor_label: str = "",
    as_who: str | None = None,
) -> Event:
    """Apply ``action`` to ``event`` and return the locked, updated row.

    ``actor`` is the user acting, or None for the platform itself (the sweep, auto-dispatch) and
    for a citizen; then ``as_who`` must say which (``Who.SYSTEM`` or ``Who.CITIZEN``) and
    ``actor_label`` names them in the timeline. ``update`` holds other fields the action sets.
    Must run inside ``transaction.atomic``: the row lock lasts until the caller commits.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() must run inside transaction.atomic")
    act = ACTIONS[action]
    # ``of=("self",)``: lock the case row only. Without it PostgreSQL refuses the query (FOR UPDATE
    # cannot apply to the nullable side of the outer join to ``minor``) and would otherwise also lock
    # the unit and class rows every other case shares.
    locked = (
        Event.objects.select_for_update(of=("self",)).select_related("minor", "owner_unit", "unit").get(pk=event.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        # The last action someone took (the sweep's warning rows do not change the version).
        last = locked.history.filter(action__in=list(ACTIONS)).order_by("-at", "-pk").first()
        # str(user) is the full name people are known by (AbstractUser.get_full_name reads the unused
        # first/last name fields and would give the login name).
        who = str(last.actor) if last and last.actor else (last.actor_label if last else "")
        raise Conflict(
            gettext("Someone else changed this case while you were looking at it (%(who)s: %(what)s). "
                    "Nothing was saved; look at its new state and try again.")
            % {"who": who or gettext("the platform"), "what": _action_label(last.action) if last else ""}
        )
    if locked.state not in act.sources:
        names = ", ".join(str(a.label) for a in allowed_actions(locked.state)) or gettext("none")
        raise NotAllowed(
            gettext("“%(action)s” is not possible while the case is “%(state)s”. Possible now: %(allowed)s.")
            % {"action": act.label, "state": locked.get_state_display(), "allowed": names}
        )
    who = as_who if actor is None else None
    if actor is None and who not in act.who:
        raise Forbidden(gettext("This action needs a signed-in person with the right role."))
    if actor is not None and not may_act(actor, act.who, locked):
        raise Forbidden(gettext("You may not “%(action)s” on this case.") % {"action": act.label})
    if act.note_required and not note.strip():
        raise WorkflowError(gettext("“%(action)s” needs a reason or a note.") % {"action": act.label})

    now = timezone.now()
    old_state = locked.state
    fields = set((update or {}).keys()) | {"version", "updated_at"}
    for name, value in (update or {}).items():
        setattr(locked, name, value)
    if act.target is not None:
        locked.state = act.target
        fields.add("state")
    if act.target is not None or act.restarts_clock:
        fields |= clock.start_step(locked, now, force=act.target is None)
    locked.version += 1
    locked.save(update_fields=sorted(fields))
    journal_events([locked])
    row = Transition.objects.create(
        event=locked,
        action=action,
        from_state=old_state,
        to_state=locked.state,
        actor=actor,
        actor_label=actor_label,
        note=note.strip(),
        data=data or {},
        at=now,
    )
    changes = {"state": [old_state, locked.state]} if old_state != locked.state else {}
    audit_log(actor=actor, action=f"dispatch.event.{action}", obj=locked, changes=changes,
              data={"note": note.strip(), **(data or {})})
    enqueue_on_commit("dispatch.transition_follow_up", row.pk)
    return locked


def _action_label(name: str) -> str:
    act = ACTIONS.get(name)
    return str(act.label) if act else name
