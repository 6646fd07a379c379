"""Grid writes: validation, derived fields, codes per scheme, warnings, audit."""

import pytest
from django.core.exceptions import ValidationError

from governance.models import AuditEntry, Parameter
from grids.codes import GridCodeScheme
from grids.coords import CRS, convert_geometry
from grids.models import Grid, GridType
from grids.services import grid_create, grid_set_boundary, grid_update
from grids.tests.gridmaps import english  # noqa: F401 - autouse fixture
from grids.tests.gridmaps import community_with_boundary, grid, lonlat, rect

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("scheme", "extra", "length", "suffix"),
    [(GridCodeScheme.CJT213, {}, 14, "07"), (GridCodeScheme.DB11, {}, 15, "007"),
     (GridCodeScheme.CJT349, {"object_class": "110100"}, 20, "07")],
)
def test_it_generates_the_code_from_its_parts_per_scheme(tree, scheme, extra, length, suffix):
    g = grid(tree.community_a, code_scheme=scheme, sequence=7, **extra)
    assert len(g.code) == length
    assert g.code.endswith(tree.community_a.code + suffix)
    assert g.code_scheme == scheme.value
    if scheme is GridCodeScheme.CJT349:
        assert g.code.startswith("110100")


def test_it_numbers_the_next_free_sequence(tree):
    assert grid(tree.community_a, sequence=1).sequence == 1
    assert grid(tree.community_a, sequence=3).sequence == 3
    assert grid(tree.community_a).sequence == 2
    assert grid(tree.community_a).sequence == 4


def test_it_refuses_a_used_sequence_and_a_missing_object_class(tree):
    grid(tree.community_a, sequence=1)
    with pytest.raises(ValidationError) as exc:
        grid(tree.community_a, sequence=1)
    assert "sequence" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        grid(tree.community_a, code_scheme=GridCodeScheme.CJT349, sequence=2)
    assert "Managed-object class" in exc.value.message_dict["sequence"][0]


def test_it_refuses_a_grid_directly_under_a_street(tree):
    with pytest.raises(ValidationError) as exc:
        grid(tree.street_a)
    assert "community" in exc.value.message_dict


def test_it_refuses_an_invalid_polygon_and_explains_why(tree):
    bowtie = {"type": "Polygon", "coordinates": [[lonlat(0, 0), lonlat(100, 100), lonlat(100, 0), lonlat(0, 100), lonlat(0, 0)]]}
    with pytest.raises(ValidationError) as exc:
        grid(tree.community_a, boundary=bowtie)
    assert "Self-intersection" in exc.value.message_dict["boundary"][0]
    assert not Grid.objects.exists()


def test_it_refuses_an_unclosed_ring_and_a_point(tree):
    ring = rect(0, 0, 100, 100)["coordinates"][0][:-1]
    with pytest.raises(ValidationError, match="not closed"):
        grid(tree.community_a, boundary={"type": "Polygon", "coordinates": [ring]})
    with pytest.raises(ValidationError, match="Polygon or MultiPolygon"):
        grid(tree.community_a, boundary={"type": "Point", "coordinates": lonlat(0, 0)})


def test_it_refuses_a_grid_leaving_its_community(tree):
    community_with_boundary(tree.community_a, size=1000)
    grid(tree.community_a, boundary=rect(0, 0, 500, 500))  # inside
    grid(tree.community_a, boundary=rect(500, 0, 1000.5, 500))  # within tolerance on the edge
    with pytest.raises(ValidationError) as exc:
        grid(tree.community_a, boundary=rect(900, 900, 1100, 1100))
    assert "outside its community" in exc.value.message_dict["boundary"][0]


def test_it_reports_overlaps_with_siblings_with_their_area(tree):
    first = grid(tree.community_a, boundary=rect(0, 0, 100, 100))
    touching = grid(tree.community_a, boundary=rect(100, 0, 200, 100))
    assert touching.warnings == []
    overlapping = grid(tree.community_a, boundary=rect(50, 0, 150, 100))  # 50 x 100 over each neighbour
    overlaps = sorted((w.data["other_code"], w.data["area_m2"]) for w in overlapping.warnings if w.kind == "overlap")
    assert [code for code, _ in overlaps] == sorted([first.code, touching.code])
    assert all(area == pytest.approx(5000, rel=0.01) for _, area in overlaps)
    assert first.code in str(overlapping.warnings[0])


def test_it_does_not_compare_with_grids_of_other_communities(tree):
    grid(tree.community_b, boundary=rect(0, 0, 100, 100))
    assert grid(tree.community_a, boundary=rect(0, 0, 100, 100)).warnings == []


def test_it_flags_households_outside_the_configured_range(tree):
    assert grid(tree.community_a, households=400).warnings == []
    [warning] = grid(tree.community_a, households=1200).warnings
    assert warning.kind == "households" and "300–500" in warning.message
    Parameter.objects.create(key="grids.household_range", value=[1000, 1500])
    assert grid(tree.community_a, households=1200).warnings == []
    assert grid(tree.community_a, households=50, grid_type=GridType.DEDICATED).warnings == []


def test_it_derives_bbox_centroid_and_area_on_every_boundary_write(tree):
    g = grid(tree.community_a, boundary=rect(0, 0, 200, 100))
    assert g.area_m2 == pytest.approx(20000, rel=0.005)
    assert (g.min_lon, g.min_lat) == pytest.approx(tuple(lonlat(0, 0)))
    assert (g.centroid_lon, g.centroid_lat) == pytest.approx(tuple(lonlat(100, 50)))
    g = grid_set_boundary(grid=g, boundary=rect(0, 0, 100, 100), actor=None)
    g.refresh_from_db()
    assert g.area_m2 == pytest.approx(10000, rel=0.005)
    assert g.max_lon == pytest.approx(lonlat(100, 0)[0])


def test_set_boundary_converts_from_the_drawing_crs(tree):
    g = grid(tree.community_a)
    gcj = convert_geometry(rect(0, 0, 100, 100), source=CRS.WGS84, target=CRS.GCJ02)
    grid_set_boundary(grid=g, boundary=gcj, source_crs="gcj02", actor=None)
    g.refresh_from_db()
    assert g.boundary["coordinates"][0][0] == pytest.approx(lonlat(0, 0), abs=1e-7)


def test_update_regenerates_the_code_and_audits_changes(tree, persona):
    from governance.roles import Role

    admin = persona(Role.ADMINISTRATOR)
    g = grid_create(community=tree.community_a, name="甲", sequence=1, actor=admin)
    g = grid_update(grid=g, actor=admin, name="乙", sequence=5, households=420)
    assert g.code == tree.community_a.code + "05"
    entry = AuditEntry.objects.filter(action="grids.grid.updated").get()
    assert entry.actor == admin
    assert entry.changes["name"] == ["甲", "乙"] and entry.changes["code"][1] == g.code
    assert AuditEntry.objects.filter(action="grids.grid.created", object_id=str(g.pk)).exists()
    grid_set_boundary(grid=g, boundary=rect(0, 0, 10, 10), actor=admin)
    assert AuditEntry.objects.filter(action="grids.grid.boundary_set").get().data["area_m2"][1] > 0
    with pytest.raises(TypeError):
        grid_update(grid=g, actor=admin, code="x")
