"""The deadline sweep (run every minute by Celery beat): yellow warnings, red for overdue with
escalation to the supervising level, and supervision orders left unanswered past their deadline.

It only compares the instants stored on each case when its step clock started
(``step_yellow_at``, ``step_due_at``; see ``dispatch.clock``) with now, through the indexes on
(state, step_yellow_at) and (state, step_due_at): no working time is computed per case, so a sweep
over hundreds of thousands of open cases stays a few indexed queries.

Each crossing is written once: the case's ``alert`` moves up (0 → 1 → 2) only from below, and a
case's clock restarting (any transition that starts a new step) sets it back to 0. Rows are locked
while they are marked (``skip_locked``: a case being acted on right now is left for the next run),
so a transition that restarts the clock is never overwritten. A lock in the shared cache keeps two
sweeps from running at once. Nothing here bumps ``Event.version``: a colour is not a change that
should turn someone's open form stale.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from dispatch.journal import journal_event_ids
from dispatch.models import SWEPT_STATES, Alert, Assignment, Event, SupervisionOrder, Transition
from dispatch.notify import follow_up_many
from dispatch.workflow import OPEN_STATES
from governance.models import AdministrativeUnit, AuditEntry

LOCK_KEY = "dispatch:sweep:lock"
LOCK_TIMEOUT_S = 600  # longer than any sweep; a crashed worker's lock expires by itself
BATCH = 2000  # rows locked and marked per transaction

# Labels of the history rows the sweep writes (workflow.ACTIONS holds those people take).
ACTION_LABELS = {
    "warned_yellow": _("Yellow warning: most of the time is used"),
    "overdue": _("Overdue: escalated to the supervising level"),
    "supervision_overdue": _("Supervision order not answered in time"),
    "unsigned_overdue": _("A summoned or co-handling department did not sign in time"),
}


@dataclass(frozen=True)
class SweepResult:
    yellow: int = 0
    red: int = 0
    escalated: int = 0
    supervision_overdue: int = 0
    unsigned_overdue: int = 0
    notified: int = 0
    skipped: bool = False  # another sweep held the lock; nothing was done


def sweep(now: datetime.datetime | None = None) -> SweepResult:
    """Mark, escalate and notify everything that crossed a line by ``now``; idempotent."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    if not cache.add(LOCK_KEY, token, LOCK_TIMEOUT_S):
        return SweepResult(skipped=True)
    try:
        return _sweep(now)
    finally:
        if cache.get(LOCK_KEY) == token:  # release only our own lock, not one taken after ours expired
            cache.delete(LOCK_KEY)


def _sweep(now: datetime.datetime) -> SweepResult:
    label = gettext("Platform")
    red_rows, escalated = _mark(now, red=True, label=label)
    yellow_rows, _none = _mark(now, red=False, label=label)
    supervision_rows = _supervision_overdue(now, label)
    unsigned_rows = _unsigned_overdue(now, label)
    notified = 0
    rows = red_rows + yellow_rows + supervision_rows + unsigned_rows
    for start in range(0, len(rows), BATCH):
        notified += follow_up_many(rows[start:start + BATCH])
    return SweepResult(yellow=len(yellow_rows), red=len(red_rows), escalated=escalated,
                       supervision_overdue=len(supervision_rows), unsigned_overdue=len(unsigned_rows),
                       notified=notified)


def _crossing(now: datetime.datetime, *, red: bool) -> Q:
    if red:
        return Q(state__in=SWEPT_STATES, alert__lt=Alert.RED, step_due_at__lt=now)
    # A case already past its due goes straight to red (marked first), never yellow as well.
    return Q(state__in=SWEPT_STATES, alert__lt=Alert.YELLOW, step_yellow_at__lte=now, step_due_at__gte=now)


def _mark(now: datetime.datetime, *, red: bool, label: str) -> tuple[list[int], int]:
    """Mark every case crossing the line, a batch per transaction; returns the history row ids
    written and the number of escalation orders created."""
    condition = _crossing(now, red=red)
    action = "overdue" if red else "warned_yellow"
    new_alert = Alert.RED if red else Alert.YELLOW
    content_type = ContentType.objects.get_for_model(Event)
    written: list[int] = []
    escalated = 0
    while True:
        with transaction.atomic():
            cases = list(
                Event.objects.select_for_update(of=("self",), skip_locked=True).filter(condition)
                .values("pk", "number", "title", "state", "step", "step_due_at", "owner_unit_id", "department_id",
                        "alert")[:BATCH]
            )
            if not cases:
                break
            ids = [c["pk"] for c in cases]
            # Re-checking the condition costs nothing and keeps the update right even without the lock.
            fields = {"alert": new_alert, **({"escalated_at": now} if red else {})}
            Event.objects.filter(pk__in=ids).filter(condition).update(**fields)
            journal_event_ids(ids)
            supervising = _supervising_units({c["owner_unit_id"] for c in cases}) if red else {}
            if red:
                SupervisionOrder.objects.bulk_create(
                    [SupervisionOrder(event_id=c["pk"], kind=SupervisionOrder.Kind.ESCALATION, issued_at=now,
                                      to_unit_id=supervising[c["owner_unit_id"]], department_id=c["department_id"],
                                      due_at=c["step_due_at"],
                                      note=gettext("Overdue: escalated by the platform for supervision."))
                     for c in cases],
                    ignore_conflicts=True,  # one escalation per step deadline, even if sweeps overlapped
                )
                escalated += SupervisionOrder.objects.filter(
                    event_id__in=ids, kind=SupervisionOrder.Kind.ESCALATION, issued_at=now).count()
            data = {
                c["pk"]: {"step": c["step"], "due": timezone.localtime(c["step_due_at"]).isoformat(),
                          **({"escalated_to": supervising[c["owner_unit_id"]]} if red else {})}
                for c in cases
            }
            rows = Transition.objects.bulk_create(
                [Transition(event_id=c["pk"], action=action, from_state=c["state"], to_state=c["state"],
                            actor_label=label, data=data[c["pk"]], at=now) for c in cases]
            )
            AuditEntry.objects.bulk_create(
                [AuditEntry(at=now, action=f"dispatch.event.{action}", content_type=content_type,
                            object_id=str(c["pk"]), object_repr=f"{c['number']} {c['title']}"[:255],
                            changes={"alert": [c["alert"], int(new_alert)]}, data=data[c["pk"]]) for c in cases]
            )
            written.extend(row.pk for row in rows)
        if len(cases) < BATCH:
            break
    return written, escalated


def _supervising_units(unit_ids: set[int]) -> dict[int, int]:
    """The level above each owning centre (the centre itself at the top of the tree)."""
    parents = dict(AdministrativeUnit.objects.filter(pk__in=unit_ids).values_list("pk", "parent_id"))
    return {pk: parents.get(pk) or pk for pk in unit_ids}


def _supervision_overdue(now: datetime.datetime, label: str) -> list[int]:
    """One history row (and so one notice to the issuer) per supervision order left unanswered
    past its deadline on a case still open."""
    orders = list(
        SupervisionOrder.objects.filter(kind=SupervisionOrder.Kind.ORDER, responded_at__isnull=True,
                                        due_at__lt=now, issued_by__isnull=False, event__state__in=OPEN_STATES)
        .values("pk", "event_id", "due_at", "event__state")
    )
    if not orders:
        return []
    with transaction.atomic():
        told = {
            data.get("order")
            for data in Transition.objects.filter(action="supervision_overdue",
                                                  event_id__in={o["event_id"] for o in orders})
            .values_list("data", flat=True)
        }
        rows = Transition.objects.bulk_create(
            [Transition(event_id=o["event_id"], action="supervision_overdue", from_state=o["event__state"],
                        to_state=o["event__state"], actor_label=label, at=now,
                        data={"order": o["pk"], "due": timezone.localtime(o["due_at"]).isoformat()})
             for o in orders if o["pk"] not in told]
        )
    return [row.pk for row in rows]


def _unsigned_overdue(now: datetime.datetime, label: str) -> list[int]:
    """吹哨报到: every summoned (and co-handling) department must sign within its limit. One history
    row (and so one notice to the department and the centre) per assignment left unsigned past it."""
    late = list(
        Assignment.objects.filter(role__in=[Assignment.Role.SUMMONED, Assignment.Role.CO],
                                  status=Assignment.Status.PENDING, sign_due_at__lt=now,
                                  event__state__in=OPEN_STATES)
        .values("pk", "event_id", "department_id", "department__name", "sign_due_at", "event__state")
    )
    if not late:
        return []
    with transaction.atomic():
        told = {
            data.get("assignment")
            for data in Transition.objects.filter(action="unsigned_overdue", event_id__in={a["event_id"] for a in late})
            .values_list("data", flat=True)
        }
        rows = Transition.objects.bulk_create(
            [Transition(event_id=a["event_id"], action="unsigned_overdue", from_state=a["event__state"],
                        to_state=a["event__state"], actor_label=label, at=now,
                        data={"assignment": a["pk"], "department": a["department__name"],
                              "department_id": a["department_id"],
                              "due": timezone.localtime(a["sign_due_at"]).isoformat()})
             for a in late if a["pk"] not in told]
        )
    return [row.pk for row in rows]
