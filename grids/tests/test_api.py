"""REST: units and grids, scoped (404 out of scope), GeoJSON simplified per zoom with constant queries,
bad query parameters refused in the error format. Tokens: test_api_tokens.py."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from governance.roles import Role
from grids.models import GridMembership, GridRole
from grids.tests.gridmaps import english  # noqa: F401 - autouse fixture
from grids.tests.gridmaps import grid, lonlat, rect

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def wiggly(x0, y0, size, n=200):
    """A square whose south edge has n small (50 cm) zigzags: simplification removes them."""
    south = [lonlat(x0 + size * i / n, y0 + (0.5 if i % 2 else 0)) for i in range(n)]
    ring = south + [lonlat(x0 + size, y0), lonlat(x0 + size, y0 + size), lonlat(x0, y0 + size), lonlat(x0, y0)]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def grids_ab(tree):
    return grid(tree.community_a, name="甲网格", boundary=wiggly(0, 0, 100)), \
        grid(tree.community_b, name="乙网格", boundary=rect(500, 0, 600, 100))


def test_a_grid_worker_of_street_a_sees_only_street_a(client, persona, tree, grids_ab):
    a, b = grids_ab
    client.force_login(persona(Role.GRID_WORKER))
    features = client.get(reverse("grids-api:grid_geojson")).json()["features"]
    assert [f["properties"]["code"] for f in features] == [a.code]
    assert client.get(reverse("grids-api:grid_detail", args=[a.pk])).status_code == 200
    assert client.get(reverse("grids-api:grid_detail", args=[b.pk])).status_code == 404
    assert client.get(reverse("grids-api:grid_detail", args=[99999])).status_code == 404
    assert [g["code"] for g in client.get(reverse("grids-api:grid_list"), {"q": "网格"}).json()] == [a.code]
    assert client.get(reverse("grids-api:unit_detail", args=[tree.community_b.pk])).status_code == 404
    codes = {u["code"] for u in client.get(reverse("grids-api:unit_list")).json()["results"]}
    assert tree.community_a.code in codes and tree.community_b.code not in codes


def test_a_unit_outside_the_jurisdiction_is_refused_like_a_missing_one(client, persona, tree, grids_ab):
    client.force_login(persona(Role.GRID_WORKER))
    url = reverse("grids-api:grid_geojson")
    outside, missing = client.get(url, {"unit": tree.community_b.pk}), client.get(url, {"unit": 999999})
    assert outside.status_code == missing.status_code == 400
    assert outside.json() == missing.json()
    assert outside.json()["error"]["fields"] == {"unit": ["No unit with this id in your jurisdiction."]}
    features = client.get(url, {"unit": tree.community_a.pk}).json()["features"]
    assert [f["properties"]["code"] for f in features] == [grids_ab[0].code]


def test_anonymous_requests_are_refused_in_the_error_format(client, tree, grids_ab):
    for url in (reverse("grids-api:grid_geojson"), reverse("grids-api:unit_list"),
                reverse("grids-api:grid_detail", args=[grids_ab[0].pk])):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(("name", "params", "field"), [
    ("grid_geojson", {"zoom": "near"}, "zoom"),
    ("grid_geojson", {"zoom": "40"}, "zoom"),
    ("grid_geojson", {"bbox": "1,2,3"}, "bbox"),
    ("grid_geojson", {"bbox": "10,0,5,1"}, "bbox"),
    ("grid_geojson", {"crs": "mercator"}, "crs"),
    ("grid_geojson", {"unit": "a"}, "unit"),
    ("unit_geojson", {"level": "planet"}, "level"),
    ("unit_list", {"level": "planet"}, "level"),
    ("unit_list", {"parent": "1.5"}, "parent"),
])
def test_bad_query_parameters_are_refused_naming_the_parameter(client, persona, grids_ab, name, params, field):
    client.force_login(persona(Role.STREET_OPERATOR))
    response = client.get(reverse(f"grids-api:{name}"), params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]


def test_the_unit_list_filters_and_pages_in_code_order(client, persona, tree):
    client.force_login(persona(Role.ADMINISTRATOR))  # the district and everything under it
    url = reverse("grids-api:unit_list")
    body = client.get(url, {"page_size": 2}).json()
    codes = [u["code"] for u in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        codes += [u["code"] for u in body["results"]]
    expected = [tree.district, tree.street_a, tree.street_b, tree.community_a, tree.community_b]
    assert codes == sorted(u.code for u in expected)
    villages = client.get(url, {"level": "village"}).json()["results"]
    assert [u["code"] for u in villages] == sorted([tree.community_a.code, tree.community_b.code])
    children = client.get(url, {"parent": tree.street_b.pk}).json()["results"]
    assert [u["id"] for u in children] == [tree.community_b.pk]
    assert client.get(url, {"parent": 999999}).json()["results"] == []


def test_the_detail_has_counts_and_team(client, persona, grids_ab):
    a, _ = grids_ab
    worker = persona(Role.GRID_WORKER)
    GridMembership.objects.create(grid=a, user=worker, grid_role=GridRole.FULL_TIME, phone="13800000000")
    client.force_login(persona(Role.STREET_OPERATOR))
    data = client.get(reverse("grids-api:grid_detail", args=[a.pk])).json()
    assert data["code"] == a.code and data["community"] == "甲一社区" and len(data["bbox"]) == 4
    [member] = data["team"]
    assert (member["name"], member["role"], member["phone"]) == (str(worker), "full_time", "13800000000")


def test_geojson_is_simplified_for_the_zoom_and_carries_measures(client, persona, grids_ab):
    a, _ = grids_ab
    client.force_login(persona(Role.ADMINISTRATOR))
    url = reverse("grids-api:grid_geojson")

    def vertices(zoom):
        [feature] = [f for f in client.get(url, {"zoom": zoom}).json()["features"] if f["id"] == a.pk]
        return len(feature["geometry"]["coordinates"][0]), feature

    full, _ = vertices("")
    close, _ = vertices(22)
    far, feature = vertices(12)
    assert full == close == 204 and far <= 6
    assert feature["properties"]["measures"] == {"households": 0, "missing_worker": True, "open_cases": 0}


def test_geojson_filters_by_bbox_and_converts_for_gcj02_tiles(client, persona, grids_ab):
    a, b = grids_ab
    client.force_login(persona(Role.ADMINISTRATOR))
    west, south = lonlat(-10, -10)
    east, north = lonlat(200, 200)
    features = client.get(reverse("grids-api:grid_geojson"), {"bbox": f"{west},{south},{east},{north}"}).json()["features"]
    assert [f["id"] for f in features] == [a.pk]
    gcj = client.get(reverse("grids-api:grid_geojson"), {"crs": "gcj02"}).json()["features"]
    assert gcj[1]["geometry"]["coordinates"][0][0][0] - b.boundary["coordinates"][0][0][0] > 0.003


def test_geojson_measures_are_fresh_though_geometry_is_cached(client, persona, grids_ab):
    a, _ = grids_ab
    client.force_login(persona(Role.ADMINISTRATOR))
    url = reverse("grids-api:grid_geojson")
    assert client.get(url).json()["features"][0]["properties"]["measures"]["missing_worker"] is True
    GridMembership.objects.create(grid=a, user=persona(Role.GRID_WORKER), grid_role=GridRole.FULL_TIME)
    assert client.get(url).json()["features"][0]["properties"]["measures"]["missing_worker"] is False


def test_geojson_query_count_does_not_grow_with_grids(client, persona, tree, django_assert_num_queries):
    operator = persona(Role.STREET_OPERATOR)
    client.force_login(operator)
    url = reverse("grids-api:grid_geojson")
    for i in range(3):
        grid(tree.community_a, boundary=rect(i * 100, 0, i * 100 + 100, 100))
    client.get(url, {"zoom": 15})  # warm the geometry cache
    # session, user, scope (guardian: units, departments), grids with measures; the version stamp was
    # read a moment ago (grids.selectors.VERSION_RECHECK_SECONDS)
    with django_assert_num_queries(5):
        assert len(client.get(url, {"zoom": 15}).json()["features"]) == 3
    for i in range(3, 30):
        grid(tree.community_a, boundary=rect(i * 100, 0, i * 100 + 100, 100))
    client.get(url, {"zoom": 15})  # a new version: the cache is rebuilt once (one more query)
    with django_assert_num_queries(5):
        assert len(client.get(url, {"zoom": 15}).json()["features"]) == 30


def test_unit_boundaries_geojson(client, persona, tree):
    from grids.tests.gridmaps import community_with_boundary

    community_with_boundary(tree.community_a)
    community_with_boundary(tree.community_b, x0=2000)
    client.force_login(persona(Role.STREET_OPERATOR))
    features = client.get(reverse("grids-api:unit_geojson")).json()["features"]
    assert [f["properties"]["code"] for f in features] == [tree.community_a.code]


def test_the_grid_search_answers_the_first_twenty_matches_as_a_plain_list(client, persona, tree):
    for _ in range(25):
        grid(tree.community_a)
    client.force_login(persona(Role.STREET_OPERATOR))
    found = client.get(reverse("grids-api:grid_list"), {"q": "测试"}).json()
    assert isinstance(found, list) and len(found) == 20
    assert [g["code"] for g in found] == sorted(g["code"] for g in found)
