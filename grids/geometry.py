"""Grid geometry: checking GeoJSON polygons, and areas and bounds derived from them.

Pure shapely, no Django. Geometry is WGS-84 lon/lat degrees (maps.md); areas and distances use a
local equirectangular projection centred on the shape, which is within a fraction of a percent for
shapes the size of a community.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from grids.coords import validate_lonlat
from grids.locator import EARTH_RADIUS_M

M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0

# A grid may stick out of its community by this much (digitising noise on a shared boundary).
CONTAINMENT_TOLERANCE_M = 2.0
# Overlaps smaller than this are touching edges drawn slightly apart, not worth a warning.
OVERLAP_MIN_M2 = 1.0


class GeometryError(ValueError):
    """A boundary that cannot be stored; the message says why, for a person to fix it."""


def _check_ring(ring, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise GeometryError(f"{where} needs at least 4 positions (a closed triangle), got {len(ring) if isinstance(ring, list) else ring!r}.")
    for position in ring:
        if not isinstance(position, (list, tuple)) or len(position) < 2:
            raise GeometryError(f"{where} has a position that is not [lon, lat]: {position!r}.")
        try:
            validate_lonlat(position[0], position[1])
        except ValueError as exc:
            raise GeometryError(f"{where}: {exc}") from None
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise GeometryError(f"{where} is not closed: its first position {ring[0]!r} differs from its last {ring[-1]!r}.")


def parse_boundary(geojson: object) -> BaseGeometry:
    """A valid shapely Polygon/MultiPolygon from a GeoJSON geometry, or GeometryError saying why not."""
    if not isinstance(geojson, dict):
        raise GeometryError("The boundary must be a GeoJSON geometry object.")
    kind, coords = geojson.get("type"), geojson.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise GeometryError(f"The boundary must be a Polygon or MultiPolygon, not {kind!r}.")
    if not isinstance(polygons, list) or not polygons:
        raise GeometryError("The boundary has no coordinates.")
    for p, rings in enumerate(polygons, start=1):
        if not isinstance(rings, list) or not rings:
            raise GeometryError(f"Polygon {p} has no rings.")
        for r, ring in enumerate(rings):
            _check_ring(ring, f"Polygon {p}, {'outer ring' if r == 0 else f'hole {r}'}")
    geom = shape(geojson)
    if geom.is_empty:
        raise GeometryError("The boundary is empty.")
    if not geom.is_valid:
        raise GeometryError(f"The boundary is not a valid polygon: {explain_validity(geom)}.")
    if geom.area == 0:
        raise GeometryError("The boundary has no area.")
    return geom


def to_geojson(geom: BaseGeometry) -> dict:
    """Plain-list GeoJSON (shapely's mapping() gives tuples, which JSONField round-trips as lists)."""
    return _lists(mapping(geom))


def _lists(value):
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def to_metric(geom: BaseGeometry, origin: tuple[float, float]) -> BaseGeometry:
    """``geom`` in metres east/north of ``origin`` (equirectangular; well under 1 % error over a grid)."""
    lon0, lat0 = origin
    sx, sy = M_PER_DEG * math.cos(math.radians(lat0)), M_PER_DEG
    return shapely.transform(geom, lambda c: (c - (lon0, lat0)) * (sx, sy))


def area_m2(geom: BaseGeometry, origin: tuple[float, float] | None = None) -> float:
    if geom.is_empty:
        return 0.0
    if origin is None:
        c = geom.centroid
        origin = (c.x, c.y)
    return float(to_metric(geom, origin).area)


@dataclass(frozen=True)
class Derived:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    centroid_lon: float
    centroid_lat: float
    area_m2: float

    def as_fields(self) -> dict[str, float]:
        return {name: round(getattr(self, name), 8 if name != "area_m2" else 1) for name in self.__dataclass_fields__}


def derive(geom: BaseGeometry) -> Derived:
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    c = geom.centroid
    return Derived(min_lon, min_lat, max_lon, max_lat, c.x, c.y, area_m2(geom, (c.x, c.y)))


def outside_area_m2(geom: BaseGeometry, container: BaseGeometry) -> float:
    """The area of ``geom`` lying outside ``container`` grown by the containment tolerance (m²)."""
    c = geom.centroid
    origin = (c.x, c.y)
    metric_geom, metric_container = to_metric(geom, origin), to_metric(container, origin)
    return float(metric_geom.difference(metric_container.buffer(CONTAINMENT_TOLERANCE_M)).area)


def overlap_m2(a: BaseGeometry, b: BaseGeometry) -> float:
    if not a.intersects(b):
        return 0.0
    c = a.centroid
    return area_m2(a.intersection(b), (c.x, c.y))


# Half a screen pixel in degrees at each web-mercator zoom level: simplifying by less is invisible.
def tolerance_for_zoom(zoom: int | None) -> float:
    if zoom is None:
        return 0.0
    zoom = max(0, min(int(zoom), 22))
    return 360.0 / (256 * 2**zoom) / 2


def precision_for_zoom(zoom: int | None) -> int:
    """Decimal places that keep a tenth of a pixel: 7 (1 cm) when not zoom-limited."""
    if zoom is None:
        return 7
    return max(3, min(7, int(math.ceil(math.log10(256 * 2 ** max(0, min(zoom, 22)) * 10 / 360)))))


def simplified(geom: BaseGeometry, zoom: int | None) -> BaseGeometry:
    """For drawing only: simplified below a pixel and rounded to the zoom's precision."""
    tolerance = tolerance_for_zoom(zoom)
    result = geom.simplify(tolerance, preserve_topology=True) if tolerance else geom
    digits = precision_for_zoom(zoom)
    return shapely.transform(result, lambda c: np.round(c, digits))
