"""Jurisdiction: what each persona may see. Out of scope answers 404, never 403."""

import pytest

from governance.models import AdministrativeUnit
from governance.roles import Role
from governance.selectors import departments_visible_to, units_visible_to, users_visible_to
from governance.services import role_end
from governance.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_limits_a_street_operator_to_their_street(tree, persona):
    operator = persona(Role.STREET_OPERATOR, unit=tree.street_a)
    visible = set(units_visible_to(operator))
    assert visible == {tree.street_a, tree.community_a}


def test_it_lets_the_district_see_both_streets(tree, persona):
    dispatcher = persona(Role.DISTRICT_DISPATCHER)
    visible = set(units_visible_to(dispatcher))
    assert {tree.district, tree.street_a, tree.street_b, tree.community_a, tree.community_b} <= visible
    assert tree.district.parent not in visible  # nothing above the jurisdiction


def test_it_shows_departments_inside_the_scope_and_the_handlers_own(tree, persona):
    operator_b = persona(Role.STREET_OPERATOR, unit=tree.street_b)
    handler = persona(Role.DEPARTMENT_HANDLER, department=tree.bureau)
    assert set(departments_visible_to(operator_b)) == {tree.office_b}
    assert set(departments_visible_to(handler)) == {tree.bureau}


def test_it_gives_nothing_to_a_person_without_a_role(tree):
    outsider = UserFactory()
    assert not units_visible_to(outsider).exists()
    assert not departments_visible_to(outsider).exists()


def test_it_withdraws_the_scope_when_the_assignment_ends(tree, persona):
    operator = persona(Role.STREET_OPERATOR, unit=tree.street_a)
    assignment = operator.assignments.get()
    role_end(assignment=assignment, actor=None)
    operator = type(operator).objects.get(pk=operator.pk)  # a new request
    assert not units_visible_to(operator).exists()


def test_it_lists_people_in_scope_only(tree, persona):
    operator_a = persona(Role.STREET_OPERATOR, unit=tree.street_a)
    worker_a = persona(Role.GRID_WORKER, unit=tree.community_a)
    worker_b = persona(Role.GRID_WORKER, unit=tree.community_b)
    people = set(users_visible_to(operator_a))
    assert worker_a in people and operator_a in people
    assert worker_b not in people


def test_it_keeps_scope_when_a_unit_moves(tree, persona):
    """Re-parenting a community moves it (and everything under it) into the other street's scope."""
    operator_b = persona(Role.STREET_OPERATOR, unit=tree.street_b)
    tree.community_a.parent = tree.street_b
    tree.community_a.save()
    assert tree.community_a in set(units_visible_to(operator_b))
    assert AdministrativeUnit.objects.get(pk=tree.community_a.pk).path.startswith(tree.street_b.path)


class TestPages:
    def test_it_answers_404_for_a_unit_in_another_street(self, client, tree, persona):
        client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_a))
        assert client.get(f"/units/{tree.community_a.pk}/").status_code == 200
        assert client.get(f"/units/{tree.community_b.pk}/").status_code == 404
        assert client.get(f"/units/{tree.street_b.pk}/").status_code == 404
        assert client.get("/units/999999/").status_code == 404

    def test_it_answers_404_for_a_department_out_of_scope(self, client, tree, persona):
        client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_a))
        assert client.get(f"/departments/{tree.office_b.pk}/").status_code == 404

    def test_it_lists_only_units_in_scope(self, client, tree, persona, django_assert_max_num_queries):
        client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_a))
        with django_assert_max_num_queries(12):
            body = client.get("/units/").content.decode()
        assert tree.community_a.name in body
        assert tree.street_b.name not in body and tree.community_b.name not in body

    def test_it_shows_the_district_both_streets(self, client, tree, persona):
        client.force_login(persona(Role.DISTRICT_DISPATCHER))
        body = client.get("/units/").content.decode()
        assert tree.street_a.name in body and tree.street_b.name in body
