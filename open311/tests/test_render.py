"""Rendering: UTF-8 XML with the declaration, Spark-convention JSON, and the endpoint's edges."""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest

from open311.render import Many, render, render_errors, to_json, to_xml

pytestmark = pytest.mark.django_db

BASE = "/open311/v2/"


def test_xml_carries_the_declaration_and_empty_elements_written_out():
    text = to_xml(("service_requests", Many("request", [{"description": None, "lat": 34.5, "metadata": True}])))
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n<service_requests>')
    assert "<description></description>" in text and "<lat>34.5</lat>" in text and "<metadata>true</metadata>" in text


def test_characters_xml_cannot_carry_are_dropped():
    text = to_xml(("errors", Many("error", [{"code": 400, "description": "bad\x00\x0bbyte 汉字"}])))
    assert ET.fromstring(text.encode("utf-8")).findtext("error/description") == "badbyte 汉字"


def test_json_follows_spark_containers_are_arrays_and_empty_is_null():
    utc = datetime.datetime(2026, 11, 22, 2, 15, tzinfo=ZoneInfo("UTC"))
    doc = {"code": "x", "empty": "", "when": utc, "values": Many("value", [{"key": "yes"}]),
           "formats": Many("format", ["text/xml"])}
    assert to_json(doc) == {"code": "x", "empty": None, "when": "2026-11-22T10:15:00+08:00",
                            "values": [{"key": "yes"}], "formats": ["text/xml"]}


def test_a_response_is_utf8_in_the_format_asked():
    response = render(("services", Many("service", [{"service_name": "暴露垃圾"}])), "json", status=200)
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.content.decode("utf-8")) == [{"service_name": "暴露垃圾"}]
    assert render_errors(404, ["gone"], "html")["Content-Type"] == "text/xml; charset=utf-8"


@pytest.mark.parametrize("url", ["services.html", "services", "requests/SJ1.yaml", "nothing/here.json"])
def test_unknown_resources_and_formats_are_404_in_the_spec_format(anon, url):
    response = anon.get(BASE + url)
    assert response.status_code == 404
    body = response.content.decode()
    assert "<code>404</code>" in body or '"code": 404' in body


def test_a_wrong_method_is_refused_in_the_spec_format(anon, loop):
    response = anon.post(f"{BASE}services.json")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert response.json()[0]["code"] == 405


def test_the_root_is_the_discovery_document(anon):
    response = anon.get(BASE)
    assert response.status_code == 200 and b"<discovery>" in response.content
