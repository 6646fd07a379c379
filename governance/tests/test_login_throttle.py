"""Repeated wrong passwords lock the username from that address; other people are unaffected."""

import pytest
from django.conf import settings

from governance.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_it_locks_out_after_repeated_failures(client):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": user.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
        assert "class=\"error\"" in response.content.decode()
    response = client.post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 429
    # Even the right password is refused while locked, with a message that says why and for how long.
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "15" in response.content.decode()


def test_it_does_not_lock_other_people_out(client):
    victim, other = UserFactory(), UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": victim.username, "password": "wrong"})
    response = client.post("/login/", {"username": other.username, "password": PASSWORD})
    assert response.status_code == 302


def test_it_forgets_failures_after_a_successful_login(client):
    user = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": user.username, "password": "wrong"})
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    response = client.post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
