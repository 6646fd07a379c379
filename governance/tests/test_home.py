"""Each role's home page shows that person's own work, and navigation follows the role."""

import pytest

from governance.roles import Role
from governance.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def home(client, user) -> str:
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_requires_login_for_every_page_but_login_and_healthz(client):
    for path in ["/", "/units/", "/departments/", "/admin/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert "/login/" in response["Location"]
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_it_shows_a_street_operator_their_street(client, tree, persona):
    body = home(client, persona(Role.STREET_OPERATOR, unit=tree.street_a))
    assert 'id="panel-jurisdiction"' in body
    assert tree.street_a.name in body
    assert 'id="panel-department"' not in body
    assert "/admin/" not in body  # no administration for non-staff


def test_it_shows_a_handler_their_department_and_colleagues(client, tree, persona):
    colleague = persona(Role.DEPARTMENT_HANDLER, full_name="同事甲")
    body = home(client, persona(Role.DEPARTMENT_HANDLER))
    assert 'id="panel-department"' in body
    assert tree.bureau.name in body and colleague.full_name in body
    assert 'id="panel-jurisdiction"' not in body
    assert "/units/" not in body  # handlers navigate by department, not by unit tree


def test_it_shows_a_grid_worker_their_community_and_no_unit_tree(client, tree, persona):
    body = home(client, persona(Role.GRID_WORKER))
    assert tree.community_a.name in body
    assert 'href="/units/"' not in body


def test_it_shows_administrators_the_administration_panel(client, tree, persona):
    admin = persona(Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    body = home(client, admin)
    assert 'id="panel-administration"' in body and "/admin/" in body


def test_it_tells_a_person_without_a_role_what_to_do(client, db):
    body = home(client, UserFactory())
    assert "class=\"warning\"" in body


def test_it_logs_in_and_out_through_the_forms(client, tree, persona):
    user = persona(Role.LEADER)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_it_switches_the_interface_language(client, tree, persona):
    client.force_login(persona(Role.LEADER))
    assert "我的工作" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "My work" in client.get("/").content.decode()
