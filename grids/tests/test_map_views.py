"""The map, list, detail and export pages: scoping (404 for outsiders), editing rights, exports."""

import io
import json

import openpyxl
import pytest
from django.urls import reverse

from governance.navigation import nav_for
from governance.roles import Role
from grids.models import GridMembership, GridRole
from grids.tests.gridmaps import english  # noqa: F401 - autouse fixture
from grids.tests.gridmaps import grid, lonlat, rect

pytestmark = pytest.mark.django_db


@pytest.fixture
def grids_ab(tree):
    return grid(tree.community_a, name="甲网格", boundary=rect(0, 0, 100, 100)), \
        grid(tree.community_b, name="乙网格", boundary=rect(500, 0, 600, 100))


def test_it_shows_the_map_with_its_configuration(client, persona, grids_ab):
    client.force_login(persona(Role.STREET_OPERATOR))
    response = client.get(reverse("grids:grid_map"))
    assert response.status_code == 200
    config = response.context["map_config"]
    assert config["tiles"]["layers"] == [] and config["canEdit"] is False
    assert {m["key"] for m in config["measures"]} >= {"households", "missing_worker"}
    assert b"leaflet/leaflet.js" in response.content and b"js/grid_map.js" in response.content
    assert b"leaflet.draw.js" not in response.content


def test_administrators_get_the_drawing_tools(client, persona):
    client.force_login(persona(Role.ADMINISTRATOR))
    response = client.get(reverse("grids:grid_map"))
    assert response.context["map_config"]["canEdit"] is True and b"leaflet.draw.js" in response.content


def test_a_grid_worker_of_street_a_cannot_see_street_b(client, persona, grids_ab):
    a, b = grids_ab
    client.force_login(persona(Role.GRID_WORKER))
    assert client.get(reverse("grids:grid_detail", args=[a.pk])).status_code == 200
    assert client.get(reverse("grids:grid_detail", args=[b.pk])).status_code == 404
    assert client.get(reverse("grids:grid_detail", args=[99999])).status_code == 404
    listing = client.get(reverse("grids:grid_list")).content.decode()
    assert "甲网格" in listing and "乙网格" not in listing
    exported = json.loads(client.get(reverse("grids:export_geojson")).content)
    assert [f["properties"]["code"] for f in exported["features"]] == [a.code]


def test_the_detail_page_shows_counts_chain_and_team(client, persona, grids_ab):
    a, _ = grids_ab
    worker = persona(Role.GRID_WORKER)
    GridMembership.objects.create(grid=a, user=worker, grid_role=GridRole.FULL_TIME)
    client.force_login(persona(Role.STREET_OPERATOR))
    page = client.get(reverse("grids:grid_detail", args=[a.pk])).content.decode()
    assert a.code in page and str(worker) in page and "甲街道" in page


def test_the_list_filters(client, persona, tree, grids_ab, django_assert_max_num_queries):
    a, b = grids_ab
    GridMembership.objects.create(grid=a, user=persona(Role.GRID_WORKER), grid_role=GridRole.FULL_TIME)
    client.force_login(persona(Role.DISTRICT_DISPATCHER))
    url = reverse("grids:grid_list")
    for _ in range(20):
        grid(tree.community_b)
    with django_assert_max_num_queries(12):
        page = client.get(url).content.decode()
    assert "甲网格" in page and "乙网格" in page
    assert "乙网格" not in client.get(url, {"unit": tree.street_a.pk}).content.decode()
    assert "甲网格" not in client.get(url, {"missing": "1"}).content.decode()
    assert "甲网格" not in client.get(url, {"q": b.code}).content.decode()
    assert client.get(url, {"unit": 999999}).status_code == 404


def test_excel_export_is_scoped(client, persona, grids_ab):
    client.force_login(persona(Role.STREET_OPERATOR))
    response = client.get(reverse("grids:export_xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert len(rows) == 2 and rows[1][0] == grids_ab[0].code


def test_administrators_save_a_drawn_boundary_with_messages(client, persona, grids_ab):
    a, _ = grids_ab
    url = reverse("grids:grid_boundary", args=[a.pk])
    client.force_login(persona(Role.ADMINISTRATOR))
    response = client.post(url, {"geometry": rect(0, 0, 50, 50), "crs": "wgs84"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["ok"]
    a.refresh_from_db()
    assert a.area_m2 == pytest.approx(2500, rel=0.01)
    bowtie = {"type": "Polygon", "coordinates": [[lonlat(0, 0), lonlat(10, 10), lonlat(10, 0), lonlat(0, 10), lonlat(0, 0)]]}
    response = client.post(url, {"geometry": bowtie}, content_type="application/json")
    assert response.status_code == 400 and "Self-intersection" in response.json()["errors"][0]


def test_others_cannot_save_boundaries(client, persona, grids_ab):
    a, b = grids_ab
    client.force_login(persona(Role.STREET_OPERATOR))
    body = {"geometry": rect(0, 0, 50, 50)}
    assert client.post(reverse("grids:grid_boundary", args=[a.pk]), body, content_type="application/json").status_code == 403
    assert client.post(reverse("grids:grid_boundary", args=[b.pk]), body, content_type="application/json").status_code == 404


def test_the_nav_offers_the_map_to_all_but_grid_workers(db):
    def urls(roles):
        return [item["url"] for item in nav_for(roles, is_staff=False, current_path="/")]

    assert reverse("grids:grid_map") in urls({Role.STREET_OPERATOR})
    assert reverse("grids:grid_map") not in urls({Role.GRID_WORKER})
