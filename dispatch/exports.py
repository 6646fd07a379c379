"""What the dispatch lists export (governance.exports): the columns of a case and of a hotline call
as a person wants them in a spreadsheet.

No personal data: a case's contact name and phone, its reporters and a caller's name and phone are
never columns (../shared/domain/grids.md, "Personal data").
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

from dispatch.clock import STEP_LABELS
from dispatch.display import clock_colour
from dispatch.models import Event, HotlineCall

CLOCK_LABELS = {"ok": _("On time"), "yellow": _("Yellow warning"), "red": _("Overdue"), "paused": _("Paused")}

EVENT_COLUMNS = [
    ("number", _("Case number")),
    ("title", _("Title")),
    ("major", _("Major class")),
    ("minor", _("Minor class")),
    ("state", _("State")),
    ("urgency", _("Urgency")),
    ("channel", _("Channel")),
    ("unit", _("Unit")),
    ("grid", _("Grid")),
    ("department", _("Lead department")),
    ("created_at", _("Reported at")),
    ("step", _("Current step")),
    ("step_due_at", _("Step due")),
    ("deadline", _("Deadline")),
    ("handling_due_at", _("Handling due")),
    ("listed_supervision", _("Listed supervision")),
    ("rework_count", _("Rework count")),
    ("dispatched_at", _("Dispatched at")),
    ("handled_at", _("Handled at")),
    ("closed_at", _("Closed at")),
]


def event_row(now: datetime.datetime) -> Callable[[Event], dict]:
    """A case as one spreadsheet row; deadline colours as of ``now``."""

    def row(event: Event) -> dict:
        clocked = bool(event.step and event.step_due_at)
        return {
            "number": event.number,
            "title": event.title,
            "major": event.minor.major.name if event.minor else "",
            "minor": event.minor.name if event.minor else "",
            "state": event.get_state_display(),
            "urgency": event.get_urgency_display(),
            "channel": event.get_channel_display(),
            "unit": event.unit.name,
            "grid": event.grid.name if event.grid else "",
            "department": event.department.name if event.department else "",
            "created_at": event.created_at,
            "step": STEP_LABELS.get(event.step, event.step) if clocked else "",
            "step_due_at": event.step_due_at if clocked else None,
            "deadline": CLOCK_LABELS[clock_colour(event, now)] if clocked else "",
            "handling_due_at": event.handling_due_at,
            "listed_supervision": event.listed_supervision,
            "rework_count": event.rework_count,
            "dispatched_at": event.dispatched_at,
            "handled_at": event.handled_at,
            "closed_at": event.closed_at,
        }

    return row


HOTLINE_COLUMNS = [
    ("created_at", _("Time")),
    ("request_type", _("Request type")),
    ("summary", _("What the caller said")),
    ("outcome", _("Outcome of the call")),
    ("case", _("Case number")),
    ("not_taken_reason", _("Reason not taken")),
    ("operator", _("Operator")),
]


def hotline_row(call: HotlineCall) -> dict:
    """A call without the caller's name or phone."""
    return {
        "created_at": call.created_at,
        "request_type": call.get_request_type_display(),
        "summary": call.summary,
        "outcome": call.get_outcome_display(),
        "case": call.event.number if call.event else "",
        "not_taken_reason": call.get_not_taken_reason_display() if call.not_taken_reason else "",
        "operator": str(call.operator),
    }
