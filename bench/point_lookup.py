"""Benchmark GridLocator on a synthetic city: 10,000 grids tiling ~30 x 30 km of Xi'an.

Run from the repo root, no Django needed:

    .venv/bin/python bench/point_lookup.py [--side 100] [--lookups 200000] [--segments 3] [--seed 1]

or, with ``--city``, on the grids of the seeded city database (``manage.py seed_city``; BENCH_DATABASE_URL,
default gg_city): the index the app builds (``grids.selectors.grid_locator``) over its 10,000 grids,
and ``locate_point`` as a report calls it (index, then the grid and its units from the database).

The grids are the cells of a jittered lattice whose edges also carry jittered
intermediate vertices. Neighbours share the very same edge coordinates, so the
cells tile the rectangle exactly (no gaps, no overlaps), yet no edge is axis
aligned. Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from pathlib import Path

import shapely
from shapely.geometry import Polygon

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from grids.locator import GridLocator  # noqa: E402

CENTRE = (108.94, 34.26)  # Xi'an (lon, lat)
CELL_M = 300.0
M_PER_DEG_LAT = 110_574.0

Point2 = tuple[float, float]


def lattice(side: int, rng: random.Random) -> tuple[list[list[Point2]], float, float, float, float]:
    """(side+1)^2 jittered corner vertices; border ones only slide along the border."""
    dlat = CELL_M / M_PER_DEG_LAT
    dlon = CELL_M / (111_320.0 * math.cos(math.radians(CENTRE[1])))
    lon0, lat0 = CENTRE[0] - side * dlon / 2, CENTRE[1] - side * dlat / 2
    corners = []
    for i in range(side + 1):
        column = []
        for j in range(side + 1):
            jx = 0.0 if i in (0, side) else rng.uniform(-0.25, 0.25) * dlon
            jy = 0.0 if j in (0, side) else rng.uniform(-0.25, 0.25) * dlat
            column.append((lon0 + i * dlon + jx, lat0 + j * dlat + jy))
        corners.append(column)
    return corners, lon0, lat0, dlon, dlat


def edge(a: Point2, b: Point2, segments: int, rng: random.Random, jitter: float) -> list[Point2]:
    """Points strictly between a and b, nudged sideways; shared by both neighbours.

    Border edges get jitter 0 so the outer boundary stays the exact rectangle.
    """
    (ax, ay), (bx, by) = a, b
    nx, ny = -(by - ay), bx - ax  # normal, scaled to the edge length
    points = []
    for k in range(1, segments):
        t, s = k / segments, rng.uniform(-jitter, jitter)
        points.append((ax + t * (bx - ax) + s * nx, ay + t * (by - ay) + s * ny))
    return points


def synthetic_grids(side: int, seed: int, segments: int = 3) -> tuple[list[tuple[int, Polygon]], tuple]:
    rng = random.Random(seed)
    corners, lon0, lat0, dlon, dlat = lattice(side, rng)
    horizontal = {  # edge from (i, j) to (i+1, j)
        (i, j): edge(corners[i][j], corners[i + 1][j], segments, rng, 0.0 if j in (0, side) else 0.08)
        for i in range(side) for j in range(side + 1)
    }
    vertical = {  # edge from (i, j) to (i, j+1)
        (i, j): edge(corners[i][j], corners[i][j + 1], segments, rng, 0.0 if i in (0, side) else 0.08)
        for i in range(side + 1) for j in range(side)
    }
    grids = []
    for i in range(side):
        for j in range(side):
            # Counter-clockwise: bottom, right, top (reversed), left (reversed).
            ring = [corners[i][j], *horizontal[i, j], corners[i + 1][j], *vertical[i + 1, j],
                    corners[i + 1][j + 1], *reversed(horizontal[i, j + 1]), corners[i][j + 1],
                    *reversed(vertical[i, j])]
            grids.append((i * side + j + 1, Polygon(ring)))
    bounds = (lon0, lat0, lon0 + side * dlon, lat0 + side * dlat)
    return grids, bounds


def timed(func, *args):
    start = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - start


def city(args) -> None:
    """The same lookups on the seeded city's grids, through the app's own functions."""
    from bench import common

    common.setup_django()
    from django.db.models import Max, Min

    from grids.models import Grid
    from grids.selectors import grid_locator, locate_point

    locator, build_s = timed(grid_locator)
    box = Grid.objects.filter(is_active=True).aggregate(Min("min_lon"), Min("min_lat"), Max("max_lon"), Max("max_lat"))
    minx, miny, maxx, maxy = box["min_lon__min"], box["min_lat__min"], box["max_lon__max"], box["max_lat__max"]
    rng = random.Random(args.seed + 1)
    points = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(args.lookups)]
    single, single_s = timed(lambda: [locator.locate(lon, lat) for lon, lat in points])
    batch, batch_s = timed(locator.locate_many, points)
    assert single == batch, "locate and locate_many disagree"
    full_n = min(args.lookups, 5000)
    _found, full_s = timed(lambda: [locate_point(lon, lat) for lon, lat in points[:full_n]])
    common.emit({
        "bench": "point_lookup_city", "database": common.DATABASE_URL.rsplit("/", 1)[-1], "grids": len(locator),
        "build_s": round(build_s, 3), "lookups": args.lookups,
        "inside_share": round(sum(r.grid_id is not None for r in single) / len(single), 3),
        "single_per_s": round(args.lookups / single_s), "batch_per_s": round(args.lookups / batch_s),
        "locate_point_lookups": full_n, "locate_point_per_s": round(full_n / full_s),
        "python": platform.python_version(), "shapely": shapely.__version__, "geos": shapely.geos_version_string,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100, help="grids per side (side^2 grids)")
    parser.add_argument("--lookups", type=int, default=200_000)
    parser.add_argument("--outside", type=int, default=10_000, help="lookups outside every grid")
    parser.add_argument("--segments", type=int, default=3, help="segments per cell edge (vertex count)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--city", action="store_true", help="the seeded city database's grids (see above)")
    args = parser.parse_args()
    if args.city:
        city(args)
        return

    grids, (minx, miny, maxx, maxy) = synthetic_grids(args.side, args.seed, args.segments)
    locator, build_s = timed(GridLocator, grids)

    rng = random.Random(args.seed + 1)
    points = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(args.lookups)]
    # Outside points: a band 0-2 km south of the tiled area (GPS fixes beyond the city edge).
    south = [(rng.uniform(minx, maxx), miny - rng.uniform(1e-4, 0.018)) for _ in range(args.outside)]

    single, single_s = timed(lambda: [locator.locate(lon, lat) for lon, lat in points])
    batch, batch_s = timed(locator.locate_many, points)
    nearest, nearest_s = timed(lambda: [locator.locate(lon, lat) for lon, lat in south])

    # Sanity: both paths agree and the tiling has no holes.
    assert single == batch, "locate and locate_many disagree"
    assert all(r.grid_id is not None for r in single), "a point inside the tiling found no grid"
    assert all(r.grid_id is None and r.nearest_grid_id is not None for r in nearest)

    print(json.dumps({
        "bench": "point_lookup",
        "grids": len(locator),
        "vertices_per_grid": round(sum(len(p.exterior.coords) - 1 for _, p in grids) / len(grids), 1),
        "build_s": round(build_s, 4),
        "lookups": args.lookups,
        "single_per_s": round(args.lookups / single_s),
        "batch_per_s": round(args.lookups / batch_s),
        "outside_lookups": args.outside,
        "outside_single_per_s": round(args.outside / nearest_s),
        "python": platform.python_version(),
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
    }))


if __name__ == "__main__":
    main()
