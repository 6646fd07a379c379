"""GeoJSON import: the dry run, all-or-nothing writes, per-feature errors, CRS conversion, units."""

import json

import pytest
from django.urls import reverse

from governance.models import AuditEntry
from governance.roles import Role
from grids.coords import CRS, convert_geometry
from grids.imports import plan_import
from grids.models import Grid
from grids.services import ImportRefused, grids_import
from grids.tests.gridmaps import english  # noqa: F401 - autouse fixture
from grids.tests.gridmaps import community_with_boundary, grid, lonlat, rect

pytestmark = pytest.mark.django_db


def feature(geometry, **props):
    return {"type": "Feature", "geometry": geometry, "properties": props}


def collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


@pytest.fixture
def admin(persona):
    return persona(Role.ADMINISTRATOR)


def test_the_dry_run_lists_what_would_happen_and_writes_nothing(tree, admin):
    existing = grid(tree.community_a, sequence=1, boundary=rect(0, 0, 100, 100))
    data = collection(
        feature(rect(0, 0, 100, 100), code=existing.code, name="改名", households=450),
        feature(rect(100, 0, 200, 100), code=tree.community_a.code + "02", name="二号", type="基础网格"),
        feature(rect(200, 0, 300, 100), parent=tree.community_a.code, name="无编号"),
    )
    plan = plan_import(data=data, crs="wgs84", user=admin)
    assert plan.is_valid, [r.errors for r in plan.rows]
    assert [(r.action, r.code) for r in plan.rows] == [
        ("update", existing.code), ("create", tree.community_a.code + "02"), ("create", tree.community_a.code + "03")]
    assert Grid.objects.count() == 1 and Grid.objects.get().name == "测试网格"

    grids_import(data=data, crs="wgs84", actor=admin)
    assert sorted(Grid.objects.values_list("code", "name")) == [
        (existing.code, "改名"), (tree.community_a.code + "02", "二号"), (tree.community_a.code + "03", "无编号")]
    assert Grid.objects.get(code=existing.code).households == 450
    assert AuditEntry.objects.filter(action="grids.import.applied").exists()


def test_a_malformed_file_reports_every_bad_feature_and_writes_nothing(tree, admin):
    community_with_boundary(tree.community_a, size=1000)
    bowtie = {"type": "Polygon", "coordinates": [[lonlat(0, 0), lonlat(100, 100), lonlat(100, 0), lonlat(0, 100), lonlat(0, 0)]]}
    data = collection(
        feature(rect(0, 0, 100, 100), code=tree.community_a.code + "01", name="好的"),
        feature(bowtie, code=tree.community_a.code + "02", name="自相交"),
        feature(rect(0, 0, 100, 100), code="123", name="坏编号"),
        feature(rect(900, 900, 1200, 1200), code=tree.community_a.code + "03", name="出界"),
        feature(rect(0, 0, 10, 10), code=tree.community_b.code + "01", name="别人的"),  # community_b out of scope? no: admin sees all
        feature(None, code=tree.community_a.code + "04", name="无几何"),
        feature(rect(0, 0, 10, 10), code=tree.community_a.code + "05", name="负数", households=-3),
        feature(rect(0, 0, 10, 10), code=tree.community_a.code + "01", name="重复"),
        {"type": "Point"},
    )
    plan = plan_import(data=data, crs="wgs84", user=admin)
    errors = {row.index: " ".join(row.errors) for row in plan.rows}
    assert errors[1] == "" and errors[5] == ""
    assert "Self-intersection" in errors[2]
    assert "neither a 12-digit division code nor a grid code" in errors[3]
    assert "outside its community" in errors[4]
    assert "no geometry" in errors[6]
    assert "households must be a whole number" in errors[7]
    assert "more than once" in errors[8]
    assert "Not a GeoJSON Feature" in errors[9]
    with pytest.raises(ImportRefused):
        grids_import(data=data, crs="wgs84", actor=admin)
    assert not Grid.objects.exists()

    grids_import(data=data, crs="wgs84", actor=admin, valid_only=True)
    assert sorted(Grid.objects.values_list("name", flat=True)) == ["别人的", "好的"]


@pytest.mark.parametrize("data", [b"not json", b'{"type": "Feature"}', b'{"type": "FeatureCollection", "features": []}'])
def test_a_file_that_is_not_a_feature_collection_is_refused_whole(tree, admin, data):
    plan = plan_import(data=data, crs="wgs84", user=admin)
    assert plan.file_errors and not plan.is_valid
    with pytest.raises(ImportRefused):
        grids_import(data=data, crs="wgs84", actor=admin, valid_only=True)


def test_a_gcj02_import_lands_at_the_wgs84_position(tree, admin):
    wgs = rect(0, 0, 100, 100)
    gcj = convert_geometry(wgs, source=CRS.WGS84, target=CRS.GCJ02)
    assert gcj["coordinates"][0][0][0] - wgs["coordinates"][0][0][0] > 0.003  # hundreds of metres apart
    grids_import(data=collection(feature(gcj, code=tree.community_a.code + "01", name="高德")), crs="gcj02", actor=admin)
    stored = Grid.objects.get().boundary["coordinates"][0]
    for got, want in zip(stored, wgs["coordinates"][0]):
        assert got == pytest.approx(want, abs=1e-7)  # ~1 cm


def test_a_bd09_import_is_converted_too(tree, admin):
    wgs = rect(0, 0, 100, 100)
    bd = convert_geometry(wgs, source=CRS.WGS84, target=CRS.BD09)
    grids_import(data=collection(feature(bd, code=tree.community_a.code + "01", name="百度")), crs="bd09", actor=admin)
    assert Grid.objects.get().boundary["coordinates"][0][0] == pytest.approx(wgs["coordinates"][0][0], abs=1e-5)


def test_unit_boundaries_import_and_grids_are_checked_against_them(tree, admin):
    data = collection(
        feature(rect(0, 0, 500, 500), code=tree.community_a.code + "01", name="网格"),
        feature(rect(0, 0, 400, 400), code=tree.community_a.code, name="甲一社区"),
    )
    plan = plan_import(data=data, crs="wgs84", user=admin)
    assert plan.rows[0].kind == "unit"  # units first
    assert "outside its community" in " ".join(plan.rows[1].errors)
    data = collection(
        feature(rect(0, 0, 300, 300), code=tree.community_a.code + "01", name="网格"),
        feature(rect(0, 0, 400, 400), code=tree.community_a.code, name="甲一社区"),
    )
    grids_import(data=data, crs="wgs84", actor=admin)
    tree.community_a.refresh_from_db()
    assert tree.community_a.boundary["type"] == "Polygon"
    assert AuditEntry.objects.filter(action="grids.unit.boundary_set").exists()


def test_overlaps_in_the_file_are_warnings(tree, admin):
    data = collection(
        feature(rect(0, 0, 100, 100), code=tree.community_a.code + "01", name="一"),
        feature(rect(50, 0, 150, 100), code=tree.community_a.code + "02", name="二"),
    )
    plan = plan_import(data=data, crs="wgs84", user=admin)
    assert plan.is_valid
    assert "Overlaps grid " + tree.community_a.code + "02" in plan.rows[0].warnings[0]
    assert "5,000 m²" in plan.rows[1].warnings[0]


def test_communities_out_of_scope_are_unknown(tree, persona):
    operator = persona(Role.STREET_OPERATOR)  # street A
    data = collection(feature(rect(0, 0, 10, 10), code=tree.community_b.code + "01", name="乙"))
    plan = plan_import(data=data, crs="wgs84", user=operator)
    assert "No community with code" in plan.rows[0].errors[0]
    other = grid(tree.community_b, sequence=2)
    plan = plan_import(data=collection(feature(rect(0, 0, 10, 10), code=other.code)), crs="wgs84", user=operator)
    assert "outside your jurisdiction" in plan.rows[0].errors[0]


def test_the_import_page_dry_runs_then_imports(client, tree, admin, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(admin)
    data = collection(feature(rect(0, 0, 100, 100), code=tree.community_a.code + "01", name="页面导入"))
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(reverse("grids:grid_import"), {"file": SimpleUploadedFile("g.geojson", data.encode()), "crs": "wgs84"})
    assert response.status_code == 200 and "页面导入" in response.content.decode()
    assert not Grid.objects.exists()
    token = response.context["token"]
    response = client.post(reverse("grids:grid_import"), {"token": token, "crs": "wgs84", "confirm": "1"})
    assert response.status_code == 302
    assert Grid.objects.get().name == "页面导入"
    # A token is single-use and bound to its uploader.
    response = client.post(reverse("grids:grid_import"), {"token": token, "crs": "wgs84", "confirm": "1"})
    assert response.status_code == 302 and Grid.objects.count() == 1


def test_the_import_page_is_for_administrators_only(client, tree, persona):
    client.force_login(persona(Role.STREET_OPERATOR))
    assert client.get(reverse("grids:grid_import")).status_code == 403
