import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from governance.roles import Role
from grids import services
from grids.models import GridRole, Visit, VisitOutcome, VisitPurpose
from grids.tests.fieldwork import make_grid

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"  # the messages asserted below are the English source strings


@pytest.fixture
def grid(tree):
    return make_grid(tree.community_a, name="甲一网格")


@pytest.fixture
def worker(grid, persona):
    user = persona(Role.GRID_WORKER)
    services.membership_start(grid=grid, user=user, grid_role=GridRole.FULL_TIME, actor=None)
    return user


def visit(grid, worker, household, follow_up_on=None, **fields):
    return services.visit_create(
        grid=grid,
        worker=worker,
        household=household,
        purpose=fields.pop("purpose", VisitPurpose.ELDERLY_ALONE),
        outcome=fields.pop("outcome", VisitOutcome.NEEDS_FOLLOW_UP),
        follow_up_on=follow_up_on,
        actor=worker,
        **fields,
    )


def test_it_records_a_visit_from_the_form(client, grid, worker):
    client.force_login(worker)
    form_page = client.get(reverse("grids:visit_create"))
    assert list(form_page.context["form"].fields["grid"].queryset) == [grid]
    response = client.post(
        reverse("grids:visit_create"),
        {
            "grid": grid.pk,
            "household": "3号楼2单元401",
            "purpose": VisitPurpose.ELDERLY_ALONE,
            "outcome": VisitOutcome.NEEDS_FOLLOW_UP,
            "notes": "独居老人，腿脚不便",
            "follow_up_on": "2030-01-02",
        },
    )
    assert response.status_code == 302
    saved = Visit.objects.get()
    assert (saved.worker, saved.grid, saved.follow_up_on) == (worker, grid, datetime.date(2030, 1, 2))
    assert AuditEntry.objects.filter(action="grids.visit.created", object_id=str(saved.pk)).exists()


def test_the_grid_chooser_only_offers_the_workers_grids(client, tree, worker):
    other = make_grid(tree.community_a, name="别的网格")
    client.force_login(worker)
    response = client.post(
        reverse("grids:visit_create"),
        {"grid": other.pk, "household": "1号楼", "purpose": VisitPurpose.POLICY, "outcome": VisitOutcome.ALL_WELL},
    )
    assert response.status_code == 200 and "grid" in response.context["form"].errors
    assert not Visit.objects.exists()


def test_follow_ups_due_show_on_the_home_page(client, grid, worker):
    today = timezone.localdate()
    visit(grid, worker, "今天要回访的户", follow_up_on=today)
    visit(grid, worker, "逾期的户", follow_up_on=today - datetime.timedelta(days=3))
    visit(grid, worker, "下周的户", follow_up_on=today + datetime.timedelta(days=7))
    done = visit(grid, worker, "已回访的户", follow_up_on=today)
    services.visit_follow_up_done(visit=done, actor=worker)

    client.force_login(worker)
    page = client.get(reverse("home")).content.decode()
    assert 'id="panel-my-grid"' in page and "甲一网格" in page
    assert "今天要回访的户" in page and "逾期的户" in page
    assert "下周的户" not in page and "已回访的户" not in page


def test_the_home_panel_is_only_for_grid_roles(client, persona):
    client.force_login(persona(Role.STREET_OPERATOR))
    assert 'id="panel-my-grid"' not in client.get(reverse("home")).content.decode()


def test_it_marks_a_follow_up_done(client, tree, grid, worker, persona):
    due = visit(grid, worker, "1号楼101", follow_up_on=timezone.localdate())
    url = reverse("grids:visit_follow_up_done", args=[due.pk])

    client.force_login(persona(Role.GRID_WORKER, unit=tree.community_b))
    assert client.post(url).status_code == 404  # outsider
    client.force_login(persona(Role.COMMUNITY_STAFF))
    assert client.post(url).status_code == 403  # in scope, but not on the grid's team

    client.force_login(worker)
    response = client.post(url, {"next": reverse("grids:my_grid")})
    assert response.status_code == 302 and response["Location"] == reverse("grids:my_grid")
    due.refresh_from_db()
    assert due.follow_up_done_at is not None
    assert AuditEntry.objects.filter(action="grids.visit.follow_up_done", object_id=str(due.pk)).exists()


def test_it_lists_visits_in_constant_queries(client, tree, grid, worker, persona, django_assert_num_queries):
    for n in range(5):
        visit(grid, worker, f"{n}号楼", follow_up_on=timezone.localdate())
    outsider_grid = make_grid(tree.community_b)
    outsider = persona(Role.GRID_WORKER, unit=tree.community_b)
    services.membership_start(grid=outsider_grid, user=outsider, grid_role=GridRole.FULL_TIME, actor=None)
    visit(outsider_grid, outsider, "乙社区的户")

    client.force_login(persona(Role.COMMUNITY_STAFF))
    with django_assert_num_queries(7):  # includes the unread inbox count in the top bar
        response = client.get(reverse("grids:visit_list") + "?show=all")
    body = response.content.decode()
    assert "4号楼" in body and "乙社区的户" not in body

    client.force_login(worker)
    for show in ("mine", "due"):
        assert "0号楼" in client.get(reverse("grids:visit_list") + f"?show={show}").content.decode()


def test_my_grid_page(client, tree, grid, worker, persona, django_assert_num_queries):
    for n in range(3):
        visit(grid, worker, f"{n}号楼", follow_up_on=timezone.localdate())
        services.patrol_end(patrol=services.patrol_start(grid=grid, worker=worker, actor=worker), actor=worker)
    services.membership_start(grid=grid, user=persona(Role.GRID_LEADER), grid_role=GridRole.LEADER, actor=None)
    client.force_login(worker)
    with django_assert_num_queries(10):  # includes the unread inbox count in the top bar
        response = client.get(reverse("grids:my_grid"))
    body = response.content.decode()
    assert "甲一网格" in body and 'id="start-patrol"' in body and "leaflet.js" in body

    client.force_login(persona(Role.GRID_WORKER, unit=tree.community_b))
    assert "甲一网格" not in client.get(reverse("grids:my_grid")).content.decode()
