import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

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
    rows = client.get(url).json()
    assert [(r["person"], r["grid_role"]) for r in rows] == [("张网格", GridRole.FULL_TIME)]
    assert len(client.get(url + "?include_ended=1").json()) == 2

    client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_b))
    assert client.get(url).status_code == 404


def test_it_lists_patrols_with_their_tracks_in_constant_queries(client, tree, grid, worker, persona, django_assert_num_queries):
    for _ in range(3):
        finished_patrol(grid, worker)
    client.force_login(persona(Role.COMMUNITY_STAFF))
    with django_assert_num_queries(7):  # session, user, scope ×2, count, patrols, points
        response = client.get(reverse("grids-api:patrol_list"))
    body = response.json()
    assert body["count"] == 3
    track = body["results"][0]["track"]
    assert track["type"] == "LineString" and len(track["coordinates"]) == 3
    assert body["results"][0]["distance_m"] == pytest.approx(40, rel=0.02)

    client.force_login(persona(Role.COMMUNITY_STAFF, unit=tree.community_b))
    assert client.get(reverse("grids-api:patrol_list")).json()["count"] == 0


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
    with django_assert_num_queries(6):
        body = client.get(reverse("grids-api:visit_list")).json()
    assert body["count"] == 3 and {r["worker_name"] for r in body["results"]} == {"张网格"}

    client.force_login(worker)
    assert client.get(reverse("grids-api:visit_list") + "?due=1").json()["count"] == 3

    client.force_login(persona(Role.COMMUNITY_STAFF, unit=tree.community_b))
    assert client.get(reverse("grids-api:visit_list")).json()["count"] == 0


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


def test_a_superuser_sees_every_patrol(client, grid, worker):
    from governance.tests.factories import UserFactory

    patrol = finished_patrol(grid, worker)
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(reverse("grids-api:patrol_detail", args=[patrol.pk])).status_code == 200
    assert client.get(reverse("grids:patrol_detail", args=[patrol.pk])).status_code == 200
