"""locate_point: grid and unit chain, shared edges, outside every grid, cache refresh."""

import pytest

from grids import selectors
from grids.selectors import grid_locator, locate_point
from grids.services import grid_set_boundary, grid_update
from grids.tests.gridmaps import english  # noqa: F401 - autouse fixture
from grids.tests.gridmaps import grid, lonlat, rect

pytestmark = pytest.mark.django_db


def test_it_finds_the_grid_and_its_unit_chain(tree):
    g = grid(tree.community_a, boundary=rect(0, 0, 100, 100))
    result = locate_point(*lonlat(50, 50))
    assert result.found and result.grid == g and result.distance_m == 0
    assert [u.pk for u in result.units[:4]] == [tree.community_a.pk, tree.street_a.pk, tree.district.pk,
                                                tree.district.parent_id]


def test_a_point_on_a_shared_edge_goes_to_the_smallest_id(tree):
    west = grid(tree.community_a, boundary=rect(0, 0, 100, 100))
    east = grid(tree.community_a, boundary=rect(100, 0, 200, 100))
    assert west.pk < east.pk
    edge = west.boundary["coordinates"][0][1]  # a corner shared by both squares
    assert locate_point(*edge).grid == west
    assert locate_point(*lonlat(150, 50)).grid == east


def test_outside_every_grid_it_gives_the_nearest_and_the_distance(tree):
    grid(tree.community_a, boundary=rect(0, 0, 100, 100))
    near = grid(tree.community_a, boundary=rect(300, 0, 400, 100))
    result = locate_point(*lonlat(450, 50))
    assert not result.found and result.units == []
    assert result.nearest_grid == near
    assert result.distance_m == pytest.approx(50, abs=1)


def test_with_no_grids_it_finds_nothing(db):
    result = locate_point(108.9, 34.2)
    assert result.grid is None and result.nearest_grid is None


def test_the_locator_is_rebuilt_when_grids_change_and_reused_otherwise(tree):
    g = grid(tree.community_a, boundary=rect(0, 0, 100, 100))
    first = grid_locator()
    assert grid_locator() is first
    grid_set_boundary(grid=g, boundary=rect(1000, 0, 1100, 100), actor=None)
    assert locate_point(*lonlat(1050, 50)).grid == g
    assert grid_locator() is not first
    grid_update(grid=g, actor=None, is_active=False)
    assert locate_point(*lonlat(1050, 50)).nearest_grid is None


def test_the_version_stamp_sees_deletions(tree):
    g = grid(tree.community_a, boundary=rect(0, 0, 100, 100))
    before = selectors.grids_version()
    g.delete()
    assert selectors.grids_version() != before
    assert locate_point(*lonlat(50, 50)).grid is None


def test_a_grid_changed_by_another_process_is_seen_once_the_stamp_is_read_again(tree, monkeypatch):
    """Locating reads the version stamp at most every VERSION_RECHECK_SECONDS (not a scan of every grid
    per report); a change made elsewhere, without this process's save signal, shows after that."""
    import datetime

    from django.utils import timezone

    from grids.models import Grid

    g = grid(tree.community_a, boundary=rect(0, 0, 100, 100))
    assert locate_point(*lonlat(50, 50)).grid == g
    # Another process moves the grid: a plain UPDATE, so no signal reaches this process.
    Grid.objects.filter(pk=g.pk).update(boundary=rect(1000, 0, 1100, 100), min_lon=lonlat(1000, 0)[0],
                                        max_lon=lonlat(1100, 0)[0],
                                        updated_at=timezone.now() + datetime.timedelta(seconds=1))
    assert locate_point(*lonlat(50, 50)).grid == g  # within the interval: the index this process built
    monkeypatch.setattr(selectors, "VERSION_RECHECK_SECONDS", 0)  # the interval has passed
    assert locate_point(*lonlat(50, 50)).grid is None
    assert locate_point(*lonlat(1050, 50)).grid == g
