"""The clock of each step of a case, on the working calendar.

Step limits other than handling are [practice] parameters an administrator can change
(``governance.Parameter``): ``dispatch.limit.<step>`` for normal cases and
``dispatch.limit_urgent.<step>`` for urgent ones, each ``[amount, unit]``. Handling runs on the
limit of the case's minor class. The yellow warning comes at ``dispatch.yellow_share`` of the limit.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _, ngettext

from dispatch.models import Event, State, Urgency
from governance.calendar import current_calendar, deadline_for
from governance.deadlines import Deadline, LimitUnit, TimeLimit, share_reached_at  # noqa: F401 (Deadline re-exported)
from governance.params import get_param

S = State
logger = logging.getLogger(__name__)

# state → step; a state missing here has no clock (evaluated, dead, on the backlog). A suspended
# case keeps its handling clock, stopped: ``paused_at`` is set, the sweep skips it, and resuming
# moves the due instant on by the working time paused. A case handled on the spot has no call-back.
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
    default = table.get(step, DEFAULT_LIMITS["dispatch"])
    value = get_param(key, list(default))
    try:
        amount, unit = value
        limit = TimeLimit(int(amount), unit)
    except (TypeError, ValueError):
        # A mistyped parameter must not stop every case from moving; the default applies and the
        # log says which key to correct.
        logger.warning("parameter %s=%r is not [amount, unit]; using %r", key, value, default)
        limit = TimeLimit(*default)
    return StepLimit(limit, key)


def yellow_share() -> float:
    """The share of a limit used when the yellow warning comes, in (0, 1].

    Administrators may enter it as a fraction (0.8) or as a percentage (80). Anything else falls
    back to the default: the deadline engine refuses shares outside (0, 1], and that would stop
    every transition.
    """
    value = get_param("dispatch.yellow_share", DEFAULT_YELLOW_SHARE)
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = -1.0
    if 1 < share <= 100:
        share /= 100
    if not 0 < share <= 1:
        logger.warning("parameter dispatch.yellow_share=%r is not a share; using %s", value, DEFAULT_YELLOW_SHARE)
        return DEFAULT_YELLOW_SHARE
    return share


def step_of(event: Event) -> str:
    """The step the case's state is in ("" when no clock runs)."""
    if event.state == S.CLOSED and event.self_handled:
        return ""  # handled on the spot by the reporter himself: nobody to call back
    return STEP_OF_STATE.get(event.state, "")


def start_step(event: Event, now: datetime.datetime, *, force: bool = False) -> set[str]:
    """Start the clock of the step the case's state is in, unless it is already running.

    Returns the fields changed. Call while holding the row lock (``workflow.transition`` does).
    """
    step = step_of(event)
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
    """“4 working hours”, translated and in the right number."""
    n = limit.amount
    words = {
        LimitUnit.MINUTES: ngettext("%(n)d minute", "%(n)d minutes", n),
        LimitUnit.HOURS: ngettext("%(n)d hour", "%(n)d hours", n),
        LimitUnit.DAYS: ngettext("%(n)d calendar day", "%(n)d calendar days", n),
        LimitUnit.WORKING_HOURS: ngettext("%(n)d working hour", "%(n)d working hours", n),
        LimitUnit.WORKING_DAYS: ngettext("%(n)d working day", "%(n)d working days", n),
    }
    return words[limit.unit] % {"n": n}
