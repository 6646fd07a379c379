"""POST and GET service requests: onto the event loop, refused cleanly, scoped, windowed, rate-limited."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dispatch import services as dispatch_services
from dispatch.models import Channel, Event, Reporter, State, Urgency
from dispatch.tests import flow
from dispatch.tests.images import photo
from governance.api.auth import token_revoke
from governance.api.throttling import ApiRateThrottle
from governance.models import ApiToken, Parameter, UnitLevel
from governance.tests.factories import make_unit
from open311 import mapping
from open311.tests.conftest import visitor

pytestmark = pytest.mark.django_db

BASE = "/open311/v2/"
PHONE = "13812345678"


def form(loop, key, **fields) -> dict:
    data = {"api_key": key, "service_code": "event:0102", "lat": loop.inside[1], "long": loop.inside[0],
            "attribute[danger]": "no", "description": "路口有一堆垃圾\n已经两天了"}
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def post(client, loop, key, fmt="json", headers=None, **fields):
    return client.post(f"{BASE}requests.{fmt}", form(loop, key, **fields), headers=headers or {})


def errors(response) -> list[str]:
    return [e["description"] for e in response.json()]


def get(client, url, **params):
    return client.get(f"{BASE}{url}", params)


# --- POST requests -------------------------------------------------------------------------------


def test_it_files_a_case_through_the_event_loop(anon, loop, app_key):
    response = post(anon, loop, app_key, first_name="明", last_name="李", phone=PHONE, address_string="甲一路 5 号",
                    email="li@example.org", device_id="dev-1")
    assert response.status_code == 200, response.content.decode()
    event = Event.objects.get()
    assert response.json()[0]["service_request_id"] == event.number
    assert event.channel == Channel.API and event.reporter == loop.operator and event.minor == loop.rubbish
    assert event.grid == loop.grid and event.unit == loop.tree.community_a and not event.outside_grids
    assert (event.lon, event.lat) == (pytest.approx(loop.inside[0]), pytest.approx(loop.inside[1]))
    assert event.title == "路口有一堆垃圾" and event.description == "路口有一堆垃圾\n已经两天了"
    assert event.address == "甲一路 5 号"
    assert event.contact_name == "李明" and event.contact_phone == PHONE  # family name first, as Chinese is written
    assert event.attributes == {"danger": "no"} and event.urgency == Urgency.NORMAL
    assert event.state == State.REPORTED
    assert Reporter.objects.get(event=event).channel == Channel.API
    assert event.history.get().actor_label.startswith("311 app")


def test_western_names_keep_their_order(anon, loop, app_key):
    post(anon, loop, app_key, first_name="John", last_name="Smith")
    assert Event.objects.get().contact_name == "John Smith"


def test_it_files_an_answer_of_danger_as_urgent(anon, loop, app_key):
    post(anon, loop, app_key, **{"attribute[danger]": "yes"})
    event = Event.objects.get()
    assert event.urgency == Urgency.URGENT and event.attributes == {"danger": "yes"}


def test_it_stores_the_component_code_of_a_component(anon, loop, app_key, services):
    response = post(anon, loop, app_key, service_code="component:0101",
                    **{"attribute[component_code]": "610102-0101-000123"})
    assert response.status_code == 200, response.content.decode()
    event = Event.objects.get()
    assert event.minor == services.manhole and event.attributes == {"danger": "no", "component_code": "6101020101000123"}
    assert event.urgency == Urgency.URGENT  # the class's own urgency stays


def test_a_case_without_description_is_headed_by_its_service(anon, loop, app_key):
    post(anon, loop, app_key, description="")
    assert Event.objects.get().title == "暴露垃圾"


def test_a_media_url_is_kept_as_a_note_and_never_fetched(anon, loop, app_key):
    with mock.patch("urllib.request.urlopen") as urlopen:
        response = post(anon, loop, app_key, media_url="https://photos.example.org/p/1.jpg")
    assert response.status_code == 200
    event = Event.objects.get()
    assert event.description.endswith("https://photos.example.org/p/1.jpg") and event.title == "路口有一堆垃圾"
    assert not event.attachments.exists() and not urlopen.called


def test_the_same_idempotency_key_files_one_case(anon, loop, app_key, make_key):
    first = post(anon, loop, app_key, headers={"Idempotency-Key": "req-1"})
    again = post(anon, loop, app_key, headers={"Idempotency-Key": "req-1"}, description="再发一次")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Event.objects.count() == 1
    other_app = make_key(loop.operator)
    post(anon, loop, other_app, headers={"Idempotency-Key": "req-1"})  # keys are per client
    post(anon, loop, app_key)  # no key: a new case
    assert Event.objects.count() == 3


def test_a_too_long_idempotency_key_is_refused(anon, loop, app_key):
    response = post(anon, loop, app_key, headers={"Idempotency-Key": "k" * 80})
    assert response.status_code == 400 and "Idempotency-Key" in errors(response)[0]
    assert not Event.objects.exists()


@pytest.mark.parametrize("fields, status, message", [
    ({"service_code": None}, 400, "service_code is required."),
    ({"service_code": "event:0199"}, 404, "service_code event:0199 was not found."),
    ({"service_code": "governance:0101"}, 404, "service_code governance:0101 was not found."),
    ({"service_code": "0102"}, 404, "service_code 0102 was not found."),
    ({"lat": "north"}, 400, "lat is not a number."),
    ({"long": "nan"}, 400, "long is not a number."),
    ({"lat": "95", "long": "108.9"}, 400, "These coordinates are not a place on Earth"),
    ({"lat": None, "long": None, "address_string": "甲一路 5 号"}, 400, "Send lat and long (WGS-84)"),
    ({"long": None}, 400, "Send lat and long (WGS-84)"),
    ({"attribute[danger]": None}, 400, "attribute[danger] is required"),
    ({"attribute[danger]": "maybe"}, 400, "attribute[danger]: choose one of yes, no."),
    ({"attribute[colour]": "red"}, 400, "attribute[colour]: this service has no such attribute."),
    ({"attribute[component_code]": "6101"}, 400, "attribute[component_code]: this service has no such attribute."),
    ({"description": "x" * 4001}, 400, "description may be at most 4000 characters."),
    ({"phone": "1" * 33}, 400, "phone may be at most 32 characters."),
    ({"media_url": "file:///etc/passwd"}, 400, "media_url is not an http(s) URL."),
])
@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_bad_requests_are_refused_in_the_spec_format_and_nothing_is_written(anon, loop, app_key, services, fields,
                                                                           status, message, fmt):
    response = post(anon, loop, app_key, fmt=fmt, **fields)
    assert response.status_code == status
    if fmt == "xml":
        root = ET.fromstring(response.content)
        descriptions = [e.findtext("description") for e in root.iter("error")]
        assert {e.findtext("code") for e in root.iter("error")} == {str(status)}
    else:
        descriptions = errors(response)
    assert any(d.startswith(message) for d in descriptions), descriptions
    assert not Event.objects.exists()


def test_every_problem_is_named_at_once(anon, loop, app_key):
    response = post(anon, loop, app_key, lat="x", **{"attribute[danger]": "maybe", "attribute[colour]": "red"})
    assert response.status_code == 400 and len(errors(response)) == 3


def test_a_bad_component_code_is_refused(anon, loop, app_key, services):
    response = post(anon, loop, app_key, service_code="component:0101", **{"attribute[component_code]": "12AB"})
    assert response.status_code == 400
    assert errors(response) == ["attribute[component_code]: The component code is the 16 digits on the component's label."]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_creating_needs_a_valid_api_key_with_the_open311_scope(anon, loop, make_key, fmt):
    no_scope = make_key(loop.operator, scopes=["dispatch:report"])
    revoked = make_key(loop.operator)
    token_revoke(token=ApiToken.objects.order_by("-pk").first())
    for key, message in [(None, "An api_key is required"), ("ggv_unknown", "Invalid api_key"),
                         (revoked, "Invalid api_key"), (no_scope, "This api_key's client lacks the scope")]:
        response = post(anon, loop, key, fmt=fmt)
        assert response.status_code == 403, key
        text = response.content.decode()
        assert message in text and "403" in text
    assert not Event.objects.exists()


def test_a_switched_off_client_is_refused(anon, loop, make_key):
    key = make_key(loop.operator, is_active=False)
    assert post(anon, loop, key).status_code == 403


def test_a_browser_session_is_no_api_key(loop):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(loop.operator)
    assert post(browser, loop, None).status_code == 403  # and no CSRF token was needed to be told so


# --- jurisdiction_id -----------------------------------------------------------------------------


@pytest.fixture
def elsewhere(loop):
    """Another district of the same city, serving nothing yet."""
    return make_unit("另一区", UnitLevel.COUNTY, loop.tree.district.parent)


def test_a_post_within_its_jurisdiction_is_filed(anon, loop, app_key):
    response = post(anon, loop, app_key, jurisdiction_id=loop.tree.district.code)
    assert response.status_code == 200 and Event.objects.count() == 1


def test_a_post_outside_its_jurisdiction_is_refused(anon, loop, app_key, elsewhere):
    response = post(anon, loop, app_key, jurisdiction_id=elsewhere.code)
    assert response.status_code == 400
    assert errors(response) == [f"This point lies outside jurisdiction {elsewhere.code} (另一区)."]
    assert not Event.objects.exists()


@pytest.mark.parametrize("url", ["services.json", "services/event:0102.json", "requests.json", "discovery.json"])
def test_an_unknown_jurisdiction_is_404(anon, loop, url):
    response = get(anon, url, jurisdiction_id="110101999999")
    if url.startswith("discovery"):
        assert response.status_code == 200  # discovery serves every jurisdiction
        return
    assert response.status_code == 404
    assert errors(response)[0].startswith("jurisdiction_id 110101999999 was not found")


def test_a_street_is_no_jurisdiction_and_an_empty_one_is_none(anon, loop):
    assert get(anon, "services.json", jurisdiction_id=loop.tree.street_a.code).status_code == 404
    assert get(anon, "services.json", jurisdiction_id="").status_code == 200


def test_requests_are_narrowed_to_the_jurisdiction(anon, loop, elsewhere):
    event = flow.report(loop)
    for unit in (loop.tree.district, loop.tree.district.parent):
        rows = get(anon, "requests.json", jurisdiction_id=unit.code).json()
        assert [r["service_request_id"] for r in rows] == [event.number]
    assert get(anon, "requests.json", jurisdiction_id=elsewhere.code).json() == []
    assert get(anon, f"requests/{event.number}.json", jurisdiction_id=elsewhere.code).status_code == 404


# --- GET requests: who sees what -----------------------------------------------------------------


def test_anyone_sees_public_services_cases_without_description_or_contact(anon, loop, services):
    event = flow.report(loop, description="我家楼下 3 号", contact_name="王先生", contact_phone=PHONE)
    dispute = flow.report(loop, minor=services.dispute, title="邻居吵架")
    body = get(anon, "requests.json").content.decode()
    rows = get(anon, "requests.json").json()
    assert [r["service_request_id"] for r in rows] == [event.number]
    assert rows[0]["description"] is None
    assert PHONE not in body and "王先生" not in body and "我家楼下" not in body and dispute.number not in body
    assert get(anon, f"requests/{dispute.number}.json").status_code == 404
    assert get(anon, f"tokens/{dispute.receipt_code}.json").status_code == 404


def test_a_key_of_the_jurisdiction_sees_descriptions_but_never_contact(anon, loop, app_key):
    event = flow.report(loop, description="我家楼下 3 号", contact_name="王先生", contact_phone=PHONE)
    response = get(anon, f"requests/{event.number}.json", api_key=app_key)
    assert response.json()[0]["description"] == "我家楼下 3 号"
    assert PHONE not in response.content.decode() and "王先生" not in response.content.decode()


def test_a_key_outside_the_jurisdiction_sees_nothing_of_it(anon, loop, make_key):
    event = flow.report(loop, description="我家楼下 3 号")
    outsider = make_key(loop.outsider)  # street B's operator
    assert get(anon, "requests.json", api_key=outsider).json() == []
    for url in (f"requests/{event.number}.json", f"tokens/{event.receipt_code}.json"):
        response = get(anon, url, api_key=outsider)
        assert response.status_code == 404
        assert "我家楼下" not in response.content.decode()


def test_a_reporting_client_sees_its_own_requests(anon, loop, persona, make_key):
    from governance.roles import Role

    app = make_key(persona(Role.COMMUNITY_STAFF, unit=loop.tree.community_b))  # no rights in street A
    created = post(anon, loop, app).json()[0]
    flow.report(loop)  # someone else's case in street A
    rows = get(anon, "requests.json", api_key=app).json()
    assert [r["service_request_id"] for r in rows] == [created["service_request_id"]]
    assert rows[0]["description"] == "路口有一堆垃圾\n已经两天了"


def test_a_bad_key_on_a_read_is_403(anon, loop):
    assert get(anon, "requests.json", api_key="ggv_unknown").status_code == 403


def test_an_unknown_id_is_404_in_both_formats(anon, loop):
    assert get(anon, "requests/SJ000.json").status_code == 404
    response = get(anon, "requests/SJ000.xml")
    assert response.status_code == 404 and ET.fromstring(response.content).findtext("error/code") == "404"


# --- GET requests: status, dates, codes, ids -----------------------------------------------------


def test_status_follows_the_workflow_and_a_merged_case_names_its_request(anon, loop):
    merged = flow.bring_to(loop, State.MERGED)
    rows = {r["service_request_id"]: r for r in get(anon, "requests.json").json()}
    master = merged.merged_into
    assert rows[merged.number]["status"] == "closed"
    assert master.number in rows[merged.number]["status_notes"]
    assert rows[master.number]["status"] == "open"
    invalid = flow.bring_to(loop, State.INVALID)
    assert get(anon, f"requests/{invalid.number}.json").json()[0]["status"] == "closed"


def test_a_dispatched_case_names_its_agency_and_then_its_expected_date(anon, loop):
    event = flow.bring_to(loop, State.DISPATCHED)
    [row] = get(anon, f"requests/{event.number}.json").json()
    assert row["agency_responsible"] == loop.tree.bureau.name
    assert row["status_notes"] == "Sent to the department responsible."
    assert row["expected_datetime"] is None  # nothing is promised before the department takes it on
    event = dispatch_services.event_sign(event=event, actor=loop.handler)
    [row] = get(anon, f"requests/{event.number}.json").json()
    assert row["expected_datetime"] == timezone.localtime(event.handling_due_at).isoformat(timespec="seconds")


def test_a_closed_case_is_updated_when_it_was_closed(anon, loop):
    event = flow.bring_to(loop, State.CLOSED)
    [row] = get(anon, f"requests/{event.number}.json").json()
    assert row["status"] == "closed" and row["expected_datetime"] is None and row["service_notice"] is None
    assert row["updated_datetime"] == timezone.localtime(event.closed_at).isoformat(timespec="seconds")


def test_filters_by_status_and_service_code(anon, loop, services):
    closed = flow.bring_to(loop, State.CLOSED)
    manhole = flow.report(loop, minor=services.manhole, title="井盖")
    numbers = lambda **p: [r["service_request_id"] for r in get(anon, "requests.json", **p).json()]  # noqa: E731
    assert numbers(status="closed") == [closed.number]
    assert numbers(status="open") == [manhole.number]
    assert numbers(status="open,closed") == [manhole.number, closed.number]
    assert numbers(service_code="component:0101") == [manhole.number]
    assert numbers(service_code="event:0102,component:0101") == [manhole.number, closed.number]
    assert numbers(service_code="event:0199") == []
    assert get(anon, "requests.json", status="pending").status_code == 400
    assert get(anon, "requests.json", service_code="rubbish").status_code == 400


def test_ids_override_every_other_argument(anon, loop):
    old = flow.report(loop)
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=200))
    new = flow.report(loop)
    rows = get(anon, "requests.json", service_request_id=f"{old.number}, {new.number.lower()}", status="closed").json()
    assert sorted(r["service_request_id"] for r in rows) == sorted([old.number, new.number])


def test_the_default_window_is_the_last_90_days(anon, loop):
    recent, old = flow.report(loop), flow.report(loop)
    long_ago = timezone.now() - datetime.timedelta(days=100)
    Event.objects.filter(pk=old.pk).update(created_at=long_ago)
    assert [r["service_request_id"] for r in get(anon, "requests.json").json()] == [recent.number]
    start = (long_ago - datetime.timedelta(days=1)).isoformat()
    rows = get(anon, "requests.json", start_date=start).json()  # start alone: 90 days from it
    assert [r["service_request_id"] for r in rows] == [old.number]
    end = (long_ago + datetime.timedelta(days=1)).isoformat().replace("+", " ")  # a "+" sent unencoded
    assert [r["service_request_id"] for r in get(anon, "requests.json", end_date=end).json()] == [old.number]


@pytest.mark.parametrize("params, message", [
    ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "may not span more than 90 days"),
    ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date lies before start_date"),
    ({"start_date": "yesterday"}, "start_date is not a date and time in W3C format"),
])
def test_bad_dates_are_refused(anon, loop, params, message):
    response = get(anon, "requests.xml", **params)
    assert response.status_code == 400 and message in response.content.decode()


def test_dates_without_a_time_or_offset_are_local_days(anon, loop):
    event = flow.report(loop)
    today = timezone.localdate().isoformat()
    rows = get(anon, "requests.json", start_date=today).json()
    assert [r["service_request_id"] for r in rows] == [event.number]


def test_at_most_the_spec_limit_is_returned(anon, loop, monkeypatch):
    monkeypatch.setattr("open311.selectors.MAX_REQUESTS", 2)
    made = [flow.report(loop) for _ in range(3)]
    rows = get(anon, "requests.json").json()
    assert [r["service_request_id"] for r in rows] == [made[2].number, made[1].number]


def test_listing_requests_takes_the_same_queries_for_many_cases(anon, loop, django_assert_max_num_queries):
    for _ in range(2):
        flow.bring_to(loop, State.DISPATCHED)
    with django_assert_max_num_queries(8) as few:
        get(anon, "requests.json")
    for _ in range(4):
        flow.bring_to(loop, State.MERGED)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(get(anon, "requests.json").json()) == 10


# --- Tokens --------------------------------------------------------------------------------------


def test_a_token_names_its_request_even_when_merged(anon, loop):
    merged = flow.bring_to(loop, State.MERGED)
    code = merged.receipt_code
    rows = get(anon, f"tokens/{code[:4].lower()}-{code[4:]}.json").json()
    assert rows == [{"service_request_id": merged.number, "token": code}]


def test_guessing_tokens_is_throttled(loop):
    Parameter.objects.create(key="dispatch.receipt_misses_per_hour", value=2)
    guesser = visitor()
    assert [get(guesser, f"tokens/AAAA{n}.json").status_code for n in range(3)] == [404, 404, 429]


# --- Rates ---------------------------------------------------------------------------------------


def test_a_client_over_its_rate_is_told_to_wait(anon, loop, make_key):
    key = make_key(loop.operator, rate_limit="2/minute")
    codes = [get(anon, "services.json", api_key=key).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    response = get(anon, "services.xml", api_key=key)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert ET.fromstring(response.content).findtext("error/code") == "429"


def test_anonymous_callers_are_counted_per_address(loop, settings):
    settings.API_ANON_RATE = "2/minute"
    one, two = visitor(), visitor()
    assert [get(one, "services.json").status_code for _ in range(3)] == [200, 200, 429]
    assert get(two, "services.json").status_code == 200
    # A forged X-Forwarded-For does not make a new caller.
    assert one.get(f"{BASE}services.json", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429


def test_a_cache_outage_does_not_stop_requests(anon, loop, make_key, monkeypatch, caplog):
    down = mock.Mock(**{"get.side_effect": ConnectionError("redis down"), "set.side_effect": ConnectionError()})
    monkeypatch.setattr(ApiRateThrottle, "cache", down)
    key = make_key(loop.operator, rate_limit="1/minute")
    assert [post(anon, loop, key).status_code for _ in range(2)] == [200, 200]
    assert get(anon, "requests.json").status_code == 200
    assert "API rate counter unavailable" in caplog.text


# --- Photos --------------------------------------------------------------------------------------


def test_report_photos_go_only_to_a_key_that_may_see_the_case(anon, loop, app_key):
    event = flow.report(loop, photos=[photo()])
    assert get(anon, f"requests/{event.number}.json").json()[0]["media_url"] is None
    url = get(anon, f"requests/{event.number}.json", api_key=app_key).json()[0]["media_url"]
    assert url and event.receipt_code not in url  # the token never leaks through a photo link
    assert anon.get(url).status_code == 200


def test_a_forged_or_expired_media_link_is_404(anon, loop, app_key):
    event = flow.report(loop, photos=[photo()])
    url = get(anon, f"requests/{event.number}.json", api_key=app_key).json()[0]["media_url"]
    pk = event.attachments.get().pk
    assert anon.get(reverse("open311:media", args=[f"{pk}:forged"])).status_code == 404
    later = timezone.now() + datetime.timedelta(days=8)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        assert anon.get(url).status_code == 404


def test_a_photo_stops_being_served_when_its_case_leaves_the_public_services(anon, loop, services):
    event = flow.bring_to(loop, State.VERIFYING)
    dispatch_services.event_verify(event=event, actor=loop.worker, passed=True, photos=[photo()])
    url = get(anon, f"requests/{event.number}.json").json()[0]["media_url"]
    Event.objects.filter(pk=event.pk).update(minor=services.dispute)
    assert anon.get(url).status_code == 404


# --- The case page -------------------------------------------------------------------------------


def test_the_case_page_shows_the_answers(anon, loop, app_key, services):
    post(anon, loop, app_key, service_code="component:0101",
         **{"attribute[danger]": "yes", "attribute[component_code]": "6101020101000123"})
    event = Event.objects.get()
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(loop.operator)
    body = staff.get(reverse("dispatch:case", args=[event.pk])).content.decode()
    assert "<dt>Immediate danger</dt>" in body and "Yes, there is danger now" in body
    assert "<dt>Component code (部件标识码)</dt>" in body and "6101020101000123" in body


def test_the_request_format_maps_back_to_the_case(anon, loop):
    event = flow.report(loop)
    assert mapping.service_code(event.minor) == "event:0102"
    assert mapping.parse_service_code("component:0101") == ("component", "01", "01")
    assert mapping.parse_service_code("event:12") is None
