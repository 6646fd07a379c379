import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from governance.models import AuditEntry, RoleAssignment
from governance.roles import Role
from governance.tests.factories import UserFactory
from grids import selectors, services
from grids.models import GridMembership, GridRole
from grids.tests.fieldwork import make_grid

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"  # the messages asserted below are the English source strings


@pytest.fixture
def admin_user(persona):
    return persona(Role.ADMINISTRATOR)


def test_it_starts_a_membership_and_gives_the_role_scope(tree, admin_user):
    grid = make_grid(tree.community_a)
    newcomer = UserFactory()
    assert not selectors.grids_visible_to(newcomer).exists()

    membership = services.membership_start(
        grid=grid, user=newcomer, grid_role=GridRole.FULL_TIME, phone="13800000000", actor=admin_user
    )

    assert membership.ended_on is None
    assignment = RoleAssignment.objects.get(user=newcomer)
    assert (assignment.role, assignment.unit) == (Role.GRID_WORKER, tree.community_a)
    newcomer = type(newcomer).objects.get(pk=newcomer.pk)  # fresh scope cache
    assert list(selectors.grids_visible_to(newcomer)) == [grid]
    assert AuditEntry.objects.filter(action="grids.membership.started", object_id=str(membership.pk)).exists()


def test_it_gives_a_leader_the_grid_leader_role(tree, admin_user):
    grid = make_grid(tree.community_a)
    leader = UserFactory()
    services.membership_start(grid=grid, user=leader, grid_role=GridRole.LEADER, actor=admin_user)
    assert RoleAssignment.objects.get(user=leader).role == Role.GRID_LEADER


def test_it_adds_no_role_when_one_already_covers_the_grid(tree, persona, admin_user):
    grid = make_grid(tree.community_a)
    worker = persona(Role.GRID_WORKER)
    services.membership_start(grid=grid, user=worker, grid_role=GridRole.FULL_TIME, actor=admin_user)
    services.membership_start(grid=grid, user=worker, grid_role=GridRole.PATROLLER, actor=admin_user)
    assert RoleAssignment.objects.filter(user=worker).count() == 1


def test_it_keeps_history_when_a_membership_ends(tree, persona, admin_user):
    grid = make_grid(tree.community_a)
    first, second = persona(Role.GRID_WORKER), persona(Role.GRID_WORKER)
    start = datetime.date(2025, 1, 1)
    old = services.membership_start(grid=grid, user=first, grid_role=GridRole.FULL_TIME, started_on=start, actor=admin_user)
    services.membership_end(membership=old, ended_on=datetime.date(2025, 6, 30), actor=admin_user)
    services.membership_start(grid=grid, user=second, grid_role=GridRole.FULL_TIME, actor=admin_user)

    assert GridMembership.objects.filter(grid=grid).count() == 2  # the ended row stays
    full_time = next(p for p in selectors.roster_for_grid(grid) if p["role"] == GridRole.FULL_TIME)
    assert [m.user for m in full_time["current"]] == [second]
    assert [(m.user, m.started_on, m.ended_on) for m in full_time["past"]] == [
        (first, start, datetime.date(2025, 6, 30))
    ]
    assert AuditEntry.objects.filter(action="grids.membership.ended", object_id=str(old.pk)).exists()


def test_it_refuses_bad_endings_and_duplicate_positions(tree, persona, admin_user):
    grid = make_grid(tree.community_a)
    worker = persona(Role.GRID_WORKER)
    membership = services.membership_start(
        grid=grid, user=worker, grid_role=GridRole.FULL_TIME, started_on=datetime.date(2025, 3, 1), actor=admin_user
    )
    with pytest.raises(ValidationError):
        services.membership_start(grid=grid, user=worker, grid_role=GridRole.FULL_TIME, actor=admin_user)
    with pytest.raises(ValidationError):
        services.membership_end(membership=membership, ended_on=datetime.date(2025, 2, 1), actor=admin_user)
    services.membership_end(membership=membership, actor=admin_user)
    with pytest.raises(ValidationError):
        services.membership_end(membership=membership, actor=admin_user)


def test_it_lists_grids_without_a_full_time_worker_in_scope(tree, persona, admin_user, django_assert_num_queries):
    staffed, unstaffed = make_grid(tree.community_a), make_grid(tree.community_a)
    elsewhere = make_grid(tree.community_b)
    part_timer = persona(Role.GRID_WORKER)
    ft = services.membership_start(grid=staffed, user=persona(Role.GRID_WORKER), grid_role=GridRole.FULL_TIME, actor=admin_user)
    services.membership_start(grid=unstaffed, user=part_timer, grid_role=GridRole.PART_TIME, actor=admin_user)
    operator = persona(Role.STREET_OPERATOR)

    assert list(selectors.grids_without_full_time_worker(operator)) == [unstaffed]
    services.membership_end(membership=ft, actor=admin_user)
    assert set(selectors.grids_without_full_time_worker(operator)) == {staffed, unstaffed}
    assert elsewhere not in selectors.grids_without_full_time_worker(operator)
    assert elsewhere in selectors.grids_without_full_time_worker(admin_user)  # held in the district


def test_it_shows_the_without_worker_page_to_scope_only(client, tree, persona, django_assert_num_queries):
    mine, theirs = make_grid(tree.community_a, name="甲网格"), make_grid(tree.community_b, name="乙网格")
    for _ in range(3):
        make_grid(tree.community_a)
    client.force_login(persona(Role.STREET_OPERATOR))
    with django_assert_num_queries(7):  # session, user, roles, scope (units, departments), grids, unread inbox count
        response = client.get(reverse("grids:without_worker"))
    assert response.status_code == 200
    assert mine.name in response.content.decode()
    assert theirs.name not in response.content.decode()

    client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_b))
    body = client.get(reverse("grids:without_worker")).content.decode()
    assert theirs.name in body and mine.name not in body


def test_it_shows_the_team_page_with_history_and_hides_it_from_outsiders(client, tree, persona, admin_user):
    grid = make_grid(tree.community_a)
    worker = persona(Role.GRID_WORKER, full_name="王网格")
    m = services.membership_start(grid=grid, user=worker, grid_role=GridRole.FULL_TIME,
                                  started_on=datetime.date(2025, 1, 1), actor=admin_user)
    services.membership_end(membership=m, ended_on=datetime.date(2025, 2, 1), actor=admin_user)

    client.force_login(persona(Role.COMMUNITY_STAFF))
    response = client.get(reverse("grids:grid_team", args=[grid.pk]))
    assert response.status_code == 200
    assert "王网格" in response.content.decode() and "2025-02-01" in response.content.decode()

    client.force_login(persona(Role.COMMUNITY_STAFF, unit=tree.community_b))
    assert client.get(reverse("grids:grid_team", args=[grid.pk])).status_code == 404


def test_the_admin_starts_and_ends_memberships_through_the_services(client, tree):
    grid = make_grid(tree.community_a)
    newcomer = UserFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:grids_gridmembership_add"),
        {"grid": grid.pk, "user": newcomer.pk, "grid_role": GridRole.FULL_TIME, "phone": "", "started_on": "2025-01-01"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = GridMembership.objects.get(user=newcomer)
    assert RoleAssignment.objects.get(user=newcomer).role == Role.GRID_WORKER

    response = client.post(
        reverse("admin:grids_gridmembership_change", args=[membership.pk]), {"phone": "139", "ended_on": "2025-03-01"}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.phone, membership.ended_on) == ("139", datetime.date(2025, 3, 1))
    assert AuditEntry.objects.filter(action="grids.membership.ended", object_id=str(membership.pk)).exists()
