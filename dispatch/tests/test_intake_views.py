"""The grid worker's report page, the hotline pages, the category search and staff photo serving."""

import json
import uuid

import pytest
from django.urls import reverse

from dispatch import services
from dispatch.models import Attachment, Channel, Event, HotlineCall, Stage, State
from dispatch.tests.images import photo, text_file
from governance.models import AuditEntry
from governance.roles import Role

pytestmark = pytest.mark.django_db

REPORT = reverse("dispatch:report")
HOTLINE = reverse("dispatch:hotline")



@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are asserted in their English source
    return client


def counts():
    return Event.objects.count(), Attachment.objects.count()


def report_data(loop, **overrides):
    data = {
        "idem": str(uuid.uuid4()), "title": "垃圾堆在门口", "description": "三袋生活垃圾", "category": loop.rubbish.pk,
        "lon": loop.inside[0], "lat": loop.inside[1], "address": "甲一路 3 号", "unit": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- The report page -------------------------------------------------------------------------------


def test_it_shows_the_report_form_to_a_grid_worker(client, loop):
    client.force_login(loop.worker)
    response = client.get(REPORT)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'capture="environment"' in html and 'accept="image/*"' in html and "multiple" in html
    assert '<optgroup label="01 市容环境">' in html  # the picker works as a grouped <select> without JS
    assert f'value="{loop.litter.pk}" data-self="1"' in html and f'value="{loop.rubbish.pk}" data-self="0"' in html
    uuid.UUID(response.context["form"]["idem"].value())
    data = json.loads(html.split('id="intake-data" type="application/json">')[1].split("</script>")[0])
    assert [g["name"] for g in data["map"]["grids"]] == ["甲一网格"]  # the map starts on the worker's grid


@pytest.mark.parametrize("role", [Role.GRID_LEADER, Role.COMMUNITY_STAFF, Role.STREET_OPERATOR])
def test_it_shows_the_report_form_to_other_reporting_roles(client, persona, loop, role):
    client.force_login(persona(role))
    assert client.get(REPORT).status_code == 200


def test_it_refuses_the_report_form_to_others(client, loop):
    client.force_login(loop.handler)
    assert client.get(REPORT).status_code == 403
    client.logout()
    response = client.get(REPORT)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_files_a_report_with_a_photo(client, loop):
    client.force_login(loop.worker)
    data = report_data(loop, photos=[photo("a.jpg")])
    response = client.post(REPORT, data)
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dispatch:report_done", args=[event.pk])
    assert event.channel == Channel.GRID and event.reporter == loop.worker and event.grid == loop.grid
    assert event.minor == loop.rubbish and event.state == State.REPORTED and not event.outside_grids
    assert event.idempotency_key == f"form:{data['idem']}"
    assert list(event.attachments.values_list("stage", flat=True)) == [Stage.REPORT]

    page = client.get(response["Location"])
    html = page.content.decode()
    assert event.number in html and "甲一网格" in html and reverse("dispatch:report") in html
    assert reverse("dispatch:case", args=[event.pk]) in html
    assert "in no grid" not in html


def test_it_files_one_case_for_a_double_submit(client, loop):
    client.force_login(loop.worker)
    data = report_data(loop)
    first = client.post(REPORT, {**data, "photos": [photo()]})
    second = client.post(REPORT, {**data, "photos": [photo()]})
    assert Event.objects.count() == 1 and Attachment.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_it_accepts_and_flags_a_point_outside_every_grid(client, loop):
    client.force_login(loop.worker)
    response = client.post(REPORT, report_data(loop, lon=loop.outside[0], lat=loop.outside[1]), follow=True)
    event = Event.objects.get()
    assert event.outside_grids and event.grid is None
    html = response.content.decode()
    assert 'id="outside-warning"' in html and "in no grid" in html


def test_it_takes_the_community_when_there_is_no_point(client, loop):
    client.force_login(loop.worker)
    response = client.post(REPORT, report_data(loop, lon="", lat="", unit=loop.tree.community_a.pk))
    assert response.status_code == 302
    event = Event.objects.get()
    assert event.unit == loop.tree.community_a and event.lon is None


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"category": "99999"}, "category", "not one of them"),
        ({"category": ""}, "category", "required"),
        ({"lon": 200}, "lon", "Longitude 200.0 is out of range"),
        ({"lat": 116.4, "lon": 39.9}, "lon", "Latitude 116.4 is out of range"),
        ({"lat": ""}, "lon", "both longitude and latitude"),
        ({"lon": "", "lat": ""}, "lon", "Give a location on the map or choose the community"),
        ({"title": ""}, "title", "required"),
        ({"idem": "not-a-uuid"}, "idem", "expired"),
    ],
)
def test_it_refuses_bad_input_and_writes_nothing(client, loop, overrides, field, message):
    client.force_login(loop.worker)
    response = client.post(REPORT, report_data(loop, photos=[photo()], **overrides))
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert message in response.content.decode()
    assert counts() == (0, 0)


def test_it_refuses_a_file_that_is_not_a_photo(client, loop):
    client.force_login(loop.worker)
    response = client.post(REPORT, report_data(loop, photos=[photo("ok.jpg"), text_file("fake.jpg")]))
    assert response.status_code == 400
    assert "“fake.jpg” is not a photo we can read" in response.content.decode()
    assert counts() == (0, 0)


def test_it_closes_a_matter_handled_on_the_spot(client, loop):
    client.force_login(loop.worker)
    data = report_data(loop, category=loop.litter.pk, self_handled="on", note="已捡拾干净",
                       photos=[photo("before.jpg")], after_photos=[photo("after.jpg", colour="green")])
    response = client.post(REPORT, data, follow=True)
    event = Event.objects.get()
    assert event.state == State.CLOSED and event.self_handled
    assert sorted(event.attachments.values_list("stage", flat=True)) == sorted([Stage.BEFORE, Stage.AFTER])
    assert "Recorded as handled on the spot" in response.content.decode()
    again = client.post(REPORT, {**data, "photos": [photo()], "after_photos": [photo()]})
    assert again.status_code == 302 and counts() == (1, 2)


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"category": "rubbish"}, "category", "may not be handled on the spot"),
        ({"after_photos": None}, "after_photos", "a photo before and a photo after"),
        ({"note": " "}, "note", "Say what you did"),
    ],
)
def test_it_refuses_handling_on_the_spot_without_what_it_needs(client, loop, overrides, field, message):
    client.force_login(loop.worker)
    if overrides.get("category") == "rubbish":
        overrides["category"] = loop.rubbish.pk
    data = report_data(loop, category=loop.litter.pk, self_handled="on", note="已处理",
                       photos=[photo()], after_photos=[photo()])
    data.update({k: v for k, v in overrides.items() if v is not None})
    for key in [k for k, v in overrides.items() if v is None]:
        data.pop(key)
    response = client.post(REPORT, data)
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert counts() == (0, 0)


def test_the_confirmation_is_not_shown_to_an_outsider(client, loop):
    event, _ = services.event_report(channel=Channel.GRID, title="x", minor=loop.rubbish, lon=loop.inside[0],
                                      lat=loop.inside[1], reporter=loop.worker)
    client.force_login(loop.outsider)
    assert client.get(reverse("dispatch:report_done", args=[event.pk])).status_code == 404


# --- Category search and locating --------------------------------------------------------------------


def test_it_searches_the_catalogue(client, loop):
    client.force_login(loop.worker)
    response = client.get(reverse("dispatch:catalogue_search"), {"q": "垃圾"})
    results = {r["name"]: r for r in response.json()["results"]}
    assert set(results) == {"暴露垃圾", "散落垃圾"}
    assert results["散落垃圾"] == {
        "id": loop.litter.pk, "code": "0105", "name": "散落垃圾", "major": "市容环境", "self_handling": True,
        "urgency": "normal", "urgency_label": "Normal", "limit": "2 working hours",
    }
    assert [r["name"] for r in client.get(reverse("dispatch:catalogue_search"), {"q": "0109"}).json()["results"]] == [
        "井盖缺失"]


def test_it_tells_which_grid_a_point_is_in(client, loop):
    client.force_login(loop.worker)
    url = reverse("dispatch:locate")
    assert client.get(url, {"lon": loop.inside[0], "lat": loop.inside[1]}).json() == {
        "grid": "甲一网格", "community": loop.tree.community_a.name}
    assert client.get(url, {"lon": loop.outside[0], "lat": loop.outside[1]}).json() == {"grid": None}
    bad = client.get(url, {"lon": "200", "lat": "1"})
    assert bad.status_code == 400 and "out of range" in bad.json()["error"]
    assert client.get(url, {"lon": "x"}).status_code == 400


# --- The hotline -------------------------------------------------------------------------------------


def call_data(loop, **overrides):
    data = {"idem": str(uuid.uuid4()), "caller_name": "王女士", "caller_phone": "13912345678",
            "request_type": "complaint", "summary": "小区门口垃圾三天没人清\n气味很大", "outcome": "case",
            "category": loop.rubbish.pk, "unit": loop.tree.community_a.pk, "address": "甲一路 3 号",
            "answer": "", "not_taken_reason": "", "lon": "", "lat": ""}
    data.update(overrides)
    return data


def test_it_shows_the_hotline_form_to_command_roles_only(client, loop):
    client.force_login(loop.operator)
    response = client.get(HOTLINE)
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Enquiry (咨询)", "Request for help (求助)", "Complaint (投诉)", "Report (举报)", "Suggestion (建议)"):
        assert label in html
    assert "call 110 (police), 119 (fire), 120 (ambulance) or 122" in html  # the text read to the caller
    client.force_login(loop.worker)
    assert client.get(HOTLINE).status_code == 403
    assert client.get(reverse("dispatch:hotline_list")).status_code == 403


def test_it_takes_a_call_as_a_case(client, loop):
    client.force_login(loop.operator)
    response = client.post(HOTLINE, call_data(loop))
    call = HotlineCall.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dispatch:hotline_call", args=[call.pk])
    event = call.event
    assert event.channel == Channel.HOTLINE and event.request_type == "complaint" and event.minor == loop.rubbish
    assert event.contact_name == "王女士" and event.contact_phone == "13912345678"
    assert event.title == "小区门口垃圾三天没人清" and event.unit == loop.tree.community_a
    assert call.operator == loop.operator and call.outcome == "case"
    assert AuditEntry.objects.filter(action="dispatch.hotline.recorded", object_id=str(call.pk)).exists()
    page = client.get(response["Location"]).content.decode()
    code = event.receipt_code
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in page and event.number in page


def test_a_double_submitted_call_files_one_case(client, loop):
    client.force_login(loop.operator)
    data = call_data(loop)
    first, second = client.post(HOTLINE, data), client.post(HOTLINE, data)
    assert first["Location"] == second["Location"]
    assert HotlineCall.objects.count() == 1 and Event.objects.count() == 1


def test_it_records_an_answered_enquiry_once(client, loop):
    client.force_login(loop.operator)
    data = call_data(loop, request_type="enquiry", outcome="answered", answer="周一至周五 9:00-17:00 办理",
                     category="", unit="")
    first = client.post(HOTLINE, data)
    second = client.post(HOTLINE, data)
    call = HotlineCall.objects.get()
    assert first["Location"] == second["Location"]
    assert call.outcome == "answered" and call.event is None and call.answer.startswith("周一")
    assert Event.objects.count() == 0


def test_it_records_a_call_not_taken_with_the_reason_to_read(client, loop):
    client.force_login(loop.operator)
    response = client.post(HOTLINE, call_data(loop, outcome="not_taken", not_taken_reason="emergency"), follow=True)
    call = HotlineCall.objects.get()
    assert call.not_taken_reason == "emergency" and call.event is None and Event.objects.count() == 0
    assert "Please call 110 (police)" in response.content.decode()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"outcome": "answered"}, "answer", "Write down the answer"),
        ({"outcome": "not_taken"}, "not_taken_reason", "Choose why the call is not taken"),
        ({"not_taken_reason": "because", "outcome": "not_taken"}, "not_taken_reason", "not one of the available"),
        ({"request_type": "chat"}, "request_type", "not one of the available"),
        ({"summary": ""}, "summary", "required"),
        ({"unit": ""}, "lon", "Give a location on the map or choose the community"),
        ({"category": "99999"}, "category", "not one of them"),
    ],
)
def test_it_refuses_an_incomplete_call_and_writes_nothing(client, loop, overrides, field, message):
    client.force_login(loop.operator)
    response = client.post(HOTLINE, call_data(loop, **overrides))
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert HotlineCall.objects.count() == 0 and Event.objects.count() == 0


def test_it_lists_the_calls_of_the_jurisdiction(client, loop, django_assert_max_num_queries):
    for n in range(3):
        services.hotline_call_record(operator=loop.operator, caller_name=f"来电{n}", caller_phone="", request_type="help",
                                     summary=f"求助 {n}", outcome="case", unit=loop.tree.community_a)
    services.hotline_call_record(operator=loop.operator, caller_name="咨询人", caller_phone="", request_type="enquiry",
                                 summary="问办事时间", outcome="answered", answer="9 点")
    client.force_login(loop.operator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dispatch:hotline_list"))
    html = response.content.decode()
    assert all(f"来电{n}" in html for n in range(3)) and "咨询人" in html

    client.force_login(loop.outsider)  # street B sees none of street A's calls
    html = client.get(reverse("dispatch:hotline_list")).content.decode()
    assert "来电0" not in html and "咨询人" not in html
    call = HotlineCall.objects.first()
    assert client.get(reverse("dispatch:hotline_call", args=[call.pk])).status_code == 404

    client.force_login(loop.dispatcher)  # the district sees them all
    html = client.get(reverse("dispatch:hotline_list")).content.decode()
    assert "来电0" in html and "咨询人" in html


# --- Photos for staff --------------------------------------------------------------------------------


@pytest.fixture
def reported(loop):
    event, _ = services.event_report(channel=Channel.GRID, title="x", minor=loop.rubbish, lon=loop.inside[0],
                                      lat=loop.inside[1], reporter=loop.worker, photos=[photo(gps=True)])
    return event.attachments.get()


@pytest.mark.parametrize("kind, content_type", [("thumb", "image/jpeg"), ("display", "image/jpeg"),
                                                ("original", "image/jpeg")])
def test_it_serves_photos_to_staff_who_see_the_case(client, loop, reported, kind, content_type):
    for user in (loop.worker, loop.operator):
        client.force_login(user)
        response = client.get(reverse("dispatch:photo", args=[reported.pk, kind]))
        assert response.status_code == 200
        assert response["Content-Type"] == content_type and response["Cache-Control"].startswith("private")
        body = b"".join(response.streaming_content)
        stored = {"thumb": reported.thumbnail, "display": reported.display, "original": reported.image}[kind]
        with stored.open("rb") as f:
            assert body == f.read()


def test_it_hides_photos_of_cases_out_of_sight(client, loop, reported):
    client.force_login(loop.outsider)
    for kind in ("thumb", "display", "original"):
        assert client.get(reverse("dispatch:photo", args=[reported.pk, kind])).status_code == 404
    client.force_login(loop.handler)  # the bureau has not been given this case
    assert client.get(reverse("dispatch:photo", args=[reported.pk, "display"])).status_code == 404
    client.force_login(loop.operator)
    assert client.get(reverse("dispatch:photo", args=[reported.pk, "raw"])).status_code == 404
    assert client.get(reverse("dispatch:photo", args=[reported.pk + 999, "thumb"])).status_code == 404
    client.logout()
    response = client.get(reverse("dispatch:photo", args=[reported.pk, "thumb"]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
