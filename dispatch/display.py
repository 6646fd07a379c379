"""How cases read on the queue and case pages: deadline clocks and timeline rows.

Pure presentation over rows already loaded — nothing here queries the database, so a queue page can
call it for every row without adding queries.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from django.utils import formats, timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext, gettext_lazy as _

from dispatch import clock
from dispatch.models import LIMIT_UNIT_CHOICES, Alert, Channel, Event, Satisfaction
from dispatch.sweep import ACTION_LABELS as SWEEP_LABELS
from dispatch.workflow import ACTIONS
from governance.deadlines import TimeLimit


@dataclass(frozen=True)
class Clock:
    """The current step's deadline as a person reads it."""

    step: str
    label: str
    started_at: datetime.datetime | None
    due_at: datetime.datetime | None
    colour: str  # "ok", "yellow", "red" or "paused"
    limit: str  # "4 working hours"
    rule: str  # where the limit comes from (a category, a parameter)
    paused_at: datetime.datetime | None
    remaining: str = ""  # "overdue by 2 hours" / "3 days left" (empty when paused)

    @property
    def overdue(self) -> bool:
        return self.colour == "red"


def clock_colour(event: Event, now: datetime.datetime) -> str:
    """Red when the step is overdue, yellow once its warning share is used, else ok.

    The periodic sweep also stores ``alert``; the times are read too so a page is right between sweeps.
    """
    if event.paused_at is not None:
        return "paused"
    if event.step_due_at is not None and (now >= event.step_due_at or event.alert == Alert.RED):
        return "red"
    if (event.step_yellow_at is not None and now >= event.step_yellow_at) or event.alert == Alert.YELLOW:
        return "yellow"
    return "ok"


PARAMETER_RULE = re.compile(r"dispatch\.limit(?:_urgent)?\.\w+")


def rule_text(rule: str) -> str:
    """Where a limit comes from, readable: a category names itself; a step limit is a parameter."""
    return PARAMETER_RULE.sub(
        lambda m: gettext("the platform's step limit (parameter %(key)s)") % {"key": m.group(0)}, rule
    )


def clock_of(event: Event, now: datetime.datetime | None = None) -> Clock | None:
    """The running step's clock, or None when the case's state has no step limit."""
    if not event.step or event.step_due_at is None:
        return None
    now = now or timezone.now()
    limit = ""
    if event.step_limit_amount and event.step_limit_unit:
        limit = clock.limit_label(TimeLimit(event.step_limit_amount, event.step_limit_unit))
    colour = clock_colour(event, now)
    if colour == "paused":
        remaining = ""
    elif colour == "red":
        remaining = gettext("overdue by %(t)s") % {"t": timesince(event.step_due_at, now)}
    else:
        remaining = gettext("%(t)s left") % {"t": timeuntil(event.step_due_at, now)}
    return Clock(
        step=event.step,
        label=str(clock.STEP_LABELS.get(event.step, event.step)),
        started_at=event.step_started_at,
        due_at=event.step_due_at,
        colour=colour,
        limit=limit,
        rule=rule_text(event.step_rule),
        paused_at=event.paused_at,
        remaining=remaining,
    )


# Timeline rows that are not workflow actions: the creation row, and the sweep's warnings (the
# sweep names its own in ``dispatch.sweep.ACTION_LABELS``).
OTHER_LABELS = {
    "report": _("Reported"),
    "escalated": _("Escalated for overdue"),
    **SWEEP_LABELS,
}

DATA_LABELS = {
    "department": _("department"),
    "co": _("co-handling"),
    "departments": _("departments"),
    "category": _("category"),
    "into": _("merged into"),
    "merged": _("merged in"),
    "to": _("to"),
    "channel": _("channel"),
    "contacted": _("contacted"),
    "solved": _("solved"),
    "satisfaction": _("satisfaction"),
    "new_due": _("new due time"),
    "due": _("due"),
    "step": _("step"),
    "extension": _("extension"),
    "time_allowed": _("time allowed"),
}
# Keys that mean nothing to a reader (ids, internal markers).
HIDDEN_DATA = {"order", "by", "escalated_to"}


def action_label(name: str) -> str:
    if name in OTHER_LABELS:
        return str(OTHER_LABELS[name])
    act = ACTIONS.get(name)
    return str(act.label) if act else name


def _value_text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    if key == "channel":
        return str(dict(Channel.choices).get(value, value))
    if key == "satisfaction":
        return str(dict(Satisfaction.choices).get(value, value))
    if key == "step":
        return str(clock.STEP_LABELS.get(value, value))
    if key in ("new_due", "due") and isinstance(value, str):
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    return str(value)


def data_summary(data: dict | None) -> list[tuple[str, str]]:
    """A transition's data as (label, text) pairs for the timeline."""
    data = dict(data or {})
    pairs: list[tuple[str, str]] = []
    if "amount" in data and "unit" in data:
        amount, unit = data.pop("amount"), data.pop("unit")
        if unit in dict(LIMIT_UNIT_CHOICES):
            key = "time_allowed" if "due" in data else "extension"
            pairs.append((str(DATA_LABELS[key]), clock.limit_label(TimeLimit(int(amount), unit))))
    if data.pop("outside_grids", False):
        pairs.append((gettext("location"), gettext("outside every grid")))
    for key, value in data.items():
        if key in HIDDEN_DATA or value in (None, "", []):
            continue
        pairs.append((str(DATA_LABELS.get(key, key)), _value_text(key, value)))
    return pairs
