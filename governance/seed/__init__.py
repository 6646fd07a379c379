"""The synthetic city (``manage.py seed_city``): scales, the seeding context and the registry of steps.

Each app contributes its part of the city as one or more *steps*, registered with ``@seeder`` in its
``seed`` module (``governance/seed/city.py``, ``grids/seed.py``, ``dispatch/seed.py``; later apps add
``disputes/seed.py`` and so on). The runner (``governance.seed.runner``) imports every installed app's
``seed`` module, runs the steps in ``order`` inside one transaction and prints what each wrote.

A step is a function taking the :class:`SeedContext`. It draws its randomness from
``ctx.rng(<its name>)`` — a generator of its own, derived from the seed and the name, so adding a
step never changes what the others write — writes rows through ``ctx.writer`` (COPY on PostgreSQL,
batched inserts elsewhere) and leaves what later steps need in ``ctx.data`` under its app's prefix.
docs/seed.md lists the keys and the conventions that mark every row as synthetic.
"""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the writer imports Django models; the registry stays importable without them
    from governance.seed.bulk import BulkWriter

# --- How synthetic data is labelled (docs/seed.md) ------------------------------------------------
PLACE_PREFIX = "合成"  # every unit, department and grid name starts with it
SUFFIX = "（合成）"  # every person's name, household and case title ends with it
USERNAME_PREFIX = "syn-"
PROVINCE_CODE = "990000000000"  # province 99 does not exist in GB/T 2260
CITY_CODE = "990100000000"
PASSWORD = "gridgov-synthetic-2026"  # shared by every synthetic login (benchmarks log in with it)
MARKER_KEY = "seed.synthetic_city"  # the Parameter row recording that the database holds the city


@dataclass(frozen=True)
class Scale:
    """How big the city is. Each level is a block of (columns, rows) of the level below, so the
    grids form one lattice: (product of the columns) × (product of the rows) cells."""

    name: str
    districts: tuple[int, int]  # in the city
    streets: tuple[int, int]  # per district
    communities: tuple[int, int]  # per street
    grids: tuple[int, int]  # per community
    workers: int  # grid workers in all (spread over the grids: full-time, leader, part-time, …)
    events: int
    patrols: int
    visits: int
    # History rows of finished cases reported more than this many days ago are cut down to the
    # report row and the final transition (one in ten keeps it all); None: every row of every case.
    full_history_days: int | None = None
    operators_per_street: int = 3
    dispatchers_per_district: int = 5
    handlers_per_department: int = 3

    @property
    def counts(self) -> dict[str, int]:
        d = self.districts[0] * self.districts[1]
        s = d * self.streets[0] * self.streets[1]
        c = s * self.communities[0] * self.communities[1]
        return {"districts": d, "streets": s, "communities": c, "grids": c * self.grids[0] * self.grids[1]}


SCALES: dict[str, Scale] = {
    # Small enough for a test in seconds.
    "tiny": Scale("tiny", (1, 1), (2, 1), (1, 2), (2, 2), workers=40, events=500, patrols=24, visits=80),
    # About a tenth of the city: one district.
    "district": Scale("district", (1, 1), (5, 2), (2, 5), (5, 2), workers=3_000, events=200_000, patrols=2_000,
                      visits=20_000),
    # 10 districts, 100 streets, 1,000 communities, 10,000 grids (a 100 × 100 lattice, 30 × 30 km).
    "city": Scale("city", (2, 5), (5, 2), (2, 5), (5, 2), workers=30_000, events=2_000_000, patrols=20_000,
                  visits=200_000, full_history_days=90),
}


@dataclass
class SeedContext:
    """What every step gets: the options, its randomness, the writer and what earlier steps made."""

    seed: int
    scale: Scale
    as_of: int  # the present of the synthetic city, epoch seconds (UTC); nothing happens after it
    events: int  # cases to file (the scale's number unless --events)
    workers_only: bool
    full_history: bool
    writer: BulkWriter
    log: Callable[[str], None] = print
    # Shared results, namespaced by app ("governance.units", "grids.layout", …; see docs/seed.md).
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of_datetime(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.as_of, tz=datetime.UTC)

    @property
    def as_of_local(self) -> datetime.datetime:
        from django.utils import timezone

        return timezone.localtime(self.as_of_datetime)

    @property
    def today(self) -> int:
        """Local midnight starting the seeding day (TIME_ZONE), epoch seconds."""
        return int(self.as_of_local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())

    def local_date(self, t: int) -> datetime.date:
        from django.utils import timezone

        return timezone.localtime(datetime.datetime.fromtimestamp(t, tz=datetime.UTC)).date()

    def rng(self, name: str) -> np.random.Generator:
        """A random generator of its own for ``name``: the same seed and name give the same stream."""
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, zlib.crc32(name.encode())])))


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    func: Callable[[SeedContext], None]
    activity: bool  # writes activity (cases, patrols, visits): skipped by --workers-only
    bulk_tables: tuple[str, ...] = ()  # "app.Model" labels of the big tables it fills (see bulk.lift)


_STEPS: dict[str, Step] = {}


def seeder(name: str, *, order: int, activity: bool = False, bulk_tables: tuple[str, ...] = ()) -> Callable:
    """Register a step: ``@seeder("disputes.mediations", order=400, activity=True)``.

    ``bulk_tables`` names the tables that take hundreds of thousands of rows at city scale; on
    PostgreSQL their indexes and foreign keys are lifted during the load and re-created after it.

    Orders in use: 100 governance (units, departments, staff), 200–210 grids (grids, teams),
    300–310 dispatch (routing, cases), 350 grids (patrols, visits). Later apps take 400 and up.
    """

    def register(func: Callable[[SeedContext], None]) -> Callable[[SeedContext], None]:
        _STEPS[name] = Step(name, order, func, activity, tuple(bulk_tables))
        return func

    return register


def registered_steps() -> list[Step]:
    return sorted(_STEPS.values(), key=lambda s: (s.order, s.name))
