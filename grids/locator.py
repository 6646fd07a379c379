"""Point -> grid lookup for a whole city (10,000+ grid polygons) in memory.

Polygons are in WGS-84 lon/lat degrees (the stored system, see maps.md). The
Django layer keeps one instance per process and rebuilds it when the grids'
version stamp changes, so construction is kept cheap (about 0.1 s for 10,000
grids): two STRtrees and shapely.prepare, whose GEOS indexes are built lazily
on first use rather than up front.

How a lookup runs:
1. the STRtree gives the grids whose bounding box holds the point;
2. they are tested in ascending grid_id order with shapely.intersects_xy on
   prepared geometries (an indexed point-in-polygon, so cost barely grows with
   vertex count), and the first hit wins;
3. only if none holds the point, a second STRtree over the polygons projected
   to local metres finds the nearest grid.

Points on a boundary count as inside ("intersects", not "contains"), so a
point on an edge or vertex shared by several grids is in all of them. We then
return the smallest grid_id: the answer must not depend on the order the grids
were loaded in (a database query without ORDER BY, a rebuild after an edit),
or the same GPS fix could land in different grids on different workers.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from grids.coords import validate_lonlat

__all__ = ["GridLocator", "LocatorResult"]

# Mean Earth radius (IUGG); the distances are approximate by design.
EARTH_RADIUS_M = 6_371_008.8
_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0


@dataclass(frozen=True, slots=True)
class LocatorResult:
    """Where a point falls.

    Inside a grid: grid_id and nearest_grid_id are that grid, distance_m is 0.0.
    Outside every grid: grid_id is None, nearest_grid_id is the closest grid and
    distance_m the approximate distance to it in metres.
    Empty index (or nothing within max_nearest_m): all three are None.
    """

    grid_id: int | None
    distance_m: float | None
    nearest_grid_id: int | None


_NOWHERE = LocatorResult(grid_id=None, distance_m=None, nearest_grid_id=None)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (spherical Earth, error < 0.5 %)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


class GridLocator:
    """Immutable index of grid polygons; safe to share between threads."""

    def __init__(
        self,
        grids: Iterable[tuple[int, BaseGeometry]],
        *,
        max_nearest_m: float | None = None,
    ) -> None:
        """Index (grid_id, Polygon | MultiPolygon) pairs in lon/lat degrees.

        max_nearest_m: when set, a point farther than this from every grid gets
        no nearest grid (all-None result); None searches without limit.
        Raises ValueError for duplicate ids, empty or non-polygonal geometry.
        Polygon validity is not checked here: that belongs to the import path,
        and one bad grid must not stop the whole city's index from loading.
        """
        ids, geoms = self._sorted_input(grids)
        self._ids: list[int] = ids
        self._geoms = geoms
        self._max_nearest_m = max_nearest_m
        # Cached inside-results, one per grid, filled on demand: results are
        # immutable, and building 200k dataclasses would dominate locate_many.
        self._inside: list[LocatorResult | None] = [None] * len(ids)
        # GEOS prepared geometries build their point-in-area index lazily and
        # that is not thread-safe (libgeos/geos#825), while shapely releases
        # the GIL during predicates; serialise predicate calls on our geometries.
        self._lock = threading.Lock()
        shapely.prepare(geoms)
        self._tree = shapely.STRtree(geoms)
        self._origin, self._scale = self._local_projection(geoms)
        self._metric_tree = shapely.STRtree(self._to_metres(geoms))

    def __len__(self) -> int:
        return len(self._ids)

    # -- construction helpers ------------------------------------------------

    @staticmethod
    def _sorted_input(grids: Iterable[tuple[int, BaseGeometry]]) -> tuple[list[int], np.ndarray]:
        """Grids sorted by id, so tree index order is id order (see locate)."""
        pairs = sorted(((int(grid_id), geom) for grid_id, geom in grids), key=lambda pair: pair[0])
        ids = [grid_id for grid_id, _ in pairs]
        geoms = np.array([geom for _, geom in pairs], dtype=object)
        for previous, current in zip(ids, ids[1:]):
            if previous == current:
                raise ValueError(f"Grid id {current} appears more than once.")
        if len(geoms):
            type_ids = shapely.get_type_id(geoms)
            polygonal = (type_ids == shapely.GeometryType.POLYGON) | (
                type_ids == shapely.GeometryType.MULTIPOLYGON
            )
            bad = np.flatnonzero(~polygonal | shapely.is_empty(geoms))
            if bad.size:
                raise ValueError(f"Grid {ids[bad[0]]} is not a non-empty Polygon or MultiPolygon.")
        return ids, geoms

    @staticmethod
    def _local_projection(geoms: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
        """Equirectangular projection centred on the index (metres per degree).

        Finding the nearest grid in plain degrees would be wrong: a degree of
        longitude is only ~0.83 of a degree of latitude at Xi'an's latitude.
        """
        if not len(geoms):
            return (0.0, 0.0), (_M_PER_DEG, _M_PER_DEG)
        minx, miny, maxx, maxy = shapely.total_bounds(geoms).tolist()
        lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
        return (lon0, lat0), (_M_PER_DEG * math.cos(math.radians(lat0)), _M_PER_DEG)

    def _to_metres(self, geoms: np.ndarray) -> np.ndarray:
        origin, scale = np.array(self._origin), np.array(self._scale)
        return shapely.transform(geoms, lambda coords: (coords - origin) * scale)

    def _from_metres(self, xy: np.ndarray) -> np.ndarray:
        return xy / np.array(self._scale) + np.array(self._origin)

    # -- lookups -------------------------------------------------------------

    def locate(self, lon: float, lat: float) -> LocatorResult:
        """The grid holding (lon, lat) in WGS-84 degrees, else the nearest grid."""
        validate_lonlat(lon, lat)
        if not self._ids:
            return _NOWHERE
        candidates = self._tree.query(shapely.Point(lon, lat))
        if candidates.size:
            hit = self._first_hit(sorted(candidates.tolist()), lon, lat)
            if hit is not None:
                return self._inside_result(hit)
        return self._nearest_many(np.array([[lon, lat]], dtype=float))[0]

    def _first_hit(self, candidates: list[int], lon: float, lat: float) -> int | None:
        # Ascending tree index is ascending grid_id, so the first hit is the smallest id.
        geoms, intersects_xy = self._geoms, shapely.intersects_xy
        with self._lock:
            for index in candidates:
                if intersects_xy(geoms[index], lon, lat):
                    return index
        return None

    def _inside_result(self, index: int) -> LocatorResult:
        result = self._inside[index]
        if result is None:
            grid_id = self._ids[index]
            result = LocatorResult(grid_id=grid_id, distance_m=0.0, nearest_grid_id=grid_id)
            self._inside[index] = result  # benign race: any thread stores an equal value
        return result

    def locate_many(self, points: Iterable[tuple[float, float]] | np.ndarray) -> list[LocatorResult]:
        """locate() for many (lon, lat) points at once, in input order.

        Vectorised: one bulk STRtree query and one intersects_xy call for all
        candidate pairs, then one nearest query for the points left outside.
        """
        xy = self._as_xy(points)
        if not len(xy):
            return []
        if not self._ids:
            return [_NOWHERE] * len(xy)
        best = self._bulk_inside(xy)
        results: list[LocatorResult | None] = [
            None if index < 0 else self._inside_result(index) for index in best.tolist()
        ]
        outside = np.flatnonzero(best < 0)
        if outside.size:
            for position, result in zip(outside.tolist(), self._nearest_many(xy[outside])):
                results[position] = result
        return results  # type: ignore[return-value]  # every slot is filled by now

    @staticmethod
    def _as_xy(points: Iterable[tuple[float, float]] | np.ndarray) -> np.ndarray:
        xy = np.asarray(points if isinstance(points, np.ndarray) else list(points), dtype=float)
        if xy.size == 0:
            return xy.reshape(0, 2)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(f"Expected a sequence of (lon, lat) pairs, got shape {xy.shape}.")
        bad = np.flatnonzero(
            ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
        )
        if bad.size:
            lon, lat = xy[bad[0]].tolist()
            validate_lonlat(lon, lat)  # raises with the specific message
        return xy

    def _bulk_inside(self, xy: np.ndarray) -> np.ndarray:
        """Tree index of the smallest-id grid holding each point, or -1."""
        point_idx, tree_idx = self._tree.query(shapely.points(xy))
        with self._lock:
            hit = shapely.intersects_xy(self._geoms[tree_idx], xy[point_idx, 0], xy[point_idx, 1])
        best = np.full(len(xy), len(self._ids), dtype=np.int64)
        np.minimum.at(best, point_idx[hit], tree_idx[hit])
        best[best == len(self._ids)] = -1
        return best

    def _nearest_many(self, xy: np.ndarray) -> list[LocatorResult]:
        """Nearest grid for points known to be outside every grid."""
        origin, scale = np.array(self._origin), np.array(self._scale)
        metric_points = shapely.points((xy - origin) * scale)
        point_idx, tree_idx = self._metric_tree.query_nearest(
            metric_points, max_distance=self._max_nearest_m, all_matches=True
        )
        # all_matches returns every grid at the same distance; keep the smallest id.
        best = np.full(len(xy), len(self._ids), dtype=np.int64)
        np.minimum.at(best, point_idx, tree_idx)
        found = np.flatnonzero(best < len(self._ids))
        results = [_NOWHERE] * len(xy)
        if not found.size:
            return results
        # Measure along the sphere between the point and its closest point on the
        # grid, so the distance stays honest far from the projection's centre.
        lines = shapely.shortest_line(metric_points[found], self._metric_tree.geometries[best[found]])
        closest = self._from_metres(shapely.get_coordinates(lines).reshape(-1, 2, 2)[:, 1, :])
        for position, index, (lon2, lat2) in zip(found.tolist(), best[found].tolist(), closest.tolist()):
            lon1, lat1 = xy[position].tolist()
            results[position] = LocatorResult(
                grid_id=None,
                distance_m=haversine_m(lon1, lat1, lon2, lat2),
                nearest_grid_id=self._ids[index],
            )
        return results
