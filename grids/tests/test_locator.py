import random

import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from grids.locator import GridLocator, LocatorResult, haversine_m

# A 3 x 3 block of 0.01-degree cells in Xi'an. Coordinates are exact multiples
# built from the same literals, so shared edges are bit-for-bit identical.
LON0, LAT0, STEP = 108.90, 34.20, 0.01
XS = [108.90, 108.91, 108.92, 108.93]
YS = [34.20, 34.21, 34.22, 34.23]


def cell(col: int, row: int) -> Polygon:
    return box(XS[col], YS[row], XS[col + 1], YS[row + 1])


def block_ids() -> dict[tuple[int, int], int]:
    # Ids deliberately not in spatial order, so "smallest id" is not "first cell".
    return {(c, r): 90 - (3 * r + c) * 7 for c in range(3) for r in range(3)}


def block_grids() -> list[tuple[int, Polygon]]:
    return [(grid_id, cell(c, r)) for (c, r), grid_id in block_ids().items()]


def inside(grid_id: int) -> LocatorResult:
    return LocatorResult(grid_id=grid_id, distance_m=0.0, nearest_grid_id=grid_id)


def test_it_finds_the_grid_holding_a_point():
    locator = GridLocator(block_grids())
    assert locator.locate(108.915, 34.215) == inside(block_ids()[1, 1])
    assert len(locator) == 9


def test_it_picks_the_smallest_id_on_a_shared_edge():
    ids = block_ids()
    left, right = ids[0, 0], ids[1, 0]
    point = (XS[1], 34.205)  # on the edge between cells (0,0) and (1,0)
    for grids in (block_grids(), list(reversed(block_grids()))):
        assert GridLocator(grids).locate(*point) == inside(min(left, right))


def test_it_picks_the_smallest_id_on_a_shared_vertex():
    ids = block_ids()
    corner_cells = [ids[0, 0], ids[1, 0], ids[0, 1], ids[1, 1]]
    grids = block_grids()
    for seed in range(5):
        random.Random(seed).shuffle(grids)
        assert GridLocator(grids).locate(XS[1], YS[1]) == inside(min(corner_cells))


def test_it_counts_the_outer_boundary_as_inside():
    assert GridLocator(block_grids()).locate(XS[0], 34.205).grid_id == block_ids()[0, 0]


def test_it_reports_the_nearest_grid_and_distance_outside():
    locator = GridLocator(block_grids())
    # 0.001 deg north of the top row, above the middle cell: about 111 m.
    result = locator.locate(108.915, YS[3] + 0.001)
    assert result.grid_id is None
    assert result.nearest_grid_id == block_ids()[1, 2]
    assert result.distance_m == pytest.approx(111.2, rel=0.01)


def test_it_measures_nearest_in_metres_not_degrees():
    # A degree of longitude is ~0.83 of a degree of latitude at Xi'an: the grid
    # 0.001 deg east (~92 m) is nearer than the one 0.0009 deg north (~100 m).
    north = box(108.90, 34.2109, 108.91, 34.22)
    east = box(108.911, 34.19, 108.92, 34.21)
    locator = GridLocator([(1, north), (2, east)])
    result = locator.locate(108.91, 34.21)
    assert (result.grid_id, result.nearest_grid_id) == (None, 2)
    assert result.distance_m == pytest.approx(92.0, rel=0.01)


def test_it_returns_all_none_for_an_empty_index():
    locator = GridLocator([])
    nothing = LocatorResult(grid_id=None, distance_m=None, nearest_grid_id=None)
    assert locator.locate(108.94, 34.26) == nothing
    assert locator.locate_many([(108.94, 34.26), (0.0, 0.0)]) == [nothing, nothing]
    assert len(locator) == 0


def test_it_gives_up_beyond_max_nearest_m():
    locator = GridLocator(block_grids(), max_nearest_m=500)
    assert locator.locate(108.915, YS[3] + 0.001).nearest_grid_id == block_ids()[1, 2]
    far = locator.locate(108.915, YS[3] + 0.01)  # ~1.1 km away
    assert far == LocatorResult(grid_id=None, distance_m=None, nearest_grid_id=None)


def test_it_handles_multipolygons():
    grid = MultiPolygon([box(108.90, 34.20, 108.91, 34.21), box(108.95, 34.20, 108.96, 34.21)])
    locator = GridLocator([(7, grid), (8, box(108.91, 34.25, 108.95, 34.26))])
    assert locator.locate(108.955, 34.205).grid_id == 7
    between = locator.locate(108.93, 34.205)  # in the gap between the two parts
    assert between.grid_id is None
    assert between.nearest_grid_id == 7
    assert between.distance_m == pytest.approx(0.02 * 111_195 * np.cos(np.radians(34.205)), rel=0.01)


def test_it_excludes_a_hole_from_the_grid():
    shell = [(108.90, 34.20), (108.93, 34.20), (108.93, 34.23), (108.90, 34.23)]
    hole = [(108.91, 34.21), (108.92, 34.21), (108.92, 34.22), (108.91, 34.22)]
    holed = Polygon(shell, [hole])
    in_hole = (108.915, 34.2195)  # ~55 m south of the hole's north edge

    result = GridLocator([(3, holed)]).locate(*in_hole)
    assert result.grid_id is None
    assert result.nearest_grid_id == 3
    assert result.distance_m == pytest.approx(0.0005 * 111_195, rel=0.01)

    # A campus grid (专属网格) filling the hole takes the point, whatever its id.
    campus = Polygon(hole)
    assert GridLocator([(3, holed), (40, campus)]).locate(*in_hole) == inside(40)
    # On the hole's ring both grids hold the point: smallest id wins.
    assert GridLocator([(3, holed), (40, campus)]).locate(108.91, 34.215) == inside(3)


def test_it_locates_many_like_locate_one():
    locator = GridLocator(block_grids())
    rng = random.Random(3)
    points = [(rng.uniform(108.89, 108.94), rng.uniform(34.19, 34.24)) for _ in range(500)]
    points += [(XS[1], YS[1]), (XS[2], 34.215), (108.95, 34.25)]  # vertex, edge, outside
    expected = [locator.locate(*p) for p in points]
    assert locator.locate_many(points) == expected
    assert locator.locate_many(np.array(points)) == expected
    assert locator.locate_many(iter(points)) == expected
    assert any(r.grid_id is None for r in expected) and any(r.grid_id is not None for r in expected)


def test_it_locates_many_of_nothing():
    assert GridLocator(block_grids()).locate_many([]) == []


def test_it_rejects_bad_points():
    locator = GridLocator(block_grids())
    with pytest.raises(ValueError, match="Latitude 108.9 is out of range"):
        locator.locate(34.2, 108.9)
    with pytest.raises(ValueError, match="finite"):
        locator.locate_many([(108.9, 34.2), (float("nan"), 34.2)])
    with pytest.raises(ValueError, match="Longitude 200.0 is out of range"):
        locator.locate_many([(200.0, 34.2)])
    with pytest.raises(ValueError, match=r"pairs, got shape \(2, 3\)"):
        locator.locate_many([(1.0, 2.0, 3.0), (1.0, 2.0, 3.0)])


def test_it_rejects_bad_grids():
    with pytest.raises(ValueError, match="Grid id 5 appears more than once"):
        GridLocator([(5, cell(0, 0)), (5, cell(1, 0))])
    with pytest.raises(ValueError, match="Grid 6 is not a non-empty Polygon or MultiPolygon"):
        GridLocator([(5, cell(0, 0)), (6, Point(108.9, 34.2))])
    with pytest.raises(ValueError, match="Grid 7 is not a non-empty"):
        GridLocator([(7, Polygon())])


def test_haversine_m_is_plausible():
    # One degree of latitude is ~111.2 km on the mean sphere.
    assert haversine_m(108.94, 34.0, 108.94, 35.0) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(108.94, 34.26, 108.94, 34.26) == 0.0
