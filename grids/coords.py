"""Conversion between WGS-84, GCJ-02 and BD-09 (bd09ll, degrees).

Geometry is stored in WGS-84 (see docs: shared/domain/maps.md) and converted
only at the edges: when importing data drawn on an AMap/Tencent (GCJ-02) or
Baidu (BD-09) base map, and when drawing on such a tile layer.

The forward formulas are the widely published reference algorithm (the one in
eviltransform and coordtransform), reproduced constant for constant so that our
output matches other tools to the last bit. The GCJ-02 -> WGS-84 inverse has no
closed form; the reference libraries often ship a one-step approximation that is
off by up to a few metres, so we iterate instead (sub-centimetre).

Pure Python: no Django, no shapely, so it can run anywhere (imports, tasks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

__all__ = [
    "CRS",
    "bd09_to_gcj02",
    "convert",
    "convert_geometry",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "validate_lonlat",
    "wgs84_to_gcj02",
]


class CRS(str, Enum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


# Constants of the reference algorithm; do not "correct" them (e.g. the Krasovsky
# semi-major axis), or results stop matching every other implementation.
_PI = 3.1415926535897932384626
_X_PI = _PI * 3000.0 / 180.0
_A = 6378245.0
_EE = 0.00669342162296594323

# The inverse stops once the forward image is this close to the input (degrees).
# 1e-9 deg is about 0.1 mm, well inside the 1e-7 deg (1 cm) we promise.
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITERATIONS = 30

Transform = Callable[[float, float], tuple[float, float]]


def validate_lonlat(lon: float, lat: float) -> None:
    """Raise ValueError unless (lon, lat) is a finite point in degrees.

    Catches the classic swapped-axis mistake early: (39.9, 116.4) fails because
    latitude 116.4 is out of range.
    """
    if not (isinstance(lon, (int, float)) and isinstance(lat, (int, float))):
        raise ValueError(f"Coordinates must be numbers, got lon={lon!r}, lat={lat!r}.")
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"Coordinates must be finite, got lon={lon!r}, lat={lat!r}.")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"Longitude {lon!r} is out of range [-180, 180] (are lon and lat swapped?).")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"Latitude {lat!r} is out of range [-90, 90] (are lon and lat swapped?).")


def out_of_china(lon: float, lat: float) -> bool:
    """True when the reference algorithm leaves the point unshifted.

    This is the reference's rough bounding box, not the border: it is what every
    other GCJ-02 implementation uses, so points near the box edge agree with them.
    """
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * _PI) + 20.0 * math.sin(2.0 * x * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * _PI) + 40.0 * math.sin(y / 3.0 * _PI)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * _PI) + 320 * math.sin(y * _PI / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * _PI) + 20.0 * math.sin(2.0 * x * _PI)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * _PI) + 40.0 * math.sin(x / 3.0 * _PI)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * _PI) + 300.0 * math.sin(x / 30.0 * _PI)) * 2.0 / 3.0
    return ret


def _gcj02_offset(lon: float, lat: float) -> tuple[float, float]:
    """The (dlon, dlat) that GCJ-02 adds to a WGS-84 point inside China."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * _PI
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * _PI)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * _PI)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Invert wgs84_to_gcj02 by fixed-point iteration.

    The offset changes by well under 1 % per degree moved, so each step shrinks
    the error by about two orders of magnitude: 3-4 steps reach 1e-9 deg. The
    iteration cap only guards against pathological input.
    """
    if out_of_china(lon, lat):
        return lon, lat
    wgs_lon, wgs_lat = lon, lat
    for _ in range(_INVERSE_MAX_ITERATIONS):
        gcj_lon, gcj_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
        err_lon, err_lat = gcj_lon - lon, gcj_lat - lat
        if abs(err_lon) < _INVERSE_TOLERANCE_DEG and abs(err_lat) < _INVERSE_TOLERANCE_DEG:
            break
        wgs_lon, wgs_lat = wgs_lon - err_lon, wgs_lat - err_lat
    return wgs_lon, wgs_lat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    # No out-of-China check: Baidu applies this shift everywhere, as does the reference.
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The reference closed-form inverse; round trips to within ~1e-6 deg (< 0.2 m)."""
    x = lon - 0.0065
    y = lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


# Every conversion goes through GCJ-02, the hub both other systems are defined against.
_TO_GCJ02: dict[CRS, Transform | None] = {
    CRS.GCJ02: None,
    CRS.WGS84: wgs84_to_gcj02,
    CRS.BD09: bd09_to_gcj02,
}
_FROM_GCJ02: dict[CRS, Transform | None] = {
    CRS.GCJ02: None,
    CRS.WGS84: gcj02_to_wgs84,
    CRS.BD09: gcj02_to_bd09,
}


def _converter(source: CRS, target: CRS) -> Transform | None:
    """The function taking source to target, or None when they are the same."""
    source, target = CRS(source), CRS(target)
    if source is target:
        return None
    to_hub, from_hub = _TO_GCJ02[source], _FROM_GCJ02[target]
    if to_hub is None:
        return from_hub
    if from_hub is None:
        return to_hub
    return lambda lon, lat: from_hub(*to_hub(lon, lat))


def convert(lon: float, lat: float, *, source: CRS, target: CRS) -> tuple[float, float]:
    """Convert one point; raises ValueError for out-of-range input."""
    validate_lonlat(lon, lat)
    func = _converter(source, target)
    if func is None:
        return float(lon), float(lat)
    return func(lon, lat)


def _convert_position(position: Sequence[float], func: Transform | None) -> list[float]:
    if len(position) < 2:
        raise ValueError(f"A GeoJSON position needs at least [lon, lat], got {position!r}.")
    lon, lat, *rest = position
    validate_lonlat(lon, lat)
    if func is not None:
        lon, lat = func(lon, lat)
    # Keep any altitude untouched: the datum shifts are horizontal only.
    return [lon, lat, *rest]


def _convert_positions(coords: Any, depth: int, func: Transform | None) -> Any:
    """Walk `depth` levels of nesting (0 = a single position)."""
    if depth == 0:
        return _convert_position(coords, func)
    return [_convert_positions(item, depth - 1, func) for item in coords]


# Nesting depth of "coordinates" for each GeoJSON geometry type.
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def convert_geometry(geojson_geometry: dict, *, source: CRS, target: CRS) -> dict:
    """Return a converted copy of a GeoJSON geometry dict; the input is not modified.

    Supports Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon
    and GeometryCollection. A "bbox" member is dropped, since it would be stale.
    """
    func = _converter(source, target)
    return _convert_geometry(geojson_geometry, func)


def _convert_geometry(geometry: dict, func: Transform | None) -> dict:
    geom_type = geometry.get("type") if isinstance(geometry, dict) else None
    result = {key: value for key, value in geometry.items() if key != "bbox"} if geom_type else {}
    if geom_type == "GeometryCollection":
        result["geometries"] = [_convert_geometry(g, func) for g in geometry.get("geometries", [])]
        return result
    if geom_type not in _DEPTH:
        raise ValueError(f"Unsupported GeoJSON geometry type: {geom_type!r}.")
    if "coordinates" not in geometry:
        raise ValueError(f"GeoJSON {geom_type} has no 'coordinates'.")
    result["coordinates"] = _convert_positions(geometry["coordinates"], _DEPTH[geom_type], func)
    return result
