"""The grids API for machine clients: a token acts as its client's account (the same jurisdiction as
the pages), needs ``grids:read``, only reads, sees personal data masked without ``personal_data``;
an outsider's token gets 404 on every object; details carry ETags."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from governance.api.auth import token_issue
from governance.models import ApiClient
from governance.roles import Role
from grids import services
from grids.models import GridRole, PatrolPoint, VisitOutcome, VisitPurpose
from grids.tests.fieldwork import metres_to_lonlat, square
from grids.tests.gridmaps import grid

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def token_client(account, *scopes: str) -> APIClient:
    client = ApiClient.objects.create(name=f"client-{account.pk}-{len(scopes)}-{'-'.join(scopes)}",
                                      account=account, scopes=list(scopes))
    _, key = token_issue(client=client)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


class Place:
    """Community A's grid with its team, a finished patrol, an open one and a visit."""

    def __init__(self, tree, persona):
        self.grid = grid(tree.community_a, boundary=square())  # through the service: with its bbox
        self.worker = persona(Role.GRID_WORKER, full_name="张网格")
        self.membership = services.membership_start(grid=self.grid, user=self.worker, grid_role=GridRole.FULL_TIME,
                                                    phone=PHONE, actor=None)
        self.patrol = services.patrol_start(grid=self.grid, worker=self.worker, actor=self.worker)
        lon, lat = metres_to_lonlat(20, 20)
        services.patrol_points_add(patrol=self.patrol, actor=self.worker, points=[
            {"seq": 1, "lon": lon, "lat": lat, "accuracy": 5, "recorded_at": timezone.now().isoformat()}])
        services.patrol_end(patrol=self.patrol, actor=self.worker)
        self.open_patrol = services.patrol_start(grid=self.grid, worker=self.worker, actor=self.worker)
        self.visit = services.visit_create(grid=self.grid, worker=self.worker, household="3号楼2单元401",
                                           purpose=VisitPurpose.POLICY, outcome=VisitOutcome.ALL_WELL,
                                           notes="独居老人", actor=self.worker)
        self.unit = tree.community_a

    def object_urls(self) -> dict[str, str]:
        return {
            "unit detail": reverse("grids-api:unit_detail", args=[self.unit.pk]),
            "grid detail": reverse("grids-api:grid_detail", args=[self.grid.pk]),
            "grid workers": reverse("grids-api:grid_workers", args=[self.grid.pk]),
            "patrol detail": reverse("grids-api:patrol_detail", args=[self.patrol.pk]),
        }


@pytest.fixture
def place(tree, persona):
    return Place(tree, persona)


@pytest.fixture
def reader(persona, place):
    """A client acting as a street A operator, with grids:read."""
    return token_client(persona(Role.STREET_OPERATOR), "grids:read")


@pytest.fixture
def outsider(persona, tree, place):
    """A client whose account has its role in street B, with every grids scope."""
    return token_client(persona(Role.STREET_OPERATOR, unit=tree.street_b), "grids:read", "personal_data")


LISTS = ["grid_list", "grid_geojson", "unit_list", "unit_geojson", "patrol_list", "visit_list"]


def test_a_token_with_grids_read_sees_its_accounts_jurisdiction(reader, place, tree):
    assert [g["id"] for g in reader.get(reverse("grids-api:grid_list")).json()] == [place.grid.pk]
    assert [f["id"] for f in reader.get(reverse("grids-api:grid_geojson")).json()["features"]] == [place.grid.pk]
    units = {u["id"] for u in reader.get(reverse("grids-api:unit_list")).json()["results"]}
    assert units == {tree.street_a.pk, tree.community_a.pk}
    patrols = [p["id"] for p in reader.get(reverse("grids-api:patrol_list")).json()["results"]]
    assert patrols == [place.open_patrol.pk, place.patrol.pk]
    assert [v["id"] for v in reader.get(reverse("grids-api:visit_list")).json()["results"]] == [place.visit.pk]
    for name, url in place.object_urls().items():
        assert reader.get(url).status_code == 200, name


def test_a_token_without_grids_read_is_refused_in_the_error_format(persona, place):
    api = token_client(persona(Role.STREET_OPERATOR), "dispatch:read", "personal_data")
    urls = [reverse(f"grids-api:{name}") for name in LISTS] + list(place.object_urls().values())
    for url in urls:
        response = api.get(url)
        assert response.status_code == 403, url
        assert response.json() == {"error": {
            "code": "permission_denied", "fields": {},
            "message": "This token's client lacks the scope “grids:read”."}}


def test_an_outsiders_token_gets_404_on_every_object_and_empty_lists(outsider, place, tree):
    for name, url in place.object_urls().items():
        response = outsider.get(url)
        assert response.status_code == 404, name
        assert response.json()["error"]["code"] == "not_found"
    assert outsider.get(reverse("grids-api:grid_list")).json() == []
    assert outsider.get(reverse("grids-api:grid_geojson")).json()["features"] == []
    assert outsider.get(reverse("grids-api:patrol_list")).json()["results"] == []
    assert outsider.get(reverse("grids-api:visit_list")).json()["results"] == []
    assert outsider.get(reverse("grids-api:patrol_list"), {"grid": place.grid.pk}).json()["results"] == []
    units = {u["id"] for u in outsider.get(reverse("grids-api:unit_list")).json()["results"]}
    assert units == {tree.street_b.pk, tree.community_b.pk}
    # a unit of street A named as a parameter is refused like a missing one
    assert outsider.get(reverse("grids-api:grid_geojson"), {"unit": tree.community_a.pk}).status_code == 400


def test_tokens_cannot_add_patrol_points_and_learn_nothing_from_trying(outsider, reader, place):
    """Points come from the worker's phone, signed in: every token is refused alike, whatever the id."""
    lon, lat = metres_to_lonlat(0, 0)
    body = json.dumps([{"seq": 5, "lon": lon, "lat": lat, "recorded_at": timezone.now().isoformat()}])
    answers = []
    for api in (reader, outsider):
        for pk in (place.open_patrol.pk, 999999):
            response = api.post(reverse("grids-api:patrol_points", args=[pk]), body, content_type="application/json")
            answers.append((response.status_code, response.json()))
    assert answers[0][0] == 403 and answers[0][1]["error"]["code"] == "permission_denied"
    assert all(answer == answers[0] for answer in answers)
    assert PatrolPoint.objects.filter(patrol=place.open_patrol).count() == 0


def test_work_phones_are_masked_for_tokens_without_personal_data(persona, place, client):
    account = persona(Role.STREET_OPERATOR)
    workers_url = reverse("grids-api:grid_workers", args=[place.grid.pk])
    detail_url = reverse("grids-api:grid_detail", args=[place.grid.pk])

    masked = token_client(account, "grids:read")
    assert masked.get(detail_url).json()["team"][0]["phone"] == "138****5678"
    assert masked.get(workers_url).json()["results"][0]["phone"] == "138****5678"
    [visit] = masked.get(reverse("grids-api:visit_list")).json()["results"]
    assert (visit["household"], visit["notes"]) == ("***", "***")

    unmasked = token_client(account, "grids:read", "personal_data")
    assert unmasked.get(detail_url).json()["team"][0]["phone"] == PHONE
    assert unmasked.get(workers_url).json()["results"][0]["phone"] == PHONE
    [visit] = unmasked.get(reverse("grids-api:visit_list")).json()["results"]
    assert (visit["household"], visit["notes"]) == ("3号楼2单元401", "独居老人")

    client.force_login(account)  # the browser: as the grid pages show them
    assert client.get(detail_url).json()["team"][0]["phone"] == PHONE


@pytest.mark.parametrize("name", ["unit detail", "grid detail", "patrol detail"])
def test_details_answer_304_while_unchanged_and_a_new_etag_after_a_change(reader, place, name):
    url = place.object_urls()[name]
    first = reader.get(url)
    tag = first.headers["ETag"]
    again = reader.get(url, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again.headers["ETag"] == tag and not again.content

    if name == "unit detail":
        services.unit_set_boundary(unit=place.unit, boundary=place.grid.boundary, actor=None)
    elif name == "grid detail":
        services.membership_end(membership=place.membership, actor=None)
    else:
        place.patrol.notes = "巡查完毕"
        place.patrol.save(update_fields=["notes"])
    changed = reader.get(url, HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and changed.headers["ETag"] != tag


def test_masked_and_unmasked_answers_never_share_an_etag(persona, place):
    account = persona(Role.STREET_OPERATOR)
    url = reverse("grids-api:grid_detail", args=[place.grid.pk])
    masked_tag = token_client(account, "grids:read").get(url).headers["ETag"]
    unmasked = token_client(account, "grids:read", "personal_data")
    assert unmasked.get(url, HTTP_IF_NONE_MATCH=masked_tag).status_code == 200


@pytest.mark.parametrize(("name", "params", "field"), [
    ("patrol_list", {"grid": "first"}, "grid"),
    ("patrol_list", {"status": "walking"}, "status"),
    ("visit_list", {"due": "maybe"}, "due"),
    ("visit_list", {"visited_before": "tomorrow"}, "visited_before"),
    ("unit_list", {"level": "galaxy"}, "level"),
    ("grid_geojson", {"zoom": "99"}, "zoom"),
    ("unit_geojson", {"crs": "utm"}, "crs"),
])
def test_a_bad_filter_is_400_in_the_error_format(reader, name, params, field):
    response = reader.get(reverse(f"grids-api:{name}"), params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "invalid"
    assert list(body["error"]["fields"]) == [field] and body["error"]["message"]
