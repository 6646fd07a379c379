"""The dispatch REST API: filing reports (idempotent), reading cases in scope, acting through the workflow."""

from __future__ import annotations

import inspect
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from dispatch import services
from dispatch.api.serializers import CategoryInput
from dispatch.api.views import API_ACTIONS
from dispatch.models import Attachment, Channel, Event, MinorClass, State
from dispatch.workflow import ACTIONS
from governance.models import Parameter
from governance.roles import Role
from grids.coords import wgs84_to_gcj02

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/dispatch/events/"



def client_for(user=None) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")  # messages are asserted in their English source
    if user is not None:
        client.force_login(user)
    return client


def photo(name="p.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def noise_png(side=200) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return SimpleUploadedFile("big.png", out.getvalue(), content_type="image/png")


def detail_url(pk) -> str:
    return reverse("dispatch-api:event_detail", args=[pk])


def action_url(pk, action) -> str:
    return reverse("dispatch-api:event_action", args=[pk, action])


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def report(loop, *, minor=None, point=None, reporter=None) -> Event:
    lon, lat = point or loop.inside
    event, _ = services.event_report(channel=Channel.GRID, title="垃圾堆", minor=minor or loop.rubbish, lon=lon,
                                     lat=lat, reporter=reporter or loop.worker)
    return event


def report_body(loop, **fields) -> dict:
    return {"title": "路边垃圾", "description": "一堆垃圾", "category": loop.rubbish.pk, "lon": loop.inside[0],
            "lat": loop.inside[1], **fields}


# --- Filing reports ------------------------------------------------------------------------------


def test_it_files_a_report_with_a_photo_once_per_idempotency_key(loop):
    worker = client_for(loop.worker)
    body = report_body(loop, channel="grid", address="甲一路 1 号", contact_name="张三", photos=[photo()])
    response = worker.post(EVENTS, body, format="multipart", headers={"Idempotency-Key": "report-1"})

    assert response.status_code == 201, response.content
    data = response.json()
    assert response["Location"] == "http://testserver" + detail_url(data["id"])
    assert "Idempotent-Replayed" not in response
    event = Event.objects.get()
    assert (event.channel, event.reporter, event.grid, event.minor) == ("grid", loop.worker, loop.grid, loop.rubbish)
    assert event.idempotency_key == f"api:{loop.worker.pk}:report-1"
    assert data["state"] == "reported" and data["category"]["full_code"] == "0102"
    assert data["grid"] == {"id": loop.grid.pk, "name": "甲一网格"} and data["address"] == "甲一路 1 号"
    assert data["receipt_code"] == event.receipt_code  # the reporter sees the code a citizen tracks with
    assert [p["stage"] for p in data["photos"]] == ["report"]
    assert data["photos"][0]["url"].endswith(reverse("dispatch:photo", args=[data["photos"][0]["id"], "display"]))
    assert data["clock"]["step"] == "accept" and data["clock"]["due_at"]

    # The client retries (the answer was lost): the same case, nothing new written.
    again = worker.post(EVENTS, report_body(loop, channel="grid", photos=[photo()]), format="multipart",
                        headers={"Idempotency-Key": "report-1"})
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == data["id"] and again["Location"] == response["Location"]
    assert Event.objects.count() == 1 and Attachment.objects.count() == 1

    # Another client's key never collides with this one's.
    other = client_for(loop.operator).post(EVENTS, report_body(loop), format="json",
                                           headers={"Idempotency-Key": "report-1"})
    assert other.status_code == 201 and other.json()["id"] != data["id"]
    assert Event.objects.count() == 2
    assert Event.objects.get(pk=other.json()["id"]).channel == "api"  # the default for machine clients


def test_coordinates_in_gcj02_are_stored_as_wgs84(loop):
    gcj_lon, gcj_lat = wgs84_to_gcj02(*loop.inside)
    response = client_for(loop.operator).post(EVENTS, report_body(loop, lon=gcj_lon, lat=gcj_lat, crs="gcj02"),
                                              format="json")
    assert response.status_code == 201, response.content
    event = Event.objects.get()
    assert event.lon == pytest.approx(loop.inside[0], abs=1e-7) and event.lat == pytest.approx(loop.inside[1], abs=1e-7)
    assert event.grid == loop.grid


def test_a_report_by_category_code_and_by_unit_without_a_point(loop):
    body = {"title": "井盖没了", "category_code": "event:0109", "unit": loop.tree.community_a.pk}
    response = client_for(loop.operator).post(EVENTS, body, format="json")
    assert response.status_code == 201, response.content
    event = Event.objects.get()
    assert (event.minor, event.unit, event.lon, event.urgency) == (loop.manhole, loop.tree.community_a, None, "urgent")


def test_it_refuses_fields_only_the_workflow_sets_naming_them(loop):
    body = report_body(loop, state="closed", department=loop.tree.bureau.pk, owner_unit=loop.tree.district.pk,
                       number="SJ1", receipt_code="ABC")
    response = client_for(loop.operator).post(EVENTS, body, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"state", "department", "owner_unit", "number", "receipt_code"}
    assert "department" in error["message"] and "state" in error["message"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"category": 999999}, "category", "Unknown category"),
        ({"category": None, "category_code": "event:9999"}, "category_code", "Unknown category code"),
        ({"category": None, "category_code": "0102"}, "category_code", "kind:MMmm"),
        ({"lon": 34.27, "lat": 108.93}, "location", "out of range"),
        ({"lat": None}, "location", "both longitude and latitude"),
        ({"lon": 181, "lat": 34, "crs": "bd09"}, "location", "out of range"),
        ({"channel": "citizen"}, "channel", "not a valid choice"),
        ({"channel": "grid"}, "channel", "Only grid workers"),
        ({"unit": None, "lon": None, "lat": None}, "location", "choose the community"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_writes_nothing(loop, change, field, words):
    response = client_for(loop.operator).post(EVENTS, report_body(loop, **change), format="json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert list(error["fields"]) == [field]
    assert words in " ".join(error["fields"][field])
    assert Event.objects.count() == 0


def test_a_retired_category_is_refused(loop):
    MinorClass.objects.filter(pk=loop.rubbish.pk).update(is_active=False)
    response = client_for(loop.operator).post(EVENTS, report_body(loop), format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"category": ["This category is no longer in use."]}


def test_a_unit_outside_the_clients_jurisdiction_is_refused(loop):
    body = {"title": "x", "unit": loop.tree.community_b.pk}
    response = client_for(loop.operator).post(EVENTS, body, format="json")
    assert response.status_code == 400 and list(error_of(response)["fields"]) == ["unit"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("kind", ["not_an_image", "oversized", "too_many"])
def test_bad_photos_are_refused_and_nothing_is_written(loop, kind):
    if kind == "not_an_image":
        photos, words = [SimpleUploadedFile("evil.jpg", b"<?php echo 1; ?>", content_type="image/jpeg")], "not a photo"
    elif kind == "oversized":
        Parameter.objects.create(key="dispatch.photo_max_mb", value=1)
        photos, words = [noise_png(side=700)], "at most 1 MB"
    else:
        photos, words = [photo(f"{i}.jpg") for i in range(10)], "At most 9 photos"
    response = client_for(loop.worker).post(EVENTS, report_body(loop, channel="grid", photos=photos),
                                            format="multipart")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert list(error["fields"]) == ["photos"] and words in error["fields"]["photos"][0]
    assert Event.objects.count() == 0 and Attachment.objects.count() == 0


@pytest.mark.parametrize("key", ["", "   ", "k" * 65])
def test_a_bad_idempotency_key_is_refused(loop, key):
    response = client_for(loop.operator).post(EVENTS, report_body(loop), format="json",
                                              headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["Idempotency-Key"]
    assert Event.objects.count() == 0


def test_a_64_character_key_is_fine(loop):
    response = client_for(loop.operator).post(EVENTS, report_body(loop), format="json",
                                              headers={"Idempotency-Key": "k" * 64})
    assert response.status_code == 201


def test_malformed_json_answers_in_the_error_format(loop):
    response = client_for(loop.operator).post(EVENTS, "{not json", content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "parse_error"


# --- Reading cases -------------------------------------------------------------------------------


def test_anonymous_requests_are_refused_in_the_error_format(loop):
    event = report(loop)
    anonymous = client_for()
    for response in (
        anonymous.get(EVENTS),
        anonymous.post(EVENTS, report_body(loop), format="json"),
        anonymous.get(detail_url(event.pk)),
        anonymous.post(action_url(event.pk, "accept"), {}, format="json"),
        anonymous.get(reverse("dispatch-api:catalogue")),
    ):
        assert response.status_code in (401, 403)
        assert error_of(response)["code"] == "not_authenticated"
    assert Event.objects.count() == 1 and Event.objects.get().state == State.REPORTED


def test_the_outsider_sees_nothing_of_street_a_and_gets_404_everywhere(loop):
    events = [report(loop) for _ in range(2)]
    outsider = client_for(loop.outsider)
    assert outsider.get(EVENTS).json()["results"] == []
    for event in events:
        response = outsider.get(detail_url(event.pk))
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
        for action in [*API_ACTIONS, "no_such_action"]:
            response = outsider.post(action_url(event.pk, action), {"note": "x"}, format="json")
            assert response.status_code == 404, action
    assert outsider.get(detail_url(999999)).status_code == 404
    assert {e.state for e in Event.objects.all()} == {State.REPORTED}
    assert len(client_for(loop.operator).get(EVENTS).json()["results"]) == 2


def test_the_handler_sees_its_departments_cases_once_dispatched(loop):
    event = report(loop)
    handler = client_for(loop.handler)
    assert handler.get(EVENTS).json()["results"] == [] and handler.get(detail_url(event.pk)).status_code == 404
    for step in (services.event_accept, services.event_register, services.event_dispatch):
        event = step(event=event, actor=loop.operator)
    rows = handler.get(EVENTS).json()["results"]
    assert [(r["id"], r["department"]["name"]) for r in rows] == [(event.pk, loop.tree.bureau.name)]
    detail = handler.get(detail_url(event.pk)).json()
    allowed = [a["name"] for a in detail["allowed_actions"]]
    assert allowed[:2] == ["sign", "return"] and "accept" not in allowed and "dispatch" not in allowed
    assert [(a["department"]["id"], a["role"], a["status"]) for a in detail["assignments"]] == [
        (loop.tree.bureau.pk, "lead", "pending")]
    assert detail["receipt_code"] is None  # only the reporter gets the citizen's tracking code


def test_the_list_takes_a_bounded_number_of_queries(loop, django_assert_max_num_queries):
    operator = client_for(loop.operator)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert operator.get(EVENTS).status_code == 200
        return len(queries)

    for _ in range(5):
        report(loop)
    few = count_queries()
    for _ in range(15):
        services.event_accept(event=report(loop), actor=loop.operator)
    Event.objects.filter(pk__in=Event.objects.values("pk")[:5]).update(department=loop.tree.bureau)
    with django_assert_max_num_queries(few):
        body = operator.get(EVENTS).json()
    assert len(body["results"]) == 20
    assert few <= 6  # session, user, scope ×2, rows (and nothing per row; a cursor needs no count)


def test_list_filters_ordering_and_pagination(loop):
    first, second = report(loop), report(loop, minor=loop.manhole)
    in_b = report(loop, point=loop.outside)  # outside every grid: the nearest grid's street runs it
    assert (in_b.unit, in_b.outside_grids) == (loop.tree.street_a, True)
    services.event_accept(event=second, actor=loop.operator)
    dispatcher = client_for(loop.dispatcher)

    def ids(query="", **params):
        response = dispatcher.get(EVENTS + query, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert set(ids()) == {first.pk, second.pk, in_b.pk}
    assert ids(state="accepted") == [second.pk]
    assert set(ids("?state=accepted&state=reported")) == {first.pk, second.pk, in_b.pk}
    assert ids(category=loop.manhole.pk) == [second.pk]
    assert set(ids(unit=loop.tree.community_a.pk)) == {first.pk, second.pk}
    assert set(ids(unit=loop.tree.street_a.pk)) == {first.pk, second.pk, in_b.pk}
    assert ids(unit=loop.tree.street_b.pk) == []
    assert ids(ordering="created_at") == [first.pk, second.pk, in_b.pk]
    assert ids(ordering="-created_at") == [in_b.pk, second.pk, first.pk]
    assert ids(ordering="-updated_at")[0] == second.pk
    assert ids(created_after=second.created_at.isoformat()) == [in_b.pk, second.pk]
    assert ids(created_before=second.created_at.isoformat()) == [first.pk]
    assert ids(updated_after=Event.objects.get(pk=second.pk).updated_at.isoformat()) == [second.pk]
    assert ids(alert=0, ordering="created_at") == [first.pk, second.pk, in_b.pk]
    assert ids(channel="api") == []

    paged = dispatcher.get(EVENTS, {"ordering": "created_at", "page_size": 2}).json()
    assert [r["id"] for r in paged["results"]] == [first.pk, second.pk] and paged["previous"] is None
    rest = dispatcher.get(paged["next"]).json()  # the cursor link keeps the filters and the order
    assert [r["id"] for r in rest["results"]] == [in_b.pk] and rest["next"] is None and rest["previous"]
    forged = dispatcher.get(EVENTS, {"cursor": "not-a-cursor"})
    assert forged.status_code == 400 and list(error_of(forged)["fields"]) == ["cursor"]

    for bad in ({"alert": 7}, {"ordering": "title"}, {"state": "nonsense"}, {"created_after": "yesterday"},
                {"unit": 999999}):
        response = dispatcher.get(EVENTS, bad)
        assert response.status_code == 400, bad
        assert list(error_of(response)["fields"]) == list(bad)


# --- Acting through the workflow -----------------------------------------------------------------


def test_the_whole_loop_through_the_api(loop):
    worker, operator, handler = client_for(loop.worker), client_for(loop.operator), client_for(loop.handler)
    created = worker.post(EVENTS, report_body(loop, channel="grid", photos=[photo()]), format="multipart").json()
    pk = created["id"]

    def act(client, action, format="json", **data):
        version = client.get(detail_url(pk)).json()["version"]
        response = client.post(action_url(pk, action), {"version": version, **data}, format=format)
        assert response.status_code == 200, (action, response.content)
        return response.json()

    assert [a["name"] for a in operator.get(detail_url(pk)).json()["allowed_actions"]] == [
        "accept", "reject", "merge", "escalate", "delegate", "summon", "remind", "supervise"]
    assert act(operator, "accept", note="收到")["state"] == "accepted"
    assert act(operator, "register", category_code="event:0102")["state"] == "registered"
    data = act(operator, "dispatch")
    assert data["state"] == "dispatched" and data["department"]["id"] == loop.tree.bureau.pk
    assert data["clock"]["step"] == "sign"
    assert act(handler, "sign")["state"] == "signed"
    data = act(handler, "handle", format="multipart", note="已清理", photos=[photo("after.jpg")])
    assert data["state"] == "verifying" and [p["stage"] for p in data["photos"]] == ["report", "after"]
    assert [a["name"] for a in worker.get(detail_url(pk)).json()["allowed_actions"]] == ["verify"]
    assert act(worker, "verify", passed=True, note="现场已干净")["state"] == "closed"
    data = act(operator, "callback", contacted=True, solved=True, satisfaction="satisfied")
    assert data["state"] == "evaluated" and data["satisfaction"] == "satisfied"

    timeline = data["timeline"]
    assert [row["action"] for row in timeline] == [
        "report", "accept", "register", "dispatch", "sign", "handle", "send_to_verify", "verify_pass", "evaluate"]
    accept = timeline[1]
    assert (accept["from_state"], accept["to_state"], accept["note"]) == ("reported", "accepted", "收到")
    assert accept["actor"] == str(loop.operator) and accept["action_label"] == "Accept" and accept["at"]
    assert timeline[6]["actor"] == "Platform"


def test_a_stale_version_is_a_conflict_and_changes_nothing(loop):
    event = report(loop)
    operator = client_for(loop.operator)
    seen = operator.get(detail_url(event.pk)).json()["version"]
    services.event_accept(event=event, actor=loop.dispatcher)  # someone else acts first

    response = operator.post(action_url(event.pk, "reject"), {"note": "重复", "version": seen}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "conflict" and "Someone else changed this case" in error["message"]
    assert Event.objects.get().state == State.ACCEPTED

    # Actions whose service takes no version are checked against it too.
    response = operator.post(action_url(event.pk, "remind"), {"version": seen}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "conflict"
    assert not event.supervision.exists()


def test_an_action_the_state_does_not_allow_is_a_conflict_naming_the_allowed_ones(loop):
    event = report(loop)
    response = client_for(loop.operator).post(action_url(event.pk, "dispatch"), {}, format="json")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_allowed"
    assert "“Dispatch” is not possible while the case is “Reported”" in error["message"]
    assert "Accept" in error["message"]
    assert error["allowed_actions"][:2] == ["accept", "reject"]
    assert Event.objects.get().state == State.REPORTED


def test_an_action_the_person_may_not_take_is_forbidden(loop):
    event = report(loop)
    response = client_for(loop.worker).post(action_url(event.pk, "accept"), {}, format="json")
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    assert Event.objects.get().state == State.REPORTED


def test_action_input_is_checked_field_by_field(loop):
    event = report(loop)
    operator = client_for(loop.operator)
    response = operator.post(action_url(event.pk, "reject"), {"note": "  "}, format="json")
    assert response.status_code == 400 and list(error_of(response)["fields"]) == ["note"]
    response = operator.post(action_url(event.pk, "accept"), {"state": "closed", "department": 1}, format="json")
    assert response.status_code == 400 and set(error_of(response)["fields"]) == {"state", "department"}
    services.event_accept(event=event, actor=loop.operator)
    response = operator.post(action_url(event.pk, "register"), {"category": 999999}, format="json")
    assert response.status_code == 400 and list(error_of(response)["fields"]) == ["category"]
    response = operator.post(action_url(event.pk, "merge"), {"into": event.pk}, format="json")
    assert response.status_code == 400 and list(error_of(response)["fields"]) == ["into"]
    in_street_b, _ = services.event_report(channel=Channel.API, title="别处的事", unit=loop.tree.community_b,
                                           reporter=loop.outsider)
    response = operator.post(action_url(event.pk, "merge"), {"into": in_street_b.pk}, format="json")
    assert response.status_code == 400 and list(error_of(response)["fields"]) == ["into"]  # not one it may see
    assert Event.objects.get(pk=event.pk).state == State.ACCEPTED


def test_dispatch_with_an_operator_chosen_department_and_co_handlers(loop):
    event = report(loop)
    for step in (services.event_accept, services.event_register):
        event = step(event=event, actor=loop.operator)
    operator = client_for(loop.operator)
    response = operator.post(action_url(event.pk, "dispatch"), {"department": 999999}, format="json")
    assert response.status_code == 400 and list(error_of(response)["fields"]) == ["department"]
    response = operator.post(action_url(event.pk, "dispatch"),
                             {"department": loop.tree.office_b.pk, "co_departments": [loop.tree.bureau.pk]},
                             format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["department"]["id"] == loop.tree.office_b.pk
    assert [(a["department"]["id"], a["role"]) for a in data["assignments"]] == [
        (loop.tree.office_b.pk, "lead"), (loop.tree.bureau.pk, "co")]


def test_summons_extensions_supervision_and_rework_through_the_api(loop, persona):
    event = report(loop)
    for step in (services.event_accept, services.event_register, services.event_dispatch):
        event = step(event=event, actor=loop.operator)
    operator, handler, worker = client_for(loop.operator), client_for(loop.handler), client_for(loop.worker)
    office_b = client_for(persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b))
    leader, dispatcher = client_for(persona(Role.LEADER)), client_for(loop.dispatcher)

    def act(client, action, expect=200, **data):
        response = client.post(action_url(event.pk, action), data, format="json")
        assert response.status_code == expect, (action, response.content)
        return response.json()

    data = act(operator, "summon", departments=[loop.tree.office_b.pk], note="吹哨")
    assert ("summoned", "pending") in {(a["role"], a["status"]) for a in data["assignments"]}
    assert "co_sign" in [a["name"] for a in office_b.get(detail_url(event.pk)).json()["allowed_actions"]]
    data = act(office_b, "co_sign", department=loop.tree.office_b.pk, version=data["version"])
    assert ("summoned", "signed") in {(a["role"], a["status"]) for a in data["assignments"]}

    act(handler, "sign")
    assert act(handler, "request_extension", amount=2, unit="working_days", note="等材料")["state"] == \
        "extension_requested"
    data = act(operator, "approve_extension")
    assert data["state"] == "in_progress" and "extended by 2 working days" in data["clock"]["rule"]

    act(dispatcher, "supervise", note="加快办理", amount=1, unit="working_days")
    order = event.supervision.get()
    assert order.due_at is not None
    act(handler, "respond", order=order.pk, note="今天办完")
    order.refresh_from_db()
    assert order.response == "今天办完"

    assert act(leader, "list_supervision", listed=True)["listed_supervision"] is True
    assert list(act(leader, "list_supervision", expect=400, listed=True)["error"]["fields"]) == ["listed"]

    act(handler, "handle", note="已清理")
    data = act(worker, "verify", passed=False, note="还有垃圾")
    assert data["state"] == "rework" and data["rework_count"] == 1


@pytest.mark.parametrize("name", sorted(API_ACTIONS))
def test_every_actions_input_fits_its_service(name):
    """What each input serializer hands on is a keyword its service takes (version becomes expected_version)."""
    action = API_ACTIONS[name]
    params = set(inspect.signature(action.service).parameters)
    given = {field.source for field in action.input().fields.values()} - {"version", "category", "category_code"}
    if issubclass(action.input, CategoryInput):
        given.add("minor")
    assert given <= params and {"event", "actor"} <= params
    assert set(action.workflow) <= set(ACTIONS)


# --- The catalogue -------------------------------------------------------------------------------


def test_the_catalogue_lists_active_classes_with_their_limits(loop):
    MinorClass.objects.create(major=loop.rubbish.major, code="99", name="停用类", is_active=False)
    response = client_for(loop.worker).get(reverse("dispatch-api:catalogue"))
    assert response.status_code == 200
    [major] = [m for m in response.json() if m["id"] == loop.rubbish.major_id]
    assert (major["kind"], major["code"], major["name"]) == ("event", "01", loop.rubbish.major.name)
    minors = {m["full_code"]: m for m in major["minors"]}
    assert {"0102", "0105", "0109"} <= set(minors) and "0199" not in minors
    assert minors["0102"]["limit"] == {"amount": 4, "unit": "working_hours", "label": "4 working hours"}
    assert minors["0102"]["category_code"] == "event:0102"
    assert minors["0109"]["urgency"] == "urgent" and minors["0105"]["self_handling"] is True


def test_the_catalogue_search_finds_by_words_and_by_code(loop):
    search = reverse("dispatch-api:catalogue_search")
    worker = client_for(loop.worker)
    found = {m["id"] for m in worker.get(search, {"q": "垃圾"}).json()}
    assert {loop.rubbish.pk, loop.litter.pk} <= found and loop.manhole.pk not in found
    rows = worker.get(search, {"q": "0109"}).json()
    [manhole] = [m for m in rows if m["id"] == loop.manhole.pk]
    assert manhole["category_code"] == "event:0109" and manhole["major"]["code"] == "01"
