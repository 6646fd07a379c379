"""The change journal and the incremental sync feed.

Writers call ``record_changes`` in the transaction that changes a synced object (for cases:
``dispatch.journal``). Readers call ``changes_page`` with the cursor from their last answer and get
each changed object once, at its latest state, or a ``delete`` tombstone when it was deleted or has
left their jurisdiction; they store ``next_cursor`` and ask again. Applying the entries in order
mirrors the server without gaps or duplicates:

- Order is (transaction id, record id), and a page only reads changes of transactions that have
  finished (below the oldest transaction still running, ``_horizon``). A transaction that started
  early and commits late therefore holds the feed back rather than being skipped. (SQLite runs one
  writer at a time, so there the record id alone orders commits.)
- Within a page an object appears once, at its latest change; its earlier records are skipped.
- A tombstone is given only to a reader whose scope held the object at some recorded change, so an
  outsider never learns that an object exists.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from governance.models import ChangeRecord
from governance.selectors import scope_for, scope_q

Op = ChangeRecord.Op


@dataclass(frozen=True)
class Place:
    """Where a changed object lies, as the scoping selectors see it."""

    unit_path: str = ""
    owner_path: str = ""
    department_id: int | None = None


def record_changes(model: str, changes: Iterable[tuple[int, Place]], *, op: str = Op.UPSERT) -> None:
    """Journal changes of ``model`` objects (``(pk, place)`` pairs) in the current transaction."""
    rows = [
        ChangeRecord(model=model, object_id=pk, op=op, unit_path=place.unit_path or "",
                     owner_path=place.owner_path or "", department_id=place.department_id)
        for pk, place in changes
    ]
    ChangeRecord.objects.bulk_create(rows)


@dataclass(frozen=True)
class Position:
    txid: int
    id: int

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.txid}.{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            txid, id_ = (int(part) for part in raw.split("."))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValidationError({"cursor": [_("This cursor is not one the feed gave out; start again without one.")]}) from None
        return cls(txid, id_)


START = Position(-1, 0)


def _horizon() -> int | None:
    """Transaction ids below this are finished (committed or rolled back); None: no bound needed.

    The bound is the oldest transaction still running *in this database* (transaction ids are
    shared by every database of a PostgreSQL server, and another database's long transaction must
    not hold this feed back); ids at or above the snapshot's xmax count as running too.
    ``pg_stat_activity`` is read after the snapshot is taken, so a transaction of this database that
    was running at the snapshot is either still listed there or finished by then. (Its 32-bit
    ``backend_xid`` is matched with the low bits of the snapshot's 64-bit ids; live ids are never
    2^32 apart.) The reader's own transaction, if it wrote (a test, a request that writes first),
    does not hold itself back: when nothing else runs below it, its own rows are readable.
    """
    if connection.vendor != "postgresql":
        return None
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text")
        snapshot, own = cursor.fetchone()
        # Statistics are cached per transaction: drop the cache, then read them after the snapshot.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT backend_xid::text FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_xid IS NOT NULL"
        )
        running_here = {int(xid) for (xid,) in cursor.fetchall()}
    _xmin, xmax, xip = snapshot.split(":")
    own = int(own) if own is not None else None
    in_progress = [int(x) for x in xip.split(",") if x]
    horizon = min((x for x in in_progress if x != own and x % 2**32 in running_here), default=int(xmax))
    return own + 1 if own is not None and horizon == own else horizon


def _after(position: Position, prefix: str = "") -> Q:
    return Q(**{f"{prefix}txid__gt": position.txid}) | Q(**{f"{prefix}txid": position.txid, f"{prefix}id__gt": position.id})


@dataclass
class FeedPage:
    entries: list[dict]
    next_cursor: str
    has_more: bool


def changes_page(
    *,
    user,
    model: str,
    cursor: str | None,
    visible: QuerySet,
    serialize: Callable[[list], list[dict]],
    limit: int = 200,
) -> FeedPage:
    """The next changes of ``model`` after ``cursor`` that ``user`` may know of.

    ``visible`` is the user's scoped queryset of the model (the same selector as the lists);
    ``serialize`` turns the visible objects of the page into dicts with an ``id``.
    """
    position = Position.decode(cursor) if cursor else START
    horizon = _horizon()
    records = ChangeRecord.objects.filter(model=model)
    later = ChangeRecord.objects.filter(model=model, object_id=OuterRef("object_id")).filter(
        Q(txid__gt=OuterRef("txid")) | Q(txid=OuterRef("txid"), id__gt=OuterRef("id"))
    )
    if horizon is not None:
        records, later = records.filter(txid__lt=horizon), later.filter(txid__lt=horizon)
    rows = list(
        records.filter(_after(position)).filter(~Exists(later))
        .order_by("txid", "id").values("id", "txid", "object_id")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return FeedPage([], (cursor or START.encode()), False)
    ids = [r["object_id"] for r in rows]
    found = {obj["id"]: obj for obj in serialize(list(visible.filter(pk__in=ids)))}
    gone = _tombstoned(user, model, [pk for pk in ids if pk not in found])
    entries = []
    for pk in ids:
        if pk in found:
            entries.append({"op": "upsert", "id": pk, "object": found[pk]})
        elif pk in gone:
            entries.append({"op": "delete", "id": pk, "object": None})
    last = rows[-1]
    return FeedPage(entries, Position(last["txid"], last["id"]).encode(), has_more)


def _tombstoned(user, model: str, ids: list[int]) -> set[int]:
    """Of objects the user cannot see now, those that were in the user's scope at a recorded change."""
    if not ids:
        return set()
    scope = scope_for(user)
    if scope.is_empty:
        return set()
    held = scope_q(user, unit_path="unit_path", department="department_id") | scope_q(user, unit_path="owner_path")
    return set(
        ChangeRecord.objects.filter(model=model, object_id__in=ids).filter(held)
        .values_list("object_id", flat=True).distinct()
    )
