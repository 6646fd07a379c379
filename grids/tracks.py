"""Patrol tracks: distance walked and the share of a grid covered, from GPS fixes (pure functions).

Fixes are WGS-84 (phone browsers' geolocation, see maps.md) and so are grid boundaries, so no datum
conversion happens here. Areas and buffers need metres: they are computed in an equirectangular
projection centred on the grid, which is accurate to well under 1 % over a grid's few hundred metres.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point, shape

from grids.geometry import to_metric
from grids.locator import haversine_m

# A fix whose accuracy radius is worse than this says little about where the worker walked; such
# fixes are kept in the database (the raw record) but left out of distance, coverage and the drawn track.
MAX_ACCURACY_M = 100.0
# A grid worker "covers" what they can see from the street: ~30 m either side of the track.
COVERAGE_RADIUS_M = 30.0

@dataclass(frozen=True, slots=True)
class Fix:
    seq: int
    lon: float
    lat: float
    accuracy_m: float | None = None


def usable(fixes: Iterable[Fix], max_accuracy_m: float = MAX_ACCURACY_M) -> list[Fix]:
    """The fixes good enough to draw, in ``seq`` order (the phone's own order, not arrival order)."""
    good = [f for f in fixes if f.accuracy_m is None or f.accuracy_m <= max_accuracy_m]
    return sorted(good, key=lambda f: f.seq)


def track_distance_m(fixes: Sequence[Fix]) -> float:
    """Length in metres of the path through ``fixes`` taken in the order given."""
    return sum(haversine_m(a.lon, a.lat, b.lon, b.lat) for a, b in zip(fixes, fixes[1:], strict=False))


def track_coverage(
    boundary: dict | None, fixes: Sequence[Fix], radius_m: float = COVERAGE_RADIUS_M
) -> float | None:
    """Share (0..1) of the grid's area lying within ``radius_m`` of the track; None without a boundary."""
    if not boundary:
        return None
    grid = shape(boundary)
    if grid.is_empty:
        return None
    if not fixes:
        return 0.0
    origin = (grid.centroid.x, grid.centroid.y)
    grid_m = shapely.make_valid(to_metric(grid, origin))
    if grid_m.area <= 0:
        return None
    coords = [(f.lon, f.lat) for f in fixes]
    track = LineString(coords) if len(set(coords)) > 1 else Point(coords[0])
    covered = to_metric(track, origin).buffer(radius_m).intersection(grid_m).area
    return min(1.0, covered / grid_m.area)


def track_geojson(fixes: Sequence[Fix]) -> dict:
    """The track as a GeoJSON LineString (fewer than two fixes give an empty coordinate list)."""
    coords = [[f.lon, f.lat] for f in fixes]
    return {"type": "LineString", "coordinates": coords if len(coords) > 1 else []}
