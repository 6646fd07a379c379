"""Who is told what after each step of a case (the follow-up of a history row).

Every ``Transition`` row is followed up once: ``follow_up`` claims the row by setting
``followed_up_at`` and writes the notifications in the same transaction, so a task sent twice (a
retry, the re-send after a broker outage) tells nobody twice, and a follow-up that failed leaves the
row unclaimed for ``dispatch.tasks.follow_ups_resend``.

People are found by role: the *staff* of a unit are the active command roles held in that very unit
(its command centre); the *handlers* of a department its active department handlers. The person who
acted is never told of his own action.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from dispatch import clock
from dispatch.journal import JOURNAL
from dispatch.models import Assignment, Event, Reporter, State, SupervisionOrder, Transition, Urgency
from dispatch.selectors import events_visible_to, with_list_relations
from dispatch.workflow import WITH_DEPARTMENT
from governance.api import webhooks
from governance.models import RoleAssignment, User
from governance.notifications import Message, notify_many
from governance.roles import COMMAND_ROLES, Role


class Directory:
    """Staff of units and handlers of departments, looked up once per id (``load`` batches them)."""

    def __init__(self) -> None:
        self._staff: dict[int, list[User]] = {}
        self._handlers: dict[int, list[User]] = {}

    def load(self, *, units: Iterable[int] = (), departments: Iterable[int] = ()) -> None:
        units = {u for u in units if u is not None and u not in self._staff}
        departments = {d for d in departments if d is not None and d not in self._handlers}
        if not (units or departments):
            return
        active = RoleAssignment.objects.active().filter(user__is_active=True).select_related("user")
        if units:
            for unit_id in units:
                self._staff[unit_id] = []
            for row in active.filter(unit_id__in=units, role__in=COMMAND_ROLES).order_by("pk"):
                self._staff[row.unit_id].append(row.user)
        if departments:
            for department_id in departments:
                self._handlers[department_id] = []
            for row in active.filter(department_id__in=departments, role=Role.DEPARTMENT_HANDLER).order_by("pk"):
                self._handlers[row.department_id].append(row.user)

    def staff(self, unit_id: int | None) -> list[User]:
        if unit_id is None:
            return []
        self.load(units=[unit_id])
        return self._staff[unit_id]

    def handlers(self, *department_ids: int | None) -> list[User]:
        self.load(departments=department_ids)
        return [user for d in department_ids if d is not None for user in self._handlers[d]]


def case_url(event: Event) -> str:
    url = getattr(event, "_case_url", None)
    if url is None:
        url = event._case_url = reverse("dispatch:case", args=[event.pk])
    return url


def _when(moment) -> str:
    if isinstance(moment, str):  # as stored in a history row's data
        moment = datetime.datetime.fromisoformat(moment) if moment else None
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _step(name: str) -> str:
    return str(clock.STEP_LABELS.get(name, name))


# --- One planner per action: (row, directory) -> messages ------------------------------------------

Plan = Callable[[Transition, Directory], list[Message]]


def _msg(row: Transition, recipients, title: str, body: str = "") -> Message:
    event = row.event
    text = "\n".join(part for part in (event.title, body) if part)
    return Message(recipients, title=title, body=text, url=case_url(event), kind=f"dispatch.event.{row.action}")


def _centre(row, people: Directory) -> list[User]:
    return people.staff(row.event.owner_unit_id)


def _lead_handlers_or_centre(row, people: Directory) -> list[User]:
    """Whoever must act next: the lead department while the case is with it, the verifier while it
    waits for verification, otherwise the command centre."""
    event = row.event
    if event.department_id is not None and event.state in WITH_DEPARTMENT:
        return people.handlers(event.department_id)
    if event.step == "verify" and event.verifier_id is not None and event.verifier.is_active:
        return [event.verifier]
    return _centre(row, people)


def _named_departments(row: Transition, roles: list[str], names: list[str]) -> list[int]:
    """The departments a dispatch or summons row named (by name, as the row records them)."""
    rows = Assignment.objects.filter(event_id=row.event_id, role__in=roles, department__name__in=names)
    return sorted(set(rows.values_list("department_id", flat=True)))


def _report(row, people):
    event = row.event
    if event.outside_grids:
        title = gettext("New case %(number)s lies outside every grid: route it") % {"number": event.number}
    elif event.urgency == Urgency.URGENT:
        title = gettext("New urgent case %(number)s") % {"number": event.number}
    else:
        return []
    return [_msg(row, _centre(row, people), title, event.address)]


def _dispatch(row, people):
    names = [row.data.get("department", ""), *row.data.get("co", [])]
    departments = _named_departments(row, [Assignment.Role.LEAD, Assignment.Role.CO], names)
    if not departments and row.event.department_id:
        departments = [row.event.department_id]
    title = gettext("Case %(number)s was dispatched to your department") % {"number": row.event.number}
    return [_msg(row, people.handlers(*departments), title, row.note)]


def _summon(row, people):
    departments = _named_departments(row, [Assignment.Role.SUMMONED], row.data.get("departments", []))
    title = gettext("Your department is summoned (吹哨) to case %(number)s: sign in time") % {"number": row.event.number}
    return [_msg(row, people.handlers(*departments), title, row.note)]


def _return(row, people):
    title = gettext("Case %(number)s was returned: dispatch it again") % {"number": row.event.number}
    return [_msg(row, _centre(row, people), title, row.note)]


def _send_to_verify(row, people):
    event = row.event
    if event.verifier_id is not None and event.verifier.is_active:
        recipients = [event.verifier]
    else:
        recipients = _grid_team(event) or _centre(row, people)
    title = gettext("Case %(number)s was handled: verify it") % {"number": event.number}
    handled = event.history.filter(action="handle").order_by("-at", "-pk").values_list("note", flat=True).first()
    return [_msg(row, recipients, title, handled or "")]


def _grid_team(event: Event) -> list[User]:
    if event.grid_id is None:
        return []
    from grids.selectors import teams_of  # grids imports dispatch measures; keep the cycle lazy

    return [m.user for m in teams_of([event.grid])[event.grid_id]]


def _rework(row, people):
    title = gettext("Case %(number)s needs rework") % {"number": row.event.number}
    return [_msg(row, people.handlers(row.event.department_id), title, row.note)]


def _reopen(row, people):
    title = gettext("Case %(number)s was reopened for rework") % {"number": row.event.number}
    return [_msg(row, people.handlers(row.event.department_id), title, row.note)]


def _closed(row, people):
    event = row.event
    reporters = list(Reporter.objects.filter(event=event, user__isnull=False).select_related("user"))
    told = [r.user for r in reporters if r.user.is_active and r.user_id != row.actor_id]
    Reporter.objects.filter(pk__in=[r.pk for r in reporters if r.user in told]).update(notified_at=timezone.now())
    return [
        _msg(row, told, gettext("The case you reported (%(number)s) was handled and closed") % {"number": event.number},
             row.note),
        _msg(row, _centre(row, people), gettext("Case %(number)s is closed: call the reporter back") % {
            "number": event.number}, row.note),
    ]


def _extension_requested(row, people):
    extra = row.data
    body = gettext("%(amount)s more %(unit)s requested. %(note)s") % {
        "amount": extra.get("amount", ""), "unit": _limit_unit(extra.get("unit", "")), "note": row.note}
    title = gettext("Extension requested on case %(number)s") % {"number": row.event.number}
    return [_msg(row, _centre(row, people), title, body)]


def _limit_unit(value: str) -> str:
    from dispatch.models import LIMIT_UNIT_CHOICES

    return str(dict(LIMIT_UNIT_CHOICES).get(value, value))


def _extension_answered(row, people):
    if row.action == "approve_extension":
        title = gettext("Extension approved on case %(number)s") % {"number": row.event.number}
        body = gettext("New deadline: %(due)s") % {"due": _when(row.event.handling_due_at)}
    else:
        title = gettext("Extension refused on case %(number)s") % {"number": row.event.number}
        body = row.note
    return [_msg(row, people.handlers(row.event.department_id), title, body)]


def _moved(row, people):
    if row.action == "escalate":
        title = gettext("Case %(number)s was escalated to your centre") % {"number": row.event.number}
    else:
        title = gettext("Case %(number)s was delegated to your centre") % {"number": row.event.number}
    return [_msg(row, people.staff(row.event.owner_unit_id), title, row.note)]


def _supervision(row, people):
    number = row.event.number
    if row.action == "remind":
        title = gettext("Reminder (催办) on case %(number)s") % {"number": number}
        body = row.note
    elif row.action == "supervise":
        title = gettext("Supervision order (督办) on case %(number)s") % {"number": number}
        order = SupervisionOrder.objects.filter(event_id=row.event_id, kind=SupervisionOrder.Kind.ORDER).last()
        due = _when(order.due_at) if order else ""
        body = "\n".join(p for p in (row.note, gettext("Answer by %(due)s") % {"due": due} if due else "") if p)
    else:
        title = gettext("Case %(number)s is listed for supervision (挂牌督办)") % {"number": number}
        body = row.note
    return [_msg(row, _lead_handlers_or_centre(row, people), title, body)]


def _warned_yellow(row, people):
    title = gettext("Case %(number)s: most of the time for %(step)s is used") % {
        "number": row.event.number, "step": _step(row.data.get("step", ""))}
    body = gettext("Due %(due)s") % {"due": _when(row.data.get("due"))}
    return [_msg(row, _lead_handlers_or_centre(row, people), title, body)]


def _overdue(row, people):
    number, step = row.event.number, _step(row.data.get("step", ""))
    body = gettext("Was due %(due)s") % {"due": _when(row.data.get("due"))}
    messages = [_msg(row, _lead_handlers_or_centre(row, people),
                     gettext("Case %(number)s is overdue (%(step)s)") % {"number": number, "step": step}, body)]
    supervising = row.data.get("escalated_to")
    if supervising:
        messages.append(_msg(row, people.staff(supervising),
                             gettext("Case %(number)s is overdue (%(step)s) and escalated to you for supervision")
                             % {"number": number, "step": step}, body))
    return messages


def _supervision_overdue(row, people):
    order = SupervisionOrder.objects.filter(pk=row.data.get("order")).select_related("issued_by").first()
    if order is None or order.issued_by is None:
        return []
    title = gettext("Your supervision order on case %(number)s was not answered in time") % {"number": row.event.number}
    body = gettext("It was due %(due)s") % {"due": _when(order.due_at)}
    return [_msg(row, [order.issued_by], title, body)]


def _unsigned_overdue(row, people):
    """The late department's handlers and the centre running the case."""
    title = gettext("%(department)s has not signed case %(number)s in time") % {
        "department": row.data.get("department", ""), "number": row.event.number}
    body = gettext("It was due %(due)s") % {"due": _when(row.data.get("due"))}
    return [_msg(row, people.handlers(row.data.get("department_id")) + _centre(row, people), title, body)]


PLANS: dict[str, Plan] = {
    "report": _report,
    "dispatch": _dispatch,
    "summon": _summon,
    "return": _return,
    # ``handle`` is always followed by ``send_to_verify`` in the same transaction; that row tells the verifier.
    "send_to_verify": _send_to_verify,
    "rework": _rework,
    "reopen": _reopen,
    "verify_pass": _closed,
    "request_extension": _extension_requested,
    "approve_extension": _extension_answered,
    "refuse_extension": _extension_answered,
    "escalate": _moved,
    "delegate": _moved,
    "remind": _supervision,
    "supervise": _supervision,
    "list_supervision": _supervision,
    "warned_yellow": _warned_yellow,
    "overdue": _overdue,
    "supervision_overdue": _supervision_overdue,
    "unsigned_overdue": _unsigned_overdue,
}


def follow_up(transition_id: int) -> int:
    """Tell the people concerned by one history row; returns the number of inbox rows written
    (0 if the row is gone or was already followed up)."""
    return follow_up_many([transition_id])


def follow_up_many(transition_ids: Iterable[int]) -> int:
    """Follow up several rows at once (the sweep's warnings), with one look-up per unit and department."""
    ids = list(transition_ids)
    if not ids:
        return 0
    with transaction.atomic():
        # The claim: only rows still unclaimed are taken; a second task for the same row (or a
        # concurrent one, which waits on the row lock and then finds it set) takes nothing.
        claimable = list(
            Transition.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(pk__in=ids, followed_up_at__isnull=True).values_list("pk", flat=True)
        )
        if not claimable:
            return 0
        Transition.objects.filter(pk__in=claimable, followed_up_at__isnull=True).update(followed_up_at=timezone.now())
        steps = list(Transition.objects.filter(pk__in=claimable).values_list("event_id", "action", "from_state",
                                                                             "to_state", "at"))
        webhooks.emit_many(source=JOURNAL, events=webhook_events(steps), at=max(step[-1] for step in steps))
        rows = list(
            Transition.objects.filter(pk__in=claimable, action__in=PLANS)
            .select_related("event", "event__verifier").order_by("at", "pk")
        )
        people = Directory()
        people.load(units={r.event.owner_unit_id for r in rows} | {r.data.get("escalated_to") for r in rows},
                    departments={r.event.department_id for r in rows})
        messages: list[Message] = []
        for row in rows:
            for message in PLANS[row.action](row, people):
                message.recipients = [u for u in message.recipients if u.pk != row.actor_id]
                messages.append(message)
        return len(notify_many(messages))


# --- Webhooks of API clients (governance.api.webhooks) -------------------------------------------

WEBHOOK_ACTIONS = {"report": "case.created", "merge": "case.merged", "overdue": "case.overdue"}
WEBHOOK_ARRIVALS = {State.DISPATCHED: "case.dispatched", State.HANDLED: "case.handled", State.CLOSED: "case.closed"}


def webhook_events(rows: Iterable[tuple]) -> dict[str, list[int]]:
    """Case ids per webhook event type, from history rows (event_id, action, from_state, to_state, …):
    every row is a change; some actions and arrivals in a state are events of their own."""
    events: dict[str, list[int]] = {}
    for event_id, action, from_state, to_state, *_rest in rows:
        kinds = ["case.changed", WEBHOOK_ACTIONS.get(action)]
        if to_state != from_state:
            kinds.append(WEBHOOK_ARRIVALS.get(to_state))
        for kind in filter(None, kinds):
            events.setdefault(kind, []).append(event_id)
    return events


def webhook_cases(account, ids: list[int]) -> dict[int, dict]:
    """The cases among ``ids`` that ``account`` may see, as GET /api/v1/dispatch/events/ lists them."""
    from dispatch.api.serializers import EventListOutputSerializer  # it imports (via display, sweep) this module

    cases = with_list_relations(events_visible_to(account).filter(pk__in=ids))
    return {case.pk: EventListOutputSerializer(case).data for case in cases}


webhooks.register_source(JOURNAL, webhook_cases)
