"""The API core seen through the dispatch endpoints: tokens and scopes, the error format, rates,
ETags and personal data."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch import services
from dispatch.api.views import API_ACTIONS
from dispatch.models import Channel, Event
from governance.api.auth import hash_key, token_revoke
from governance.api.throttling import ApiRateThrottle
from governance.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/dispatch/events/"


def detail_url(pk) -> str:
    return reverse("dispatch-api:event_detail", args=[pk])


def report(loop, **fields) -> Event:
    lon, lat = loop.inside
    fields = {"contact_name": "张三丰", "contact_phone": "13812345678", **fields}
    event, _ = services.event_report(channel=Channel.CITIZEN, title="垃圾堆", minor=loop.rubbish, lon=lon, lat=lat,
                                     **fields)
    return event


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) >= {"code", "message", "fields"}, body
    return body["error"]


# --- Tokens --------------------------------------------------------------------------------------


def test_a_token_acts_as_its_account_and_its_use_is_recorded(loop, token_for):
    event = report(loop)
    api = token_for(loop.operator, scopes=["dispatch:read"])
    response = api.get(detail_url(event.pk), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200 and response.json()["id"] == event.pk
    token = ApiToken.objects.get(pk=api.token.pk)
    assert token.last_used_at is not None and token.last_used_ip == "10.1.2.3"
    # Only a hash is kept: the token itself is nowhere in the database.
    assert token.key_hash == hash_key(api.key) and api.key not in token.key_hash and api.key.startswith(token.prefix)


@pytest.mark.parametrize("header", ["Bearer ggv_not-a-real-token", "Bearer", "Bearer a b", "Token ggv_nope"])
def test_it_refuses_unknown_and_malformed_tokens_with_401(loop, header):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    response = api.get(EVENTS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "authentication_failed"


def test_a_revoked_or_expired_token_or_switched_off_client_stops_working_at_once(loop, token_for):
    revoked, expired, off = (token_for(loop.operator) for _ in range(3))
    assert all(api.get(EVENTS).status_code == 200 for api in (revoked, expired, off))
    token_revoke(token=revoked.token, actor=loop.dispatcher)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    type(off.api_client).objects.filter(pk=off.api_client.pk).update(is_active=False)
    for api, message in ((revoked, "revoked"), (expired, "expired"), (off, "switched off")):
        response = api.get(EVENTS)
        assert response.status_code == 401 and message in error_of(response)["message"]
    assert AuditEntry.objects.filter(action="governance.api_token.revoked").count() == 1


def test_anonymous_requests_get_401_in_the_error_format_not_the_login_page(loop):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").get(EVENTS)
    assert response.status_code in (401, 403) and error_of(response)["code"] == "not_authenticated"


# --- Scopes --------------------------------------------------------------------------------------


def test_scopes_narrow_what_a_token_may_do(loop, token_for):
    event = report(loop)
    reader = token_for(loop.operator, scopes=["dispatch:read"])
    nothing = token_for(loop.operator, scopes=[])
    actor = token_for(loop.operator, scopes=["dispatch:read", "dispatch:act"])

    response = nothing.get(EVENTS)
    assert response.status_code == 403 and "dispatch:read" in error_of(response)["message"]
    assert reader.get(EVENTS).status_code == 200
    body = {"title": "路灯不亮", "category": loop.rubbish.pk, "lon": loop.inside[0], "lat": loop.inside[1]}
    refused = reader.post(EVENTS, body, format="json")
    assert refused.status_code == 403 and "dispatch:report" in error_of(refused)["message"]
    action = reverse("dispatch-api:event_action", args=[event.pk, "accept"])
    assert reader.post(action, {"note": ""}, format="json").status_code == 403
    assert Event.objects.get(pk=event.pk).state == "reported"
    accepted = actor.post(action, {"note": "", "version": event.version}, format="json")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"


def test_a_scope_never_gives_more_than_the_account_may(loop, token_for):
    """Every scope on a handler's token: still only the department's cases, and no centre actions."""
    event = report(loop)
    handler = token_for(loop.handler)
    assert handler.get(EVENTS).json()["results"] == []
    assert handler.get(detail_url(event.pk)).status_code == 404
    assert handler.post(reverse("dispatch-api:event_action", args=[event.pk, "accept"]), {"note": ""},
                        format="json").status_code == 404


def test_an_outsider_token_gets_404_on_every_case_endpoint(loop, token_for):
    event = report(loop)
    outsider = token_for(loop.outsider)
    assert outsider.get(EVENTS).json()["results"] == []
    assert outsider.get(reverse("dispatch-api:event_changes")).json()["results"] == []
    response = outsider.get(detail_url(event.pk))
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    for action in API_ACTIONS:
        url = reverse("dispatch-api:event_action", args=[event.pk, action])
        assert outsider.post(url, {"note": "x", "version": 0}, format="json").status_code == 404, action
    assert Event.objects.get(pk=event.pk).version == event.version


def test_state_and_owner_fields_cannot_be_set_by_filing(loop, token_for):
    api = token_for(loop.operator)
    body = {"title": "路灯不亮", "category": loop.rubbish.pk, "lon": loop.inside[0], "lat": loop.inside[1],
            "state": "closed", "department": loop.tree.bureau.pk, "owner_unit": loop.tree.district.pk}
    response = api.post(EVENTS, body, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {"state", "department", "owner_unit"}
    assert not Event.objects.exists()


# --- Rates ---------------------------------------------------------------------------------------


def test_each_client_has_its_own_rate(loop, token_for):
    slow = token_for(loop.operator, rate="3/minute")
    other = token_for(loop.operator, rate="3/minute")
    assert [slow.get(EVENTS).status_code for _ in range(3)] == [200, 200, 200]
    refused = slow.get(EVENTS)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert error_of(refused)["code"] == "throttled"
    assert other.get(EVENTS).status_code == 200  # another client's budget is its own


def test_requests_go_through_when_the_rate_counter_is_down(loop, token_for, monkeypatch):
    class Down(LocMemCache):
        def get(self, *args, **kwargs):
            raise ConnectionError("cache down")

    monkeypatch.setattr(ApiRateThrottle, "cache", Down("down", {}))
    api = token_for(loop.operator, rate="1/minute")
    assert [api.get(EVENTS).status_code for _ in range(3)] == [200, 200, 200]


# --- ETags ---------------------------------------------------------------------------------------


def test_details_carry_an_etag_and_answer_304_until_the_case_changes(loop, token_for):
    event = report(loop)
    api = token_for(loop.operator)
    first = api.get(detail_url(event.pk))
    tag = first["ETag"]
    assert first.status_code == 200 and tag.startswith('"')
    same = api.get(detail_url(event.pk), HTTP_IF_NONE_MATCH=tag)
    assert same.status_code == 304 and same["ETag"] == tag and not same.content
    assert api.get(detail_url(event.pk), HTTP_IF_NONE_MATCH=f'W/{tag}, "other"').status_code == 304
    services.event_accept(event=event, actor=loop.operator)
    changed = api.get(detail_url(event.pk), HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and changed["ETag"] != tag and changed.json()["state"] == "accepted"


# --- Personal data -------------------------------------------------------------------------------


def test_contact_data_is_masked_unless_the_role_needs_it_and_the_token_may(loop, token_for):
    event = report(loop)
    services.event_dispatch(event=services.event_register(event=services.event_accept(event=event, actor=loop.operator),
                                                          actor=loop.operator),
                            actor=loop.operator)

    def contact(api):
        data = api.get(detail_url(event.pk)).json()
        return data["contact_name"], data["contact_phone"]

    assert contact(token_for(loop.operator)) == ("张三丰", "13812345678")  # the centre calls back
    assert AuditEntry.objects.filter(action="governance.personal_data.viewed", object_id=str(event.pk)).count() == 1
    assert contact(token_for(loop.operator, scopes=["dispatch:read"])) == ("张**", "138****5678")
    assert contact(token_for(loop.handler)) == ("张**", "138****5678")  # the department does not need it
    session = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    session.force_login(loop.operator)
    assert contact(session) == ("张三丰", "13812345678")
    assert AuditEntry.objects.filter(action="governance.personal_data.viewed").count() == 2


def test_an_anonymous_client_cannot_dodge_its_rate_with_a_forged_forwarded_header(settings):
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    settings.API_ANON_RATE = "2/minute"
    throttle = ApiRateThrottle()
    answers = []
    for n in range(3):
        raw = APIRequestFactory().get("/open311/v2/services.json", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
                                      REMOTE_ADDR="192.0.2.7")
        answers.append(throttle.allow_request(Request(raw), None))
    assert answers == [True, True, False]


def test_a_database_outage_answers_503_in_the_error_format(loop, token_for, monkeypatch):
    from django.db import OperationalError

    from dispatch.api import views

    def down(user):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "events_visible_to", down)
    response = token_for(loop.operator).get(EVENTS)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert error_of(response)["code"] == "unavailable"
