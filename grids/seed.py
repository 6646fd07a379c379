"""The synthetic city's map and field work (``manage.py seed_city``; see governance.seed).

The grids are the cells of one jittered lattice over the whole city — the construction of
``bench/point_lookup.py``: corner vertices moved up to a quarter cell, each edge carrying two
intermediate vertices nudged sideways. Neighbouring cells share the very same edge coordinates
(rounded once, to 7 decimals, before any polygon is built), so the grids of a community tile it
with no gap and no overlap, and a community's, street's and district's boundary is the walk along
the outside of its block of cells. Numbering inside a community runs west→east, north→south.

Teams: worker *k* serves grid *k mod G* in the *k div G*-th position: the full-time grid worker
first ("一格一员"), then the grid leader, then part-time workers. Each holds the grid-worker or
grid-leader role in the grid's community, as ``grids.services.membership_start`` gives it.
Patrols walk the streets round the grid (its boundary) and the street across its middle, a GPS fix
every 20 seconds with a few metres of noise; household visits are spread over the last half year.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon

from governance.models import AdministrativeUnit
from governance.roles import Role
from governance.seed import SUFFIX, SeedContext, seeder
from governance.seed.city import Units, people_add, person_names, synthetic_phones
from grids import geometry
from grids.codes import GridCodeScheme, generate_grid_code
from grids.models import (
    DedicatedKind,
    Grid,
    GridMembership,
    GridRole,
    GridType,
    Patrol,
    PatrolPoint,
    PatrolStatus,
    Visit,
    VisitOutcome,
    VisitPurpose,
)
from grids.locator import EARTH_RADIUS_M
from grids.tracks import MAX_ACCURACY_M, Fix, track_coverage

CENTRE = (108.94, 34.26)  # lon, lat of the middle of the city (as bench/point_lookup.py)
CELL_M = 300.0
M_PER_DEG_LAT = 110_574.0
CORNER_JITTER = 0.25  # of a cell
EDGE_JITTER = 0.08  # of an edge's length, sideways
SEGMENTS = 3  # per cell edge: two intermediate vertices
PATROLS_PER_GRID = 4  # patrols are concentrated on a quarter of the grids' patrol quota


@dataclass
class Layout:
    """The lattice and its grids. Cell (i, j): column i from the west, row j from the north."""

    cols: int
    rows: int
    corners: np.ndarray  # (cols + 1, rows + 1, 2) lon, lat
    h_edges: np.ndarray  # (cols, rows + 1, SEGMENTS - 1, 2): points between corner (i, j) and (i + 1, j)
    v_edges: np.ndarray  # (cols + 1, rows, SEGMENTS - 1, 2): points between corner (i, j) and (i, j + 1)
    grid_ids: np.ndarray  # (G,)
    grid_cells: np.ndarray  # (G, 2) i, j
    grid_community: np.ndarray  # (G,) index into Units.communities
    grid_sequence: np.ndarray  # (G,)
    polygons: list[Polygon]
    households: np.ndarray
    businesses: np.ndarray

    def block_ring(self, i0: int, i1: int, j0: int, j1: int) -> list[tuple[float, float]]:
        """The outline of cells i0..i1-1 × j0..j1-1, counter-clockwise (RFC 7946), closed."""
        c, h, v = self.corners, self.h_edges, self.v_edges
        points: list = []
        for i in range(i0, i1):  # north side, west → east
            points.append(c[i, j0])
            points.extend(h[i, j0])
        for j in range(j0, j1):  # east side, north → south
            points.append(c[i1, j])
            points.extend(v[i1, j])
        for i in range(i1, i0, -1):  # south side, east → west
            points.append(c[i, j1])
            points.extend(h[i - 1, j1][::-1])
        for j in range(j1, j0, -1):  # west side, south → north
            points.append(c[i0, j])
            points.extend(v[i0, j - 1][::-1])
        ring = [(float(x), float(y)) for x, y in points]
        ring.append(ring[0])
        return ring[::-1]  # the walk above is clockwise with north up


def _geojson(ring: list[tuple[float, float]]) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [[[x, y] for x, y in ring]]}, separators=(",", ":"))


def lattice(cols: int, rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered corners and edge points, rounded to 7 decimals; the outer border stays a rectangle."""
    dlat = CELL_M / M_PER_DEG_LAT
    dlon = CELL_M / (111_320.0 * math.cos(math.radians(CENTRE[1])))
    lon0, lat0 = CENTRE[0] - cols * dlon / 2, CENTRE[1] + rows * dlat / 2  # north-west corner
    i = np.arange(cols + 1)[:, None]
    j = np.arange(rows + 1)[None, :]
    jx = rng.uniform(-CORNER_JITTER, CORNER_JITTER, (cols + 1, rows + 1)) * dlon
    jy = rng.uniform(-CORNER_JITTER, CORNER_JITTER, (cols + 1, rows + 1)) * dlat
    jx[[0, -1], :] = 0.0
    jy[:, [0, -1]] = 0.0
    corners = np.stack([lon0 + i * dlon + jx, lat0 - j * dlat + jy], axis=-1).round(7)

    def edges(a: np.ndarray, b: np.ndarray, border: np.ndarray) -> np.ndarray:
        t = (np.arange(1, SEGMENTS) / SEGMENTS)[:, None]  # (S-1, 1)
        d = b - a  # (..., 2)
        normal = np.stack([-d[..., 1], d[..., 0]], axis=-1)
        side = rng.uniform(-EDGE_JITTER, EDGE_JITTER, a.shape[:-1] + (SEGMENTS - 1,))
        side[border] = 0.0
        return (a[..., None, :] + t * d[..., None, :] + side[..., None] * normal[..., None, :]).round(7)

    h_border = np.zeros((cols, rows + 1), bool)
    h_border[:, [0, -1]] = True
    v_border = np.zeros((cols + 1, rows), bool)
    v_border[[0, -1], :] = True
    h_edges = edges(corners[:-1, :], corners[1:, :], h_border)
    v_edges = edges(corners[:, :-1], corners[:, 1:], v_border)
    return corners, h_edges, v_edges


# --- Grids and boundaries ------------------------------------------------------------------------


@seeder("grids.grids", order=200)
def grids_create(ctx: SeedContext) -> None:
    rng = ctx.rng("grids.grids")
    scale, units = ctx.scale, ctx.data["governance.units"]
    (dc, dr), (sc, sr), (cc, cr), (gc, gr) = scale.districts, scale.streets, scale.communities, scale.grids
    cols, rows = dc * sc * cc * gc, dr * sr * cr * gr
    corners, h_edges, v_edges = lattice(cols, rows, rng)

    # Each cell's community and sequence, from its place in the nested blocks.
    i = np.repeat(np.arange(cols), rows)
    j = np.tile(np.arange(rows), cols)
    district = (j // (sr * cr * gr)) * dc + i // (sc * cc * gc)
    street = district * (sc * sr) + ((j // (cr * gr)) % sr) * sc + (i // (cc * gc)) % sc
    community = street * (cc * cr) + ((j // gr) % cr) * cc + (i // gc) % cc
    sequence = (j % gr) * gc + i % gc + 1
    order = np.lexsort((sequence, community))  # grid ids follow community, then sequence
    i, j, community, sequence = i[order], j[order], community[order], sequence[order]
    n = len(order)
    ids = ctx.writer.ids(Grid, n)

    layout = Layout(cols, rows, corners, h_edges, v_edges, ids, np.stack([i, j], axis=1), community, sequence,
                    [], np.zeros(n, np.int64), np.zeros(n, np.int64))
    households = np.clip(rng.normal(400, 55, n), 150, 720).astype(np.int64)
    dedicated = rng.random(n) < 0.02
    kinds = rng.choice([k.value for k in DedicatedKind], n)
    households[dedicated] = rng.integers(0, 60, int(dedicated.sum()))
    residents = (households * rng.uniform(2.3, 2.9, n)).astype(np.int64)
    buildings = households // 45 + rng.integers(1, 6, n)
    centrality = 1.0 - np.hypot(i / cols - 0.5, j / rows - 0.5)  # busier towards the centre
    businesses = rng.poisson(8 + 30 * centrality**2)
    key_places = rng.poisson(0.8, n) + dedicated
    layout.households, layout.businesses = households, businesses

    rows_out = []
    for k in range(n):
        ring = layout.block_ring(int(i[k]), int(i[k]) + 1, int(j[k]), int(j[k]) + 1)
        polygon = Polygon(ring)
        layout.polygons.append(polygon)
        community_id = int(units.communities[community[k]])
        seq = int(sequence[k])
        derived = geometry.derive(polygon).as_fields()
        rows_out.append((
            int(ids[k]), community_id, f"{units.name[community_id]}第{seq:02d}网格",
            GridType.DEDICATED if dedicated[k] else GridType.BASIC, kinds[k] if dedicated[k] else "", None,
            generate_grid_code(scheme=GridCodeScheme.CJT213, community_code=units.code[community_id], sequence=seq),
            GridCodeScheme.CJT213.value, seq, _geojson(ring),
            *(derived[name] for name in ("min_lon", "min_lat", "max_lon", "max_lat", "centroid_lon", "centroid_lat",
                                         "area_m2")),
            int(households[k]), int(residents[k]), int(buildings[k]), int(businesses[k]), int(key_places[k]),
            True, True, ctx.as_of,
        ))
    ctx.writer.write(Grid, ["id", "community", "name", "grid_type", "dedicated_kind", "department", "code",
                            "code_scheme", "sequence", "boundary", "min_lon", "min_lat", "max_lon", "max_lat",
                            "centroid_lon", "centroid_lat", "area_m2", "households", "residents", "buildings",
                            "businesses", "key_places", "is_active", "is_synthetic", "updated_at"], rows_out)
    ctx.writer.update(AdministrativeUnit, ["boundary"], _unit_boundaries(layout, units))
    ctx.data["grids.layout"] = layout


def _unit_boundaries(layout: Layout, units: Units) -> list[tuple[int, str]]:
    """Each unit's outline: the walk round the rectangle of cells its grids fill."""
    community = layout.grid_community
    street = units.community_street[community]
    district = units.street_district[street]
    rows = [(units.city, _geojson(layout.block_ring(0, layout.cols, 0, layout.rows)))]
    i, j = layout.grid_cells[:, 0], layout.grid_cells[:, 1]
    for unit_ids, index in [(units.districts, district), (units.streets, street), (units.communities, community)]:
        size = len(unit_ids)
        i0, j0 = np.full(size, layout.cols), np.full(size, layout.rows)
        i1, j1 = np.zeros(size, np.int64), np.zeros(size, np.int64)
        np.minimum.at(i0, index, i)
        np.minimum.at(j0, index, j)
        np.maximum.at(i1, index, i + 1)
        np.maximum.at(j1, index, j + 1)
        rows.extend((int(unit_ids[u]), _geojson(layout.block_ring(int(i0[u]), int(i1[u]), int(j0[u]), int(j1[u]))))
                    for u in range(size))
    return rows


# --- Teams ----------------------------------------------------------------------------------------

POSITIONS = [(GridRole.FULL_TIME, Role.GRID_WORKER), (GridRole.LEADER, Role.GRID_LEADER),
             (GridRole.PART_TIME, Role.GRID_WORKER)]


@dataclass
class Teams:
    user_ids: np.ndarray  # every grid worker
    grid_index: np.ndarray  # each one's grid (index into Layout.grid_ids)
    position: np.ndarray  # 0 full-time, 1 leader, 2+ part-time
    full_time: np.ndarray  # per grid: the full-time worker's user id, or 0


@seeder("grids.teams", order=210)
def teams_create(ctx: SeedContext) -> None:
    rng = ctx.rng("grids.teams")
    layout: Layout = ctx.data["grids.layout"]
    units: Units = ctx.data["governance.units"]
    n, grids = ctx.scale.workers, len(layout.grid_ids)
    k = np.arange(n)
    grid_index, position = k % grids, k // grids
    slot = np.minimum(position, len(POSITIONS) - 1)
    usernames, roles, unit_ids = [], [], []
    for g, p, s in zip(grid_index.tolist(), position.tolist(), slot.tolist(), strict=True):
        community = int(units.communities[layout.grid_community[g]])
        code = units.code[community]
        usernames.append(f"syn-gw-{code[4:6]}{code[7:9]}{code[10:12]}{layout.grid_sequence[g]:02d}-{p + 1}")
        roles.append(POSITIONS[s][1])
        unit_ids.append(community)
    phones = synthetic_phones(rng, n)
    user_ids = people_add(ctx, usernames=usernames, names=person_names(rng, n), roles=roles, units=unit_ids,
                          departments=[None] * n, phones=phones)
    started = (ctx.as_of_datetime.date() - datetime.timedelta(days=400)).isoformat()
    member_ids = ctx.writer.ids(GridMembership, n)
    ctx.writer.write(GridMembership, ["id", "grid", "user", "grid_role", "phone", "started_on", "ended_on"],
                     ((int(m), int(layout.grid_ids[g]), int(u), POSITIONS[s][0].value, phones[x], started, None)
                      for x, (m, g, u, s) in enumerate(zip(member_ids, grid_index, user_ids, slot, strict=True))))
    full_time = np.zeros(grids, np.int64)
    first = position == 0
    full_time[grid_index[first]] = user_ids[first]
    ctx.data["grids.teams"] = Teams(user_ids, grid_index, position, full_time)


# --- Field work -------------------------------------------------------------------------------------

VISIT_PURPOSES = {VisitPurpose.ELDERLY_ALONE: 25, VisitPurpose.INFORMATION: 20, VisitPurpose.POLICY: 14,
                  VisitPurpose.SPECIAL_GROUP: 8, VisitPurpose.HARDSHIP: 8, VisitPurpose.DISABLED: 7,
                  VisitPurpose.ERRAND: 7, VisitPurpose.LEFT_BEHIND: 4, VisitPurpose.DISPUTE: 5, VisitPurpose.OTHER: 2}
VISIT_OUTCOMES = {VisitOutcome.ALL_WELL: 70, VisitOutcome.NEEDS_FOLLOW_UP: 15, VisitOutcome.NOBODY_HOME: 10,
                  VisitOutcome.REFERRED: 5}
VISIT_NOTES = {
    VisitOutcome.ALL_WELL: ["身体状况良好，生活正常。", "已宣传防诈骗知识。", "家中无安全隐患。", "已登记最新联系方式。"],
    VisitOutcome.NEEDS_FOLLOW_UP: ["独居老人，需每周回访。", "申请临时救助，待民政答复。", "家中燃气软管老化，已提醒更换，需复查。"],
    VisitOutcome.NOBODY_HOME: ["敲门无人应答，已留联系卡。", "住户外出务工，联系家属了解情况。"],
    VisitOutcome.REFERRED: ["反映楼道照明损坏，已转物业处理。", "低保政策咨询，已转社区民政专干。"],
}


def _weighted(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    keys = list(table)
    p = np.array([table[k] for k in keys], float)
    return np.array([str(k) for k in keys])[rng.choice(len(keys), n, p=p / p.sum())]


@seeder("grids.fieldwork", order=350, activity=True, bulk_tables=("grids.PatrolPoint", "grids.Visit"))
def fieldwork(ctx: SeedContext) -> None:
    patrols_create(ctx)
    visits_create(ctx)


def _route(polygon: Polygon, rng: np.random.Generator, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Fixes along the streets round the grid and across its middle, ``spacing_m`` apart, with noise;
    returns (lon/lat array, accuracy array)."""
    ring = np.asarray(polygon.exterior.coords)
    start = rng.integers(0, len(ring) - 1)
    ring = np.concatenate([ring[start:-1], ring[: start + 1]])  # begin at a random corner or bend
    (minx, miny, maxx, maxy) = polygon.bounds
    mid = (miny + maxy) / 2
    path = np.concatenate([ring, [[ring[-1][0], ring[-1][1]]], [[minx, mid], [maxx, mid]]])
    lon0, lat0 = path[0]
    mx = geometry.M_PER_DEG * math.cos(math.radians(lat0))
    my = geometry.M_PER_DEG
    xy = (path - (lon0, lat0)) * (mx, my)
    steps = np.hypot(*np.diff(xy, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    at = np.arange(0.0, along[-1], spacing_m)
    points = np.stack([np.interp(at, along, xy[:, 0]), np.interp(at, along, xy[:, 1])], axis=1)
    accuracy = rng.uniform(4, 15, len(points))
    bad = rng.random(len(points)) < 0.01  # an occasional poor fix (under trees, beside tall buildings)
    accuracy[bad] = rng.uniform(120, 300, int(bad.sum()))
    noise = rng.normal(0, 1, points.shape) * (accuracy / 3)[:, None]
    points = points + noise
    return (points / (mx, my) + (lon0, lat0)).round(7), accuracy.round(1)


def _track_m(points: np.ndarray) -> float:
    """``grids.tracks.track_distance_m`` (the haversine of ``grids.locator``) on an array of fixes."""
    if len(points) < 2:
        return 0.0
    lon, lat = np.radians(points[:, 0]), np.radians(points[:, 1])
    a = np.sin(np.diff(lat) / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(np.diff(lon) / 2) ** 2
    return float((2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))).sum())


def patrols_create(ctx: SeedContext) -> None:
    rng = ctx.rng("grids.patrols")
    layout: Layout = ctx.data["grids.layout"]
    teams: Teams = ctx.data["grids.teams"]
    staffed = np.flatnonzero(teams.full_time)
    n = ctx.scale.patrols
    if n == 0 or len(staffed) == 0:
        return
    patrolled = rng.choice(staffed, min(len(staffed), max(1, n // PATROLS_PER_GRID)), replace=False)
    grid_of = np.sort(rng.choice(patrolled, n))
    ids = ctx.writer.ids(Patrol, n)
    today = ctx.today
    day = rng.integers(1, 31, n)
    start = today - day * 86400 + rng.choice([9, 10, 14, 15], n) * 3600 + rng.integers(0, 3600, n)
    # The last few patrols are still under way: begun in the last hour, one per worker at most.
    open_ = np.zeros(n, bool)
    first_of_grid = np.flatnonzero(np.r_[True, grid_of[1:] != grid_of[:-1]])
    open_[first_of_grid[: max(1, len(first_of_grid) // 200)]] = True
    start[open_] = ctx.as_of - rng.integers(300, 3600, int(open_.sum()))
    coverage_of_grid: dict[int, float] = {}
    patrol_rows, point_parts = [], []
    for k in range(n):
        g = int(grid_of[k])
        polygon = layout.polygons[g]
        points, accuracy = _route(polygon, rng, spacing_m=24.0)  # a fix every 20 s at 1.2 m/s
        if open_[k]:
            keep = max(2, int((ctx.as_of - start[k]) // 20))
            points, accuracy = points[:keep], accuracy[:keep]
        times = start[k] + 20 * np.arange(len(points))
        if open_[k]:
            distance, coverage, ended, status = 0.0, None, None, PatrolStatus.OPEN
        else:
            good = points[accuracy <= MAX_ACCURACY_M]  # what patrol_end counts (grids.tracks.usable)
            distance = round(_track_m(good), 1)
            if g not in coverage_of_grid:  # the same walk every time: measured once per grid
                fixes = [Fix(s + 1, float(lon), float(lat)) for s, (lon, lat) in enumerate(good)]
                boundary = {"type": "Polygon", "coordinates": [list(polygon.exterior.coords)]}
                coverage_of_grid[g] = track_coverage(boundary, fixes)
            coverage, ended, status = coverage_of_grid[g], int(times[-1]) + 60, PatrolStatus.FINISHED
        patrol_rows.append((int(ids[k]), int(layout.grid_ids[g]), int(teams.full_time[g]), status.value,
                            int(start[k]), ended, distance, coverage, f"日常巡查{SUFFIX}", True))
        point_parts.append((np.full(len(points), ids[k]), np.arange(1, len(points) + 1), points[:, 0], points[:, 1],
                            accuracy, times))
    ctx.writer.write(Patrol, ["id", "grid", "worker", "status", "started_at", "ended_at", "distance_m", "coverage",
                              "notes", "is_synthetic"], patrol_rows)
    patrol, seq, lon, lat, accuracy, recorded = (np.concatenate(c) for c in zip(*point_parts, strict=True))
    ctx.writer.write_columns(PatrolPoint, ["id", "patrol", "seq", "lon", "lat", "accuracy_m", "recorded_at"],
                             [ctx.writer.ids(PatrolPoint, len(patrol)), patrol, seq, lon, lat, accuracy, recorded])


def visits_create(ctx: SeedContext) -> None:
    rng = ctx.rng("grids.visits")
    layout: Layout = ctx.data["grids.layout"]
    teams: Teams = ctx.data["grids.teams"]
    n = ctx.scale.visits
    if n == 0 or len(teams.user_ids) == 0:
        return
    # Visits by workers in proportion to their grid's households; full-time workers do most.
    weight = layout.households[teams.grid_index].astype(float) * np.where(teams.position == 0, 3.0, 1.0) + 1
    who = rng.choice(len(teams.user_ids), n, p=weight / weight.sum())
    today = ctx.today
    visited = today - rng.integers(0, 181, n) * 86400 + rng.choice([9, 10, 11, 15, 16, 17], n) * 3600 \
        + rng.integers(0, 3600, n)
    visited = np.minimum(visited, ctx.as_of - 600)
    purposes = _weighted(rng, VISIT_PURPOSES, n)
    outcomes = _weighted(rng, VISIT_OUTCOMES, n)
    follow_days = rng.integers(3, 15, n)
    done_roll = rng.random(n)
    notes_roll = rng.integers(0, 1000, n)
    building, unit, floor, room = (rng.integers(1, 25, n), rng.integers(1, 5, n), rng.integers(1, 19, n),
                                   rng.integers(1, 5, n))
    ids = ctx.writer.ids(Visit, n)
    as_of_date = ctx.as_of_local.date()

    def rows():
        for k in range(n):
            outcome = outcomes[k]
            follow_on = done_at = None
            if outcome == VisitOutcome.NEEDS_FOLLOW_UP:
                day = ctx.local_date(int(visited[k])) + datetime.timedelta(days=int(follow_days[k]))
                follow_on = day.isoformat()
                if day < as_of_date and done_roll[k] < 0.8:
                    done_at = min(int(visited[k]) + int(follow_days[k]) * 86400 + 3600, ctx.as_of - 60)
            pool = VISIT_NOTES[VisitOutcome(outcome)]
            yield (int(ids[k]), int(layout.grid_ids[teams.grid_index[who[k]]]), int(teams.user_ids[who[k]]),
                   f"{building[k]}号楼{unit[k]}单元{floor[k]}{room[k]:02d}室{SUFFIX}", purposes[k], outcome,
                   pool[notes_roll[k] % len(pool)], int(visited[k]), follow_on, done_at, True)

    ctx.writer.write(Visit, ["id", "grid", "worker", "household", "purpose", "outcome", "notes", "visited_at",
                             "follow_up_on", "follow_up_done_at", "is_synthetic"], rows())
