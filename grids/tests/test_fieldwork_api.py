"""REST: grid teams, patrols (with tracks) and visits, scoped, paginated; the phone's patrol points
endpoint and its 403 / 409 / 400 answers in the error format. Tokens: test_api_tokens.py."""

import csv
import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from governance.roles import Role
from grids import services
from grids.models import GridRole, PatrolPoint, VisitOutcome, VisitPurpose
from grids.tests.fieldwork import make_grid, metres_to_lonlat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"  # the messages asserted below are the English source strings


@pytest.fixture
def grid(tree):
    return make_grid(tree.community_a)


@pytest.fixture
def worker(grid, persona):
    user = persona(Role.GRID_WORKER, full_name="张网格")
    services.membership_start(grid=grid, user=user, grid_role=GridRole.FULL_TIME, actor=None)
    return user


def finished_patrol(grid, worker, n_points=3):
    patrol = services.patrol_start(grid=grid, worker=worker, actor=worker)
    points = []
    for seq in range(1, n_points + 1):
        lon, lat = metres_to_lonlat(seq * 20, 50)
        points.append({"seq": seq, "lon": lon, "lat": lat, "accuracy": 8, "recorded_at": timezone.now().isoformat()})
    services.patrol_points_add(patrol=patrol, points=points, actor=worker)
    return services.patrol_end(patrol=patrol, actor=worker)


def test_it_lists_a_grids_workers_and_hides_them_from_outsiders(client, tree, grid, worker, persona):
    ended = services.membership_start(grid=grid, user=persona(Role.GRID_WORKER), grid_role=GridRole.PART_TIME, actor=None)
    services.membership_end(membership=ended, actor=None)
    url = reverse("grids-api:grid_workers", args=[grid.pk])

    client.force_login(persona(Role.STREET_OPERATOR))
    rows = client.get(url).json()["results"]
    assert [(r["person"], r["grid_role"]) for r in rows] == [("张网格", GridRole.FULL_TIME)]
    assert len(client.get(url, {"include_ended": "true"}).json()["results"]) == 2
    assert len(client.get(url, {"include_ended": "0"}).json()["results"]) == 1
    refused = client.get(url, {"include_ended": "maybe"})
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["include_ended"]

    client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_b))
    assert client.get(url).status_code == 404


def test_it_lists_patrols_with_their_tracks_in_constant_queries(client, tree, grid, worker, persona, django_assert_num_queries):
    for _ in range(3):
        finished_patrol(grid, worker)
    client.force_login(persona(Role.COMMUNITY_STAFF))
    with django_assert_num_queries(6):  # session, user, scope ×2, patrols, points
        response = client.get(reverse("grids-api:patrol_list"))
    body = response.json()
    assert len(body["results"]) == 3 and body["next"] is None
    track = body["results"][0]["track"]
    assert track["type"] == "LineString" and len(track["coordinates"]) == 3
    assert body["results"][0]["distance_m"] == pytest.approx(40, rel=0.02)

    client.force_login(persona(Role.COMMUNITY_STAFF, unit=tree.community_b))
    assert client.get(reverse("grids-api:patrol_list")).json()["results"] == []


def test_the_patrol_list_pages_newest_first_without_repeats_and_filters(client, tree, grid, worker, persona):
    patrols = [finished_patrol(grid, worker, n_points=1) for _ in range(5)]
    other_grid = make_grid(tree.community_a)
    other_worker = persona(Role.GRID_WORKER)
    services.membership_start(grid=other_grid, user=other_worker, grid_role=GridRole.FULL_TIME, actor=None)
    elsewhere = services.patrol_start(grid=other_grid, worker=other_worker, actor=other_worker)
    client.force_login(persona(Role.COMMUNITY_STAFF))
    url = reverse("grids-api:patrol_list")

    body, seen = client.get(url, {"page_size": 2}).json(), []
    seen += [p["id"] for p in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [p["id"] for p in body["results"]]
    assert seen == [elsewhere.pk] + [p.pk for p in reversed(patrols)]

    def ids(**params):
        return [p["id"] for p in client.get(url, params).json()["results"]]

    assert ids(grid=other_grid.pk) == ids(worker=other_worker.pk) == ids(status="open") == [elsewhere.pk]
    assert len(ids(grid=grid.pk, status="finished")) == 5
    assert ids(grid=999999) == []
    assert ids(started_after=timezone.now().isoformat()) == []


@pytest.mark.parametrize("params", [{"grid": "abc"}, {"worker": "1.5"}, {"status": "lost"},
                                    {"started_after": "yesterday"}])
def test_bad_patrol_filters_are_refused_in_the_error_format(client, grid, worker, persona, params):
    finished_patrol(grid, worker, n_points=1)
    client.force_login(persona(Role.COMMUNITY_STAFF))
    response = client.get(reverse("grids-api:patrol_list"), params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == list(params)


def test_patrol_detail_is_404_out_of_scope(client, tree, grid, worker, persona):
    patrol = finished_patrol(grid, worker)
    url = reverse("grids-api:patrol_detail", args=[patrol.pk])
    client.force_login(persona(Role.GRID_LEADER))
    assert client.get(url).json()["track"]["type"] == "LineString"
    client.force_login(persona(Role.GRID_LEADER, unit=tree.community_b))
    assert client.get(url).status_code == 404
    assert client.get(reverse("grids-api:patrol_detail", args=[999999])).status_code == 404


def test_it_lists_visits_in_scope(client, tree, grid, worker, persona, django_assert_num_queries):
    for n in range(3):
        services.visit_create(grid=grid, worker=worker, household=f"{n}号楼", purpose=VisitPurpose.POLICY,
                              outcome=VisitOutcome.NEEDS_FOLLOW_UP, follow_up_on=timezone.localdate(), actor=worker)
    client.force_login(persona(Role.COMMUNITY_STAFF))
    with django_assert_num_queries(5):  # session, user, scope ×2, visits
        body = client.get(reverse("grids-api:visit_list")).json()
    assert len(body["results"]) == 3 and {r["worker_name"] for r in body["results"]} == {"张网格"}
    assert {r["household"] for r in body["results"]} == {"0号楼", "1号楼", "2号楼"}  # a session: as the pages
    assert client.get(reverse("grids-api:visit_list"), {"due": "true"}).json()["results"] == []  # not theirs

    client.force_login(worker)
    assert len(client.get(reverse("grids-api:visit_list"), {"due": "1"}).json()["results"]) == 3
    assert client.get(reverse("grids-api:visit_list"), {"due": "soon"}).status_code == 400

    client.force_login(persona(Role.COMMUNITY_STAFF, unit=tree.community_b))
    assert client.get(reverse("grids-api:visit_list")).json()["results"] == []


def test_the_points_endpoint_needs_the_csrf_token(grid, worker):
    patrol = services.patrol_start(grid=grid, worker=worker, actor=worker)
    client = Client(enforce_csrf_checks=True)
    client.force_login(worker)
    lon, lat = metres_to_lonlat(0, 0)
    body = json.dumps([{"seq": 1, "lon": lon, "lat": lat, "accuracy": 5, "recorded_at": timezone.now().isoformat()}])
    url = reverse("grids-api:patrol_points", args=[patrol.pk])
    assert client.post(url, body, content_type="application/json").status_code == 403
    client.get(reverse("grids:patrol_detail", args=[patrol.pk]))  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    assert client.post(url, body, content_type="application/json", headers={"X-CSRFToken": token}).status_code == 200
    assert PatrolPoint.objects.count() == 1


def point(n, **fields):
    lon, lat = metres_to_lonlat(n * 10, 0)
    return {"seq": n, "lon": lon, "lat": lat, "accuracy": 5, "recorded_at": timezone.now().isoformat(), **fields}


def post_points(client, patrol, points):
    return client.post(reverse("grids-api:patrol_points", args=[patrol.pk]), json.dumps(points),
                       content_type="application/json")


def test_the_phone_adds_points_and_a_resent_batch_is_not_stored_twice(client, grid, worker):
    patrol = services.patrol_start(grid=grid, worker=worker, actor=worker)
    client.force_login(worker)
    assert post_points(client, patrol, [point(1), point(2)]).json() == {"max_seq": 2, "count": 2}
    assert post_points(client, patrol, [point(2), point(3)]).json() == {"max_seq": 3, "count": 3}
    assert PatrolPoint.objects.filter(patrol=patrol).count() == 3


def test_only_the_patrols_worker_adds_points(client, grid, worker, persona):
    patrol = services.patrol_start(grid=grid, worker=worker, actor=worker)
    client.force_login(persona(Role.GRID_LEADER))  # sees the patrol, is not on it
    response = post_points(client, patrol, [point(1)])
    assert response.status_code == 403
    assert response.json()["error"] == {"code": "permission_denied", "fields": {},
                                        "message": "Only the grid worker on this patrol can add points to it."}
    assert not PatrolPoint.objects.exists()


def test_an_ended_patrol_answers_409_so_the_phone_stops_resending(client, grid, worker):
    patrol = finished_patrol(grid, worker, n_points=2)
    client.force_login(worker)
    response = post_points(client, patrol, [point(3)])
    assert response.status_code == 409  # static/js/patrol.js empties its queue on 409
    assert response.json()["error"]["code"] == "conflict"
    assert "has ended" in response.json()["error"]["message"]
    assert PatrolPoint.objects.filter(patrol=patrol).count() == 2


@pytest.mark.parametrize(("bad", "field"), [
    ({"seq": -1}, "1.seq"),
    ({"lat": 91}, "1.lat"),
    ({"accuracy": -3}, "1.accuracy"),
    ({"recorded_at": "noon"}, "1.recorded_at"),
])
def test_a_bad_batch_stores_nothing_and_names_the_refused_field(client, grid, worker, bad, field):
    patrol = services.patrol_start(grid=grid, worker=worker, actor=worker)
    client.force_login(worker)
    response = post_points(client, patrol, [point(1), point(2, **bad)])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert error["message"].startswith("Point 2:")  # the service's message, for the person holding the phone
    assert not PatrolPoint.objects.exists()


def test_a_batch_that_is_not_a_list_is_refused_in_the_error_format(client, grid, worker):
    patrol = services.patrol_start(grid=grid, worker=worker, actor=worker)
    client.force_login(worker)
    response = post_points(client, patrol, {"seq": 1})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"non_field_errors": ["Expected a list of points."]}


def test_points_for_a_patrol_outside_the_jurisdiction_are_404(client, tree, grid, worker, persona):
    patrol = services.patrol_start(grid=grid, worker=worker, actor=worker)
    client.force_login(persona(Role.GRID_WORKER, unit=tree.community_b))
    assert post_points(client, patrol, [point(1)]).status_code == 404
    assert not PatrolPoint.objects.exists()


def test_a_superuser_sees_every_patrol(client, grid, worker):
    from governance.tests.factories import UserFactory

    patrol = finished_patrol(grid, worker)
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(reverse("grids-api:patrol_detail", args=[patrol.pk])).status_code == 200
    assert client.get(reverse("grids:patrol_detail", args=[patrol.pk])).status_code == 200


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8").removeprefix("\ufeff"))))


def test_the_patrol_list_exports_as_csv_filtered_scoped_without_tracks(client, tree, grid, worker, persona):
    finished_patrol(grid, worker)
    services.patrol_start(grid=grid, worker=worker, actor=worker)
    client.force_login(persona(Role.COMMUNITY_STAFF))
    url = reverse("grids-api:patrol_list")
    response = client.get(url, {"format": "csv", "status": "finished"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, *rows = csv_rows(response)
    assert len(rows) == 1 and "track" not in " ".join(header).lower()
    assert rows[0][header.index("Worker name")] == "张网格"
    assert AuditEntry.objects.filter(action="governance.list.exported", data__list="grids.api.patrols").count() == 1

    client.force_login(persona(Role.COMMUNITY_STAFF, unit=tree.community_b))
    assert csv_rows(client.get(url, {"format": "csv"}))[1:] == []


def test_the_visit_export_leaves_out_the_household_and_notes(client, grid, worker, persona):
    services.visit_create(grid=grid, worker=worker, household="3号楼2单元401", purpose=VisitPurpose.POLICY,
                          outcome=VisitOutcome.ALL_WELL, notes="独居老人", actor=worker)
    client.force_login(persona(Role.COMMUNITY_STAFF))
    response = client.get(reverse("grids-api:visit_list"), {"format": "csv"})
    rows = csv_rows(response)
    text = "\n".join(",".join(row) for row in rows)
    assert len(rows) == 2 and "张网格" in text
    assert "3号楼2单元401" not in text and "独居老人" not in text
