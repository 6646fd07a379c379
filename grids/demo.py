"""Demo grids: synthetic squares for the communities of 青年路街道 (real codes, invented geometry).

Each community gets a synthetic square near Xi'an (laid out on a 4-column chessboard, so they touch
but do not overlap) as its boundary, split into 2 × 2 grids numbered west→east, north→south.
Loading twice changes nothing. The field-work part (rosters, patrols) is added in ``load`` after
``demo_grids``.
"""

from __future__ import annotations

import math

from governance.demo import DEMO_SUFFIX
from governance.models import UnitLevel
from grids.codes import GridCodeScheme
from grids.geometry import M_PER_DEG
from grids.models import Grid
from grids.services import grid_create, unit_set_boundary

ORIGIN = (108.93, 34.27)  # lon, lat of the north-west corner of the layout
COMMUNITY_M = 600.0  # side of a community's square
SPLIT = 2  # grids per side


def _lonlat(x_m: float, y_m: float) -> list[float]:
    """x metres east, y metres south of ORIGIN."""
    lon0, lat0 = ORIGIN
    return [round(lon0 + x_m / (M_PER_DEG * math.cos(math.radians(lat0))), 7), round(lat0 - y_m / M_PER_DEG, 7)]


def _square(x0: float, y0: float, size: float) -> dict:
    corners = [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]
    return {"type": "Polygon", "coordinates": [[_lonlat(x, y) for x, y in corners]]}


def demo_grids(context) -> list[Grid]:
    communities = context.street.children.filter(level=UnitLevel.VILLAGE).order_by("code")
    grids = []
    for index, community in enumerate(communities):
        x0, y0 = (index % 4) * COMMUNITY_M, (index // 4) * COMMUNITY_M
        if not community.boundary:
            unit_set_boundary(unit=community, boundary=_square(x0, y0, COMMUNITY_M), actor=None)
            community.refresh_from_db()
        cell = COMMUNITY_M / SPLIT
        for row in range(SPLIT):
            for col in range(SPLIT):
                sequence = row * SPLIT + col + 1  # west→east, north→south
                existing = Grid.objects.filter(community=community, sequence=sequence).first()
                if existing is not None:
                    grids.append(existing)
                    continue
                short = community.name.removesuffix("居委会")
                grids.append(grid_create(
                    community=community, name=f"{short}第{sequence}网格{DEMO_SUFFIX}",
                    boundary=_square(x0 + col * cell, y0 + row * cell, cell),
                    code_scheme=GridCodeScheme.CJT213, sequence=sequence,
                    households=280 + (index * 37 + sequence * 53) % 260,
                    residents=700 + (index * 91 + sequence * 71) % 600,
                    buildings=6 + (index + sequence) % 9, businesses=(index * 7 + sequence * 5) % 40,
                    key_places=(index + sequence) % 4, is_synthetic=True, actor=None,
                ))
    return grids


def load(context) -> None:
    demo_grids(context)
    demo_fieldwork(context)


# --- Roster, patrol and visits of the demo grid worker (owner: field work) -------------------------
def demo_fieldwork(context) -> None:
    """The first grid of the demo community gets a team, a finished patrol and two visits."""
    import datetime

    from django.utils import timezone
    from shapely.geometry import shape

    from governance.models import User
    from grids.models import GridMembership, GridRole, Patrol, Visit, VisitOutcome, VisitPurpose
    from grids.services import membership_start, patrol_end, patrol_points_add, patrol_start, visit_create

    grid = Grid.objects.filter(community=context.community).order_by("sequence").first()
    if grid is None:
        return
    worker, leader = context.users["gridworker"], context.users["gridleader"]
    team = [(worker, GridRole.FULL_TIME, "13800000001"), (leader, GridRole.LEADER, "13800000002")]
    for username, name in [("parttime1", "刘楼长"), ("parttime2", "何志愿者")]:
        person, created = User.objects.get_or_create(username=username, defaults={"full_name": name + DEMO_SUFFIX})
        if created:
            person.set_unusable_password()  # a roster entry, not a demo login
            person.save(update_fields=["password"])
        team.append((person, GridRole.PART_TIME, ""))
    for person, role, phone in team:
        if not GridMembership.objects.filter(grid=grid, user=person, grid_role=role, ended_on__isnull=True).exists():
            membership_start(grid=grid, user=person, grid_role=role, phone=phone, actor=None)

    if not Patrol.objects.filter(worker=worker, is_synthetic=True).exists() and not Patrol.objects.filter(
        worker=worker, status="open"
    ).exists():
        # A lawn-mower walk over the grid's bounding box, 10 fixes a minute apart, yesterday morning.
        minx, miny, maxx, maxy = shape(grid.boundary).bounds
        start = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) - datetime.timedelta(days=1)
        rows = [0.2, 0.5, 0.8]
        path = []
        for i, fy in enumerate(rows):
            xs = [0.1, 0.5, 0.9] if i % 2 == 0 else [0.9, 0.5, 0.1]
            path += [(minx + fx * (maxx - minx), maxy - fy * (maxy - miny)) for fx in xs]
        points = [
            {"seq": n + 1, "lon": lon, "lat": lat, "accuracy": 8.0,
             "recorded_at": (start + datetime.timedelta(minutes=4 * n)).isoformat()}
            for n, (lon, lat) in enumerate(path)
        ]
        patrol = patrol_start(grid=grid, worker=worker, actor=worker, notes="演示巡查" + DEMO_SUFFIX)
        patrol_points_add(patrol=patrol, points=points, actor=worker)
        patrol_end(patrol=patrol, actor=worker)
        Patrol.objects.filter(pk=patrol.pk).update(
            is_synthetic=True, started_at=start, ended_at=start + datetime.timedelta(minutes=4 * len(path))
        )

    if not Visit.objects.filter(worker=worker, is_synthetic=True).exists():
        today = timezone.localdate()
        visit_create(grid=grid, worker=worker, household="3号楼2单元401" + DEMO_SUFFIX,
                     purpose=VisitPurpose.ELDERLY_ALONE, outcome=VisitOutcome.NEEDS_FOLLOW_UP,
                     notes="独居老人，需每周回访。", follow_up_on=today, is_synthetic=True, actor=worker,
                     visited_at=timezone.now() - datetime.timedelta(days=7))
        visit_create(grid=grid, worker=worker, household="5号楼1单元102" + DEMO_SUFFIX,
                     purpose=VisitPurpose.HARDSHIP, outcome=VisitOutcome.NEEDS_FOLLOW_UP,
                     notes="申请临时救助，待民政答复。", follow_up_on=today + datetime.timedelta(days=3),
                     is_synthetic=True, actor=worker, visited_at=timezone.now() - datetime.timedelta(days=2))
