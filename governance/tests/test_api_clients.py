"""API clients and their tokens: the administration, ``manage.py api_client`` and GET /api/v1/me/."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from governance.api.auth import hash_key, token_issue
from governance.models import ApiClient, ApiToken, AuditEntry
from governance.roles import Role
from governance.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in their English source (the admin's, the command's and the API's)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield

ME = "/api/v1/me/"
TOKEN = re.compile(r"ggv_[A-Za-z0-9_-]{43}")


def bearer(key: str) -> APIClient:
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


@pytest.fixture
def admin_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.fixture
def centre(persona):
    """The account of a street centre's system (an operator of street A)."""
    return persona(Role.STREET_OPERATOR, username="jiejie_api", full_name="甲街道系统")


@pytest.fixture
def api_client_row(centre):
    return ApiClient.objects.create(name="甲街道指挥系统", account=centre, scopes=["dispatch:read"])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- The administration --------------------------------------------------------------------------


def test_it_creates_a_client_with_scopes_chosen_as_checkboxes_and_audits_it(admin_client, centre):
    page = admin_client.get("/admin/governance/apiclient/add/")
    assert page.status_code == 200
    assert b'type="checkbox" name="scopes" value="webhooks"' in page.content

    response = admin_client.post("/admin/governance/apiclient/add/", {
        "name": "城管系统", "account": centre.pk, "scopes": ["webhooks", "dispatch:read"], "rate_limit": "600/minute",
        "contact": "", "is_active": "on", "tokens-TOTAL_FORMS": "0", "tokens-INITIAL_FORMS": "0"})

    assert response.status_code == 302, response.content.decode()[:3000]
    client = ApiClient.objects.get(name="城管系统")
    assert client.scopes == ["dispatch:read", "webhooks"]  # a JSON list, in the registry's order
    entry = AuditEntry.objects.get(action="governance.apiclient.created")
    assert entry.actor == admin_client.admin and entry.changes["scopes"] == [None, ["dispatch:read", "webhooks"]]


def test_it_refuses_an_unknown_scope_and_a_badly_written_rate(admin_client, centre):
    response = admin_client.post("/admin/governance/apiclient/add/", {
        "name": "坏的", "account": centre.pk, "scopes": ["everything"], "rate_limit": "lots",
        "is_active": "on", "tokens-TOTAL_FORMS": "0", "tokens-INITIAL_FORMS": "0"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"scopes", "rate_limit"}
    assert not ApiClient.objects.exists()


def test_issuing_a_token_shows_it_once_and_it_works(admin_client, api_client_row):
    response = admin_client.post("/admin/governance/apiclient/", {
        "action": "issue_token", "_selected_action": [api_client_row.pk]}, follow=True)

    shown = messages_of(response)
    keys = [m for text in shown for m in TOKEN.findall(text)]
    assert len(keys) == 1
    assert any("will not be shown again" in text for text in shown)
    token = ApiToken.objects.get()
    assert token.key_hash == hash_key(keys[0]) and keys[0] not in token.key_hash  # only the hash is kept
    assert token.created_by == admin_client.admin and token.prefix == keys[0][:12]
    assert AuditEntry.objects.filter(action="governance.api_token.issued", actor=admin_client.admin).exists()
    assert bearer(keys[0]).get(ME).status_code == 200

    again = admin_client.get("/admin/governance/apiclient/")
    assert keys[0] not in again.content.decode()  # never shown again
    detail = admin_client.get(f"/admin/governance/apiclient/{api_client_row.pk}/change/").content.decode()
    assert token.prefix in detail and keys[0] not in detail


def test_the_client_list_counts_tokens_in_use_and_shows_the_last_use(admin_client, api_client_row):
    used, key = token_issue(client=api_client_row, label="a")
    token_issue(client=api_client_row, label="b", expires_at=timezone.now() - datetime.timedelta(days=1))
    revoked, _ = token_issue(client=api_client_row, label="c")
    revoked.revoked_at = timezone.now()
    revoked.save()
    bearer(key).get(ME)

    response = admin_client.get("/admin/governance/apiclient/")
    row = response.context["cl"].result_list.get()
    assert row.in_use == 1
    assert row.last_use == ApiToken.objects.get(pk=used.pk).last_used_at is not None


def test_revoking_a_token_in_the_admin_refuses_its_next_request(admin_client, api_client_row):
    token, key = token_issue(client=api_client_row)
    api = bearer(key)
    assert api.get(ME).status_code == 200

    response = admin_client.post("/admin/governance/apitoken/", {
        "action": "revoke", "_selected_action": [token.pk]}, follow=True)

    assert any("1 token revoked" in text for text in messages_of(response))
    answer = api.get(ME)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "authentication_failed"
    assert AuditEntry.objects.filter(action="governance.api_token.revoked", actor=admin_client.admin).exists()


def test_tokens_are_read_only_in_the_admin(admin_client, api_client_row):
    token, _ = token_issue(client=api_client_row)
    page = admin_client.get(f"/admin/governance/apitoken/{token.pk}/change/").content.decode()
    assert 'name="label"' not in page and token.prefix in page
    assert admin_client.get("/admin/governance/apitoken/add/").status_code == 403
    assert admin_client.post(f"/admin/governance/apitoken/{token.pk}/delete/").status_code == 403


# --- manage.py api_client ------------------------------------------------------------------------


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("api_client", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_creates_a_client_issues_a_token_lists_and_revokes_it(centre):
    run("create", "--name", "城管系统", "--account", "jiejie_api", "--scopes", "webhooks, dispatch:read",
        "--rate", "600/minute")
    client = ApiClient.objects.get(name="城管系统")
    assert (client.account, client.scopes, client.rate_limit) == (centre, ["dispatch:read", "webhooks"], "600/minute")
    assert AuditEntry.objects.filter(action="governance.apiclient.created").exists()

    out, err = run("token", "--name", "城管系统", "--label", "生产", "--expires-days", "30")
    key = out.strip()
    assert TOKEN.fullmatch(key) and "will not be shown again" in err
    token = ApiToken.objects.get()
    assert token.label == "生产" and token.expires_at.date() == (timezone.now() + datetime.timedelta(days=30)).date()
    me = bearer(key).get(ME).json()
    assert me["client"]["name"] == "城管系统" and me["token"]["prefix"] == token.prefix

    listed, _ = run("list")
    assert "城管系统" in listed and token.prefix in listed and "in use" in listed and key not in listed

    run("revoke", "--prefix", token.prefix)
    assert bearer(key).get(ME).status_code == 401
    assert "revoked" in run("list")[0]


@pytest.mark.parametrize("args, message", [
    (["create", "--name", "x", "--account", "nobody", "--scopes", "dispatch:read"], "No account"),
    (["create", "--name", "x", "--account", "jiejie_api", "--scopes", "dispatch:read,root"], "Unknown scopes: root"),
    (["create", "--name", "x", "--account", "jiejie_api", "--scopes", "webhooks", "--rate", "fast"], "rate_limit"),
    (["create", "--name", "甲街道指挥系统", "--account", "jiejie_api", "--scopes", "webhooks"], "name"),
    (["token", "--name", "nobody"], "No client named"),
    (["token", "--name", "甲街道指挥系统", "--expires-days", "0"], "1 or more"),
    (["revoke", "--prefix", "ggv_nothing"], "No token"),
])
def test_the_command_refuses_unknown_names_and_bad_values_clearly(api_client_row, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert ApiClient.objects.count() == 1 and not ApiToken.objects.exists()


# --- GET /api/v1/me/ -----------------------------------------------------------------------------


def test_me_tells_a_token_who_it_acts_as(api_client_row, centre):
    expires = timezone.now() + datetime.timedelta(days=3)
    token, key = token_issue(client=api_client_row, label="生产", expires_at=expires)
    data = bearer(key).get(reverse("api:me")).json()
    assert data["account"] == {"username": "jiejie_api", "name": "甲街道系统"}
    assert data["roles"] == [Role.STREET_OPERATOR]
    assert data["client"] == {"name": "甲街道指挥系统", "scopes": ["dispatch:read"], "rate": "1200/minute"}
    assert data["token"]["prefix"] == token.prefix and data["token"]["label"] == "生产"
    assert data["token"]["expires_at"].startswith(timezone.localtime(expires).strftime("%Y-%m-%dT%H:%M"))


def test_me_answers_a_browser_session_without_client_or_token(centre):
    api = APIClient()
    api.force_login(centre)
    data = api.get(ME).json()
    assert data["account"]["username"] == "jiejie_api" and data["client"] is None and data["token"] is None


def test_me_refuses_anonymous_requests_and_unknown_tokens(db):
    assert APIClient().get(ME).status_code in (401, 403)
    response = bearer("ggv_" + "x" * 43).get(ME)
    assert response.status_code == 401 and response.json()["error"]["code"] == "authentication_failed"


def test_a_switched_off_client_is_refused(api_client_row):
    _token, key = token_issue(client=api_client_row)
    api_client_row.is_active = False
    api_client_row.save()
    assert bearer(key).get(ME).status_code == 401
