"""Cases in the change journal that the API's sync feed reads (governance.api.changes).

Called in the transaction of every write that changes how a case looks through the API:
``workflow.transition`` (every state change and edit), ``services._create`` (a new case), the
sweep's colour changes, and deletion in the admin.
"""

from __future__ import annotations

from collections.abc import Iterable

from dispatch.models import Event
from governance.api.changes import Place, record_changes
from governance.models import ChangeRecord

JOURNAL = "dispatch.event"


def _place(event) -> Place:
    return Place(unit_path=event.unit_path, owner_path=event.owner_path, department_id=event.department_id)


def journal_events(events: Iterable[Event], *, deleted: bool = False) -> None:
    record_changes(JOURNAL, [(e.pk, _place(e)) for e in events],
                   op=ChangeRecord.Op.DELETE if deleted else ChangeRecord.Op.UPSERT)


def journal_event_ids(ids: Iterable[int]) -> None:
    """For bulk updates that never loaded the cases (the sweep)."""
    rows = Event.objects.filter(pk__in=list(ids)).values("pk", "unit_path", "owner_path", "department_id")
    record_changes(JOURNAL, [(r["pk"], Place(r["unit_path"], r["owner_path"], r["department_id"])) for r in rows])
