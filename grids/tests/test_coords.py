import copy
import math

import pytest

from grids.coords import (
    CRS,
    bd09_to_gcj02,
    convert,
    convert_geometry,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    validate_lonlat,
    wgs84_to_gcj02,
)

CITIES = {
    "beijing": (116.397128, 39.916527),
    "xian": (108.94, 34.26),
    "ordos": (109.78, 39.61),
    "shanghai": (121.4737, 31.2304),
    "urumqi": (87.6168, 43.8256),
    "sanya": (109.5119, 18.2528),
    "harbin": (126.6425, 45.7570),
}
ABROAD = {
    "tokyo": (139.6917, 35.6895),
    "london": (-0.1276, 51.5072),
    "sydney": (151.2093, -33.8688),
    "new_york": (-74.006, 40.7128),
}


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance; plenty for sub-kilometre checks."""
    mean_lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(mean_lat)
    dy = math.radians(b[1] - a[1])
    return 6_371_008.8 * math.hypot(dx, dy)


# Published example of wandergis/coordtransform (also used by hutool's tests):
# each function applied to (116.404, 39.915).
def test_it_matches_published_bd09_to_gcj02():
    assert bd09_to_gcj02(116.404, 39.915) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-12)


def test_it_matches_published_gcj02_to_bd09():
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-12)


def test_it_matches_published_wgs84_to_gcj02():
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-12)


def test_it_inverts_gcj02_better_than_the_published_one_step_approximation():
    published_one_step = (116.39775550083061, 39.91359571849836)
    wgs = gcj02_to_wgs84(116.404, 39.915)
    assert metres(wgs, published_one_step) < 0.5
    # ...but ours maps back onto the input exactly (< 1e-7 deg), the one-step does not.
    assert wgs84_to_gcj02(*wgs) == pytest.approx((116.404, 39.915), abs=1e-7)
    assert metres(wgs84_to_gcj02(*published_one_step), (116.404, 39.915)) > 0.01


def test_it_converts_bd09_to_wgs84_via_gcj02():
    gcj = (116.39762729119315, 39.90865673957631)
    wgs = convert(116.404, 39.915, source=CRS.BD09, target=CRS.WGS84)
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-7)
    # hutool / geocraft one-step result for the same chain, within half a metre.
    assert metres(wgs, (116.3913836995125, 39.907253214522164)) < 0.5


@pytest.mark.parametrize("city", CITIES)
def test_it_round_trips_wgs84_gcj02_within_half_a_metre(city):
    wgs = CITIES[city]
    back = gcj02_to_wgs84(*wgs84_to_gcj02(*wgs))
    assert metres(wgs, back) < 0.5
    assert back == pytest.approx(wgs, abs=1e-7)


@pytest.mark.parametrize("city", CITIES)
def test_it_shifts_points_in_china_by_a_plausible_amount(city):
    # GCJ-02 moves points by tens to hundreds of metres; zero would mean a silent no-op.
    shift = metres(CITIES[city], wgs84_to_gcj02(*CITIES[city]))
    assert 10 < shift < 1000


@pytest.mark.parametrize("city", CITIES)
def test_it_round_trips_gcj02_bd09_within_half_a_metre(city):
    gcj = CITIES[city]
    assert metres(gcj, bd09_to_gcj02(*gcj02_to_bd09(*gcj))) < 0.5


@pytest.mark.parametrize("city", CITIES)
def test_it_round_trips_wgs84_bd09_within_half_a_metre(city):
    wgs = CITIES[city]
    bd = convert(*wgs, source=CRS.WGS84, target=CRS.BD09)
    assert bd == pytest.approx(gcj02_to_bd09(*wgs84_to_gcj02(*wgs)), abs=1e-12)
    assert metres(wgs, convert(*bd, source=CRS.BD09, target=CRS.WGS84)) < 0.5


@pytest.mark.parametrize("place", ABROAD)
def test_it_leaves_points_outside_china_unchanged(place):
    lon, lat = ABROAD[place]
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert convert(lon, lat, source=CRS.GCJ02, target=CRS.WGS84) == (lon, lat)


def test_it_treats_cities_as_inside_china():
    assert not any(out_of_china(*point) for point in CITIES.values())


def test_it_returns_same_crs_unchanged_and_accepts_strings():
    assert convert(108.94, 34.26, source=CRS.GCJ02, target=CRS.GCJ02) == (108.94, 34.26)
    assert convert(108.94, 34.26, source="wgs84", target="gcj02") == wgs84_to_gcj02(108.94, 34.26)


@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        (181.0, 34.0, "Longitude 181.0 is out of range"),
        (-180.5, 34.0, "Longitude -180.5 is out of range"),
        (39.9, 116.4, "Latitude 116.4 is out of range"),  # swapped axes
        (108.9, -90.01, "Latitude -90.01 is out of range"),
        (float("nan"), 34.0, "finite"),
        (108.9, float("inf"), "finite"),
        ("108.9", 34.0, "numbers"),
    ],
)
def test_it_rejects_bad_coordinates(lon, lat, message):
    with pytest.raises(ValueError, match=message):
        validate_lonlat(lon, lat)
    with pytest.raises(ValueError, match=message):
        convert(lon, lat, source=CRS.WGS84, target=CRS.GCJ02)


def test_it_accepts_the_extremes():
    for lon, lat in [(-180, -90), (180, 90), (0, 0)]:
        validate_lonlat(lon, lat)


def _convert(lon, lat):
    return list(convert(lon, lat, source=CRS.BD09, target=CRS.WGS84))


def test_it_converts_a_point_geometry_keeping_altitude():
    point = {"type": "Point", "coordinates": [108.94, 34.26, 400.0]}
    result = convert_geometry(point, source=CRS.BD09, target=CRS.WGS84)
    assert result == {"type": "Point", "coordinates": [*_convert(108.94, 34.26), 400.0]}


def test_it_converts_a_linestring():
    line = {"type": "LineString", "coordinates": [(108.94, 34.26), (108.95, 34.27)]}
    result = convert_geometry(line, source=CRS.BD09, target=CRS.WGS84)
    assert result["coordinates"] == [_convert(108.94, 34.26), _convert(108.95, 34.27)]


def test_it_converts_a_polygon_with_a_hole_without_mutating_the_input():
    shell = [[108.9, 34.2], [109.0, 34.2], [109.0, 34.3], [108.9, 34.3], [108.9, 34.2]]
    hole = [[108.94, 34.24], [108.96, 34.24], [108.96, 34.26], [108.94, 34.24]]
    polygon = {"type": "Polygon", "coordinates": [shell, hole], "bbox": [108.9, 34.2, 109.0, 34.3]}
    original = copy.deepcopy(polygon)
    result = convert_geometry(polygon, source=CRS.BD09, target=CRS.WGS84)
    assert polygon == original
    assert "bbox" not in result  # it would describe the old coordinates
    assert result["coordinates"] == [[_convert(*p) for p in shell], [_convert(*p) for p in hole]]
    assert result["coordinates"][0][0] == result["coordinates"][0][-1]  # ring stays closed


def test_it_converts_a_multipolygon():
    part = [[[108.9, 34.2], [108.91, 34.2], [108.91, 34.21], [108.9, 34.2]]]
    multi = {"type": "MultiPolygon", "coordinates": [part, part]}
    result = convert_geometry(multi, source=CRS.BD09, target=CRS.WGS84)
    expected = [[[_convert(*p) for p in part[0]]]] * 2
    assert result == {"type": "MultiPolygon", "coordinates": expected}


def test_it_converts_a_geometry_collection():
    collection = {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [108.94, 34.26]}]}
    result = convert_geometry(collection, source=CRS.BD09, target=CRS.WGS84)
    assert result["geometries"][0]["coordinates"] == _convert(108.94, 34.26)


def test_it_rejects_bad_geometries():
    with pytest.raises(ValueError, match="Unsupported GeoJSON geometry type: 'Circle'"):
        convert_geometry({"type": "Circle", "coordinates": [1, 2]}, source=CRS.WGS84, target=CRS.GCJ02)
    with pytest.raises(ValueError, match="has no 'coordinates'"):
        convert_geometry({"type": "Point"}, source=CRS.WGS84, target=CRS.GCJ02)
    with pytest.raises(ValueError, match="Latitude 116.4 is out of range"):
        convert_geometry({"type": "Point", "coordinates": [39.9, 116.4]}, source=CRS.WGS84, target=CRS.GCJ02)
    with pytest.raises(ValueError, match="at least"):
        convert_geometry({"type": "Point", "coordinates": [108.9]}, source=CRS.WGS84, target=CRS.GCJ02)
