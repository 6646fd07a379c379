"""The clock of each step of a case, on the working calendar.

Step limits other than handling are [practice] parameters an administrator can change
(``governance.Parameter``): ``dispatch.limit.<step>`` for normal cases and
``dispatch.limit_urgent.<step>`` for urgent ones, each ``[amount, unit]``. Handling runs on the
limit of the case's minor class. The yellow warning comes at ``dispatch.yellow_share`` of the limit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from dispatch.models import LIMIT_UNIT_CHOICES, Event, State, Urgency
from governance.calendar import current_calendar, deadline_for
from governance.deadlines import Deadline, LimitUnit, TimeLimit, share_reached_at  # noqa: F401 (Deadline re-exported)
from governance.params import get_param

S = State

# state → step; a state missing here has no clock (finished, dead, suspended, on the backlog).
STEP_OF_STATE: dict[str, str] = {
    S.REPORTED: "accept",
    S.ACCEPTED: "register",
    S.REGISTERED: "dispatch",
    S.RETURNED: "dispatch",
    S.DISPATCHED: "sign",
    S.SIGNED: "handle",
    S.IN_PROGRESS: "handle",
    S.EXTENSION_REQUESTED: "handle",
    S.SUSPENDED: "handle",
    S.REWORK: "handle",
    S.HANDLED: "verify",
    S.VERIFYING: "verify",
    S.CLOSED: "callback",
}
STEP_LABELS = {
    "accept": _("Acceptance"),
    "register": _("Registration"),
    "dispatch": _("Dispatch"),
    "sign": _("Signing"),
    "handle": _("Handling"),
    "verify": _("Verification"),
    "callback": _("Call-back"),
}
# [std]/[practice] defaults from the domain rules (dispatch.md, "Time limits").
DEFAULT_LIMITS: dict[str, tuple[int, str]] = {
    "accept": (1, LimitUnit.WORKING_HOURS.value),
    "register": (1, LimitUnit.WORKING_HOURS.value),
    "dispatch": (1, LimitUnit.WORKING_HOURS.value),
    "sign": (1, LimitUnit.WORKING_HOURS.value),
    "verify": (1, LimitUnit.WORKING_HOURS.value),
    "callback": (2, LimitUnit.WORKING_DAYS.value),
}
DEFAULT_URGENT_LIMITS: dict[str, tuple[int, str]] = {
    "accept": (10, LimitUnit.MINUTES.value),
    "register": (10, LimitUnit.MINUTES.value),
    "dispatch": (10, LimitUnit.MINUTES.value),
    "sign": (30, LimitUnit.MINUTES.value),
    "verify": (1, LimitUnit.HOURS.value),
    "callback": (1, LimitUnit.WORKING_DAYS.value),
}
DEFAULT_YELLOW_SHARE = 0.8


@dataclass(frozen=True)
class StepLimit:
    limit: TimeLimit
    source: str  # where the limit comes from, shown beside the deadline


def step_limit(event: Event, step: str) -> StepLimit:
    if step == "handle" and event.minor_id:
        minor = event.minor
        return StepLimit(TimeLimit(minor.limit_amount, minor.limit_unit), f"{minor.full_code} {minor.name}")
    urgent = event.urgency == Urgency.URGENT
    key = f"dispatch.limit_urgent.{step}" if urgent else f"dispatch.limit.{step}"
    table = DEFAULT_URGENT_LIMITS if urgent else DEFAULT_LIMITS
    amount, unit = get_param(key, list(table.get(step, DEFAULT_LIMITS["dispatch"])))
    return StepLimit(TimeLimit(int(amount), unit), key)


def yellow_share() -> float:
    return float(get_param("dispatch.yellow_share", DEFAULT_YELLOW_SHARE))


def start_step(event: Event, now: datetime.datetime, *, force: bool = False) -> set[str]:
    """Start the clock of the step the case's state is in, unless it is already running.

    Returns the fields changed. Call while holding the row lock (``workflow.transition`` does).
    """
    step = STEP_OF_STATE.get(event.state, "")
    if step == event.step and not force:
        return set()
    event.step = step
    event.alert = 0
    event.escalated_at = None
    fields = {"step", "step_started_at", "step_limit_amount", "step_limit_unit", "step_yellow_at", "step_due_at",
              "step_rule", "alert", "escalated_at"}
    if not step:
        event.step_started_at = event.step_limit_amount = event.step_yellow_at = event.step_due_at = None
        event.step_limit_unit = event.step_rule = ""
        return fields
    limit = step_limit(event, step)
    set_clock(event, start=now, limit=limit.limit, due=deadline_for(now, limit.limit).due, source=limit.source)
    if step == "handle":
        event.handling_due_at = event.step_due_at
        fields.add("handling_due_at")
    return fields


def set_clock(event: Event, *, start, limit: TimeLimit, due, source: str) -> None:
    event.step_started_at = start
    event.step_limit_amount = limit.amount
    event.step_limit_unit = limit.unit.value
    event.step_due_at = due
    event.step_yellow_at = share_reached_at(start, due, limit.unit, yellow_share(), current_calendar())
    event.step_rule = source[:400]


def limit_label(limit: TimeLimit) -> str:
    """“4 working hours”, translated."""
    return f"{limit.amount} {dict(LIMIT_UNIT_CHOICES)[limit.unit.value]}"
