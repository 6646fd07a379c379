"""Running the seeders: the safety checks, one transaction, progress and figures, the marker row.

``run`` refuses a database that holds the demo district (the synthetic city never mixes with it) or
a synthetic city already, and one that holds anything else that is not synthetic unless ``yes``.
Everything is written in one transaction: a failure leaves the database as it was. After the
commit it runs ANALYZE on every table written, so the planner knows the new sizes at once.
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections import Counter
from pathlib import Path
from collections.abc import Callable
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.module_loading import module_has_submodule

from governance.audit import audit_log
from governance.demo import DEMO_SUFFIX
from governance.models import AdministrativeUnit, Department, Parameter, User
from governance.seed import (
    CITY_CODE,
    MARKER_KEY,
    SCALES,
    SUFFIX,
    USERNAME_PREFIX,
    SeedContext,
    registered_steps,
)
from governance.seed.bulk import BulkWriter

# From this many cases on, the big tables' indexes and foreign keys are lifted during the load.
BULK_FROM_EVENTS = 100_000


class SeedRefused(Exception):
    """The database is not one to seed (the message says why and what to do)."""


def load_seeders() -> None:
    """Import the ``seed`` module of every app of the project (not third-party packages), which
    registers its steps."""
    import_module("governance.seed.city")
    for config in apps.get_app_configs():
        ours = Path(config.path).is_relative_to(settings.BASE_DIR) and "site-packages" not in Path(config.path).parts
        if ours and config.name != "governance" and module_has_submodule(config.module, "seed"):
            import_module(f"{config.name}.seed")


def existing_data() -> dict[str, int]:
    """What the database holds besides the schema's own rows (catalogue, calendar, permissions)."""
    from dispatch.models import Event
    from grids.models import Grid
    from guardian.conf import settings as guardian_settings

    return {
        "units": AdministrativeUnit.objects.filter(is_synthetic=False).count(),
        "departments": Department.objects.filter(is_synthetic=False).count(),
        "users": User.objects.exclude(username__startswith=USERNAME_PREFIX)
        .exclude(username=guardian_settings.ANONYMOUS_USER_NAME).count(),
        "grids": Grid.objects.filter(is_synthetic=False).count(),
        "cases": Event.objects.exclude(title__endswith=SUFFIX).count(),
    }


def check_database(*, yes: bool) -> None:
    from dispatch.models import Event

    marker = Parameter.objects.filter(key=MARKER_KEY).first()
    if marker is not None:
        value = marker.value if isinstance(marker.value, dict) else {}
        raise SeedRefused(
            f"This database already holds a synthetic city (scale {value.get('scale')}, seed {value.get('seed')}, "
            f"made {value.get('created_at')}). Seed a new database instead (createdb, migrate, seed_city).")
    if (Department.objects.filter(name__endswith=DEMO_SUFFIX).exists()
            or User.objects.filter(full_name__endswith=DEMO_SUFFIX).exists()
            or Event.objects.filter(idempotency_key__startswith="demo:").exists()):
        raise SeedRefused("This database holds the demo district (load_demo); the synthetic city is never mixed "
                          "with it. Use a database of its own.")
    if AdministrativeUnit.objects.filter(code__startswith=CITY_CODE[:4]).exists() or \
            User.objects.filter(username__startswith=USERNAME_PREFIX).exists():
        raise SeedRefused(f"Units with codes {CITY_CODE[:4]}… or users named {USERNAME_PREFIX}… exist already: "
                          "the synthetic city's would clash with them. Use a database of its own.")
    found = {name: n for name, n in existing_data().items() if n}
    if found and not yes:
        listed = ", ".join(f"{n:,} {name}" for name, n in found.items())
        raise SeedRefused(f"This database holds data that is not synthetic ({listed}). Seeding would mix the "
                          "synthetic city into it; pass --yes if that is really what you want.")


def run(*, scale: str, seed: int, events: int | None = None, workers_only: bool = False, yes: bool = False,
        as_of: datetime.datetime | None = None, full_history: bool = False, log: Callable[[str], None] = print,
        bulk: bool | None = None) -> dict:
    """Build the city and return its figures (the command prints them as one JSON line)."""
    load_seeders()
    size = SCALES[scale]
    check_database(yes=yes)
    moment = (as_of or timezone.now()).replace(second=0, microsecond=0)
    writer = BulkWriter(connection, log=log)
    ctx = SeedContext(seed=seed, scale=size, as_of=int(moment.timestamp()),
                      events=size.events if events is None else events, workers_only=workers_only,
                      full_history=full_history or size.full_history_days is None, writer=writer, log=log)
    steps = [s for s in registered_steps() if not (workers_only and s.activity)]
    if bulk is None:
        bulk = writer.pg and not workers_only and ctx.events >= BULK_FROM_EVENTS
    big = [apps.get_model(label) for step in steps for label in step.bulk_tables] if bulk else []
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    log(f"Seeding a synthetic city: scale {scale}, seed {seed}, as of {timezone.localtime(moment):%Y-%m-%d %H:%M}, "
        f"{ctx.events:,} cases{' (workers only)' if workers_only else ''}, database {connection.vendor}")
    try:
        with translation.override(settings.LANGUAGE_CODE), transaction.atomic(), writer.guarded():
            writer.prime(m for m in apps.get_models() if m._meta.managed)
            writer.lift(big)
            for number, step in enumerate(steps, start=1):
                before = Counter(writer.counts)
                t0 = time.perf_counter()
                step.func(ctx)
                if bulk:  # the server rebuilds this step's indexes while the next step is prepared
                    writer.restore([apps.get_model(label) for label in step.bulk_tables])
                else:
                    writer.drain()  # the step's own time, copies included
                seconds[step.name] = round(time.perf_counter() - t0, 1)
                written = writer.counts - before
                detail = ", ".join(f"{label} {n:,}" for label, n in written.most_common())
                log(f"[{number}/{len(steps)}] {step.name}: {sum(written.values()):,} rows in "
                    f"{seconds[step.name]} s ({detail or 'nothing'})")
            t0 = time.perf_counter()
            writer.restore()
            writer.drain()
            seconds["final_wait"] = round(time.perf_counter() - t0, 1)
            if bulk:
                log(f"  {writer.restored} indexes and foreign keys re-created and validated "
                    f"({writer.index_seconds:.1f} s on the server, overlapping the steps)")
            writer.close()
            writer.reset_sequences()
            report = {
                "scale": scale, "seed": seed, "as_of": timezone.localtime(moment).isoformat(), "events": ctx.events,
                "workers_only": workers_only, "full_history": ctx.full_history, "database": connection.vendor,
                "counts": dict(sorted(writer.counts.items())),
            }
            Parameter.objects.create(key=MARKER_KEY, value={
                **report, "created_at": timezone.now().isoformat(),
                "note": "Synthetic data made by manage.py seed_city (docs/seed.md): not real people, places or cases."})
            audit_log(actor=None, action="governance.seed.city_created", data=report)
    except BaseException:
        writer.abandon()
        raise
    t0 = time.perf_counter()
    writer.analyze()
    seconds["analyze"] = round(time.perf_counter() - t0, 1)
    report["seconds"] = seconds
    report["server_copy_seconds"] = round(writer.copy_seconds, 1)
    report["server_index_seconds"] = round(writer.index_seconds, 1)
    report["server_copy_seconds_by_table"] = {
        table: round(spent, 1) for table, spent in writer.copy_by_table.most_common() if spent >= 0.1}
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    return report


def digest() -> str:
    """A fingerprint of what the seeders wrote (key columns of the main tables, in key order): the
    same seed, scale and instant give the same digest."""
    from dispatch.models import Assignment, Event, Transition
    from grids.models import Grid, GridMembership, Patrol, PatrolPoint, Visit

    h = hashlib.sha256()
    for queryset in [
        AdministrativeUnit.objects.filter(is_synthetic=True).values_list("code", "name", "level", "path", "boundary"),
        Department.objects.filter(is_synthetic=True).values_list("name", "kind", "unit__code"),
        User.objects.filter(username__startswith=USERNAME_PREFIX).values_list("username", "full_name", "phone"),
        Grid.objects.values_list("code", "name", "boundary", "households", "area_m2"),
        GridMembership.objects.values_list("grid__code", "user__username", "grid_role"),
        Event.objects.values_list("number", "receipt_code", "channel", "minor_id", "state", "created_at", "lon", "lat",
                                  "grid__code", "owner_path", "department__name", "step", "step_due_at", "alert",
                                  "handling_due_at", "closed_at", "title"),
        Transition.objects.values_list("event__number", "action", "from_state", "to_state", "actor__username", "at"),
        Assignment.objects.values_list("event__number", "department__name", "role", "status"),
        Patrol.objects.values_list("grid__code", "worker__username", "started_at", "distance_m"),
        PatrolPoint.objects.values_list("patrol__started_at", "seq", "lon", "lat"),
        Visit.objects.values_list("grid__code", "household", "visited_at", "outcome"),
    ]:
        for row in queryset.order_by("pk").iterator(chunk_size=5000):
            h.update(repr(row).encode())
    return h.hexdigest()
