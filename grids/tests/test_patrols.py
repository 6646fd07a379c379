import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from governance.roles import Role
from grids import services
from grids.models import GridRole, Patrol, PatrolPoint, PatrolStatus
from grids.tests.fieldwork import make_grid, metres_to_lonlat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"  # the messages asserted below are the English source strings


@pytest.fixture
def grid(tree):
    return make_grid(tree.community_a)  # a 200 m × 200 m square


@pytest.fixture
def worker(grid, persona):
    user = persona(Role.GRID_WORKER)
    services.membership_start(grid=grid, user=user, grid_role=GridRole.FULL_TIME, actor=None)
    return user


@pytest.fixture
def patrol(grid, worker):
    return services.patrol_start(grid=grid, worker=worker, actor=worker)


def fix(seq, dx, dy, accuracy=5.0):
    lon, lat = metres_to_lonlat(dx, dy)
    return {"seq": seq, "lon": lon, "lat": lat, "accuracy": accuracy, "recorded_at": timezone.now().isoformat()}


def post_points(client, patrol, points):
    return client.post(
        reverse("grids-api:patrol_points", args=[patrol.pk]), data=json.dumps(points), content_type="application/json"
    )


def test_it_starts_one_patrol_per_worker(client, grid, worker):
    client.force_login(worker)
    response = client.post(reverse("grids:patrol_start"), {"grid": grid.pk})
    patrol = Patrol.objects.get(worker=worker)
    assert response.status_code == 302 and response["Location"] == reverse("grids:patrol_detail", args=[patrol.pk])
    assert AuditEntry.objects.filter(action="grids.patrol.started", object_id=str(patrol.pk)).exists()

    again = client.post(reverse("grids:patrol_start"), {"grid": grid.pk})
    assert again["Location"] == reverse("grids:patrol_detail", args=[patrol.pk])  # back to the open one
    assert Patrol.objects.filter(worker=worker).count() == 1


def test_it_refuses_a_patrol_of_a_grid_not_on_ones_roster(tree, persona):
    other_grid = make_grid(tree.community_a)
    with pytest.raises(ValidationError):
        services.patrol_start(grid=other_grid, worker=persona(Role.GRID_WORKER), actor=None)


def test_it_stores_a_resent_batch_once(client, patrol, worker):
    client.force_login(worker)
    batch = [fix(1, 0, 100), fix(2, 50, 100), fix(3, 100, 100)]
    first = post_points(client, patrol, batch)
    second = post_points(client, patrol, batch + [fix(4, 150, 100)])
    assert first.status_code == 200 and first.json() == {"max_seq": 3, "count": 3}
    assert second.status_code == 200 and second.json() == {"max_seq": 4, "count": 4}
    assert list(PatrolPoint.objects.filter(patrol=patrol).values_list("seq", flat=True)) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"lon": 200.0}, "out of range"),
        ({"lat": 116.4}, "out of range"),
        ({"lat": "x"}, "out of range"),
        ({"seq": -1}, "seq"),
        ({"recorded_at": "yesterday"}, "recorded_at"),
    ],
)
def test_it_rejects_a_bad_point_with_a_message_and_writes_nothing(client, patrol, worker, bad, message):
    client.force_login(worker)
    response = post_points(client, patrol, [fix(1, 0, 0), {**fix(2, 10, 0), **bad}])
    assert response.status_code == 400
    error = response.json()["error"]["message"]
    assert "Point 2" in error and message in error
    assert not PatrolPoint.objects.exists()


def test_it_rejects_a_body_that_is_not_a_list(client, patrol, worker):
    client.force_login(worker)
    assert post_points(client, patrol, {"seq": 1}).status_code == 400


def test_only_the_patrols_worker_adds_points_and_outsiders_get_404(client, tree, patrol, persona):
    colleague = persona(Role.GRID_WORKER)  # same community: may view, may not write
    client.force_login(colleague)
    assert post_points(client, patrol, [fix(1, 0, 0)]).status_code == 403
    assert client.get(reverse("grids:patrol_detail", args=[patrol.pk])).status_code == 200
    assert client.post(reverse("grids:patrol_end", args=[patrol.pk])).status_code == 403

    client.force_login(persona(Role.GRID_WORKER, unit=tree.community_b))
    assert post_points(client, patrol, [fix(1, 0, 0)]).status_code == 404
    assert client.get(reverse("grids:patrol_detail", args=[patrol.pk])).status_code == 404
    assert client.post(reverse("grids:patrol_end", args=[patrol.pk])).status_code == 404
    assert not PatrolPoint.objects.exists()
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.OPEN


def test_end_computes_distance_duration_and_coverage(client, patrol, worker):
    Patrol.objects.filter(pk=patrol.pk).update(started_at=timezone.now() - datetime.timedelta(minutes=30))
    client.force_login(worker)
    # West to east across the middle of the 200 m square, sent out of order, plus one poor fix far away.
    track = [fix(3, 100, 100), fix(1, 0, 100), fix(2, 50, 100), fix(5, 200, 100), fix(4, 150, 100)]
    track.append(fix(6, 500, 500, accuracy=250.0))
    assert post_points(client, patrol, track).status_code == 200

    response = client.post(reverse("grids:patrol_end", args=[patrol.pk]))
    assert response.status_code == 302
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.FINISHED
    assert patrol.distance_m == pytest.approx(200, rel=0.01)  # the 250 m-accuracy fix is left out
    # A 60 m band (30 m either side) across a 200 m square covers 60 × 200 / 200² = 0.30.
    assert patrol.coverage == pytest.approx(0.30, abs=0.01)
    assert (patrol.ended_at - patrol.started_at) >= datetime.timedelta(minutes=30)
    entry = AuditEntry.objects.get(action="grids.patrol.ended", object_id=str(patrol.pk))
    assert entry.data["duration_s"] >= 1800 and entry.data["points"] == 5

    page = client.get(reverse("grids:patrol_detail", args=[patrol.pk])).content.decode()
    assert "200 m" in page and "30 %" in page
    # Points after the end are refused with 409, so a phone stops re-sending them.
    assert post_points(client, patrol, [fix(7, 0, 0)]).status_code == 409


def test_a_patrol_without_usable_points_ends_with_zero(patrol, worker):
    services.patrol_end(patrol=patrol, actor=worker)
    patrol.refresh_from_db()
    assert (patrol.distance_m, patrol.coverage) == (0, 0.0)
    with pytest.raises(ValidationError):
        services.patrol_end(patrol=patrol, actor=worker)


def test_the_recording_page_carries_what_patrol_js_needs(client, patrol, worker):
    client.force_login(worker)
    post_points(client, patrol, [fix(7, 0, 0)])
    response = client.get(reverse("grids:patrol_detail", args=[patrol.pk]))
    data = response.context["page_data"]
    assert data["recording"] is True and data["maxSeq"] == 7
    assert data["pointsUrl"] == reverse("grids-api:patrol_points", args=[patrol.pk])
    assert 'id="end-form"' in response.content.decode()
