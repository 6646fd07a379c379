"""Every method answers with exactly the structure of the specification's own examples, in XML and JSON."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dispatch import services as dispatch_services
from dispatch.models import Event, Stage, State
from dispatch.tests import flow
from dispatch.tests.images import photo
from open311.tests import spec

pytestmark = pytest.mark.django_db

BASE = "/open311/v2/"


def post_request(client, loop, key, fmt="xml", **fields):
    data = {"api_key": key, "service_code": "event:0102", "lat": loop.inside[1], "long": loop.inside[0],
            "attribute[danger]": "no", "description": "路口有一堆垃圾", "account_id": "u-42"}
    data.update(fields)
    return client.post(f"{BASE}requests.{fmt}", {k: v for k, v in data.items() if v is not None})


def test_it_serves_under_open311_v2(loop):
    assert reverse("open311:services", kwargs={"fmt": "xml"}) == f"{BASE}services.xml"


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_services_have_the_spec_structure(anon, services, fmt):
    response = anon.get(f"{BASE}services.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        root = spec.assert_xml_like(response.content, spec.SERVICES_XML)
        codes = [s.findtext("service_code") for s in root]
    else:
        assert response["Content-Type"] == "application/json; charset=utf-8"
        rows = spec.assert_json_like(response.content, spec.SERVICES_JSON)
        codes = [row["service_code"] for row in rows]
    assert codes == ["event:0102", "event:0105", "event:0109", "component:0101"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_a_service_definition_has_the_spec_structure(anon, services, fmt):
    response = anon.get(f"{BASE}services/component:0101.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = spec.assert_xml_like(response.content, spec.DEFINITION_XML)
        assert [a.findtext("code") for a in root.iter("attribute")] == ["danger", "component_code"]
    else:
        body = spec.assert_json_like(response.content, spec.DEFINITION_JSON)
        assert isinstance(body, dict)  # the one object the spec does not wrap in an array
        assert body["service_code"] == "component:0101"
        assert [(a["code"], a["order"], a["required"]) for a in body["attributes"]] == [
            ("danger", 1, True), ("component_code", 2, False)]
        assert body["attributes"][1]["values"] == []
    encoded = anon.get(f"{BASE}services/component%3A0101.{fmt}")  # clients that escape the colon
    assert encoded.content == response.content


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_post_then_get_by_token_and_by_id_have_the_spec_structure(anon, loop, app_key, fmt):
    created = post_request(anon, loop, app_key, fmt)
    assert created.status_code == 200, created.content.decode()
    event = Event.objects.get()
    if fmt == "xml":
        root = spec.assert_xml_like(created.content, spec.CREATED_XML)
        assert root.findtext("request/service_request_id") == event.number
        assert root.findtext("request/token") == event.receipt_code
        assert root.findtext("request/account_id") == "u-42"
    else:
        [row] = spec.assert_json_like(created.content, spec.CREATED_JSON)
        assert (row["service_request_id"], row["token"], row["account_id"]) == (
            event.number, event.receipt_code, "u-42")
        assert "4 working hours" in row["service_notice"]

    token = anon.get(f"{BASE}tokens/{event.receipt_code}.{fmt}")
    if fmt == "xml":
        root = spec.assert_xml_like(token.content, spec.TOKEN_XML)
        assert root.findtext("request/service_request_id") == event.number
    else:
        assert spec.assert_json_like(token.content, spec.TOKEN_JSON) == [
            {"service_request_id": event.number, "token": event.receipt_code}]

    one = anon.get(f"{BASE}requests/{event.number}.{fmt}")
    assert one.status_code == 200
    if fmt == "xml":
        root = spec.assert_xml_like(one.content, spec.REQUESTS_XML)
        assert root.findtext("request/status") == "open"
        assert root.findtext("request/service_code") == "event:0102"
    else:
        [row] = spec.assert_json_like(one.content, spec.REQUESTS_JSON)
        assert row["status"] == "open" and row["service_name"] == "暴露垃圾"
        assert (row["lat"], row["long"]) == (pytest.approx(loop.inside[1]), pytest.approx(loop.inside[0]))


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_requests_have_the_spec_structure_open_and_closed(anon, loop, fmt):
    flow.bring_to(loop, State.CLOSED)
    flow.report(loop, title="又一堆")
    response = anon.get(f"{BASE}requests.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = spec.assert_xml_like(response.content, spec.REQUESTS_XML)
        statuses = [r.findtext("status") for r in root]
    else:
        rows = spec.assert_json_like(response.content, spec.REQUESTS_JSON)
        statuses = [row["status"] for row in rows]
    assert statuses == ["open", "closed"]  # newest first


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_errors_have_the_spec_structure_and_status(anon, loop, fmt):
    response = post_request(anon, loop, "ggv_not-a-key", fmt)
    assert response.status_code == 403
    if fmt == "xml":
        root = spec.assert_xml_like(response.content, spec.ERRORS_XML)
        assert root.findtext("error/code") == "403"
    else:
        [error] = spec.assert_json_like(response.content, spec.ERRORS_JSON)
        assert error["code"] == 403 and "api_key" in error["description"]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_discovery_has_the_spec_structure(anon, fmt):
    response = anon.get(f"{BASE}discovery.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        root = spec.assert_xml_like(response.content, spec.DISCOVERY_XML)
        assert root.findtext("endpoints/endpoint/url") == "http://testserver/open311/v2"
        assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]
    else:
        body = spec.assert_json_like(response.content, spec.DISCOVERY_JSON)
        assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"


def test_timestamps_carry_the_time_zone_offset(anon, loop):
    event = flow.report(loop)
    [row] = anon.get(f"{BASE}requests/{event.number}.json").json()
    assert row["requested_datetime"].endswith("+08:00") and "T" in row["requested_datetime"]
    assert row["requested_datetime"][:19] == event.created_at.astimezone(flow.SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S")


def test_a_public_photo_is_given_as_media_url_and_served_without_metadata(anon, loop):
    event = flow.bring_to(loop, State.VERIFYING)
    dispatch_services.event_verify(event=event, actor=loop.worker, passed=True, photos=[photo(gps=True)])
    [row] = anon.get(f"{BASE}requests/{event.number}.json").json()
    assert row["media_url"].startswith("http://testserver/open311/v2/media/")
    image = anon.get(row["media_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    from dispatch.tests.images import has_gps

    assert not has_gps(b"".join(image.streaming_content))
    assert event.attachments.filter(stage=Stage.VERIFY).exists()
