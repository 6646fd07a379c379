"""The GeoReport v2 specification's example responses (wiki.open311.org/GeoReport_v2, Service_Discovery),
kept as their structure: the same root, elements and keys in the same order, with the values replaced
by placeholders of the same kind. ``assert_xml_like`` and ``assert_json_like`` check that a response
of ours has exactly that structure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

# --- XML, element for element as the spec's examples write them ----------------------------------

SERVICES_XML = """<?xml version="1.0" encoding="utf-8"?>
<services>
  <service>
    <service_code>001</service_code>
    <service_name>name</service_name>
    <description>description</description>
    <metadata>true</metadata>
    <type>realtime</type>
    <keywords>a, b</keywords>
    <group>group</group>
  </service>
</services>"""

DEFINITION_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_definition>
  <service_code>CODE</service_code>
  <attributes>
    <attribute>
      <variable>true</variable>
      <code>CODE</code>
      <datatype>singlevaluelist</datatype>
      <required>true</required>
      <datatype_description></datatype_description>
      <order>1</order>
      <description>question</description>
      <values>
        <value><key>1</key><name>one</name></value>
        <value><key>2</key><name>two</name></value>
      </values>
    </attribute>
  </attributes>
</service_definition>"""

# The POST response as the spec's Response table lists it (its example leaves out the token).
CREATED_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
  <request>
    <service_request_id>293944</service_request_id>
    <token>12345</token>
    <service_notice>notice</service_notice>
    <account_id/>
  </request>
</service_requests>"""

TOKEN_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
  <request>
    <service_request_id>638344</service_request_id>
    <token>12345</token>
  </request>
</service_requests>"""

REQUESTS_XML = """<?xml version="1.0" encoding="utf-8"?>
<service_requests>
  <request>
    <service_request_id>638344</service_request_id>
    <status>closed</status>
    <status_notes>notes</status_notes>
    <service_name>name</service_name>
    <service_code>006</service_code>
    <description></description>
    <agency_responsible></agency_responsible>
    <service_notice></service_notice>
    <requested_datetime>2010-04-14T06:37:38-08:00</requested_datetime>
    <updated_datetime>2010-04-14T06:37:38-08:00</updated_datetime>
    <expected_datetime>2010-04-15T06:37:38-08:00</expected_datetime>
    <address>address</address>
    <address_id>545483</address_id>
    <zipcode>94122</zipcode>
    <lat>37.762221815</lat>
    <long>-122.4651145</long>
    <media_url>http://example.org/638344.jpg</media_url>
  </request>
</service_requests>"""

ERRORS_XML = """<?xml version="1.0" encoding="utf-8"?>
<errors>
  <error>
    <code>403</code>
    <description>description</description>
  </error>
</errors>"""

DISCOVERY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<discovery>
  <changeset>2011-02-03 14:18</changeset>
  <contact>contact</contact>
  <key_service>key service</key_service>
  <endpoints>
    <endpoint>
      <specification>http://wiki.open311.org/GeoReport_v2</specification>
      <url>http://open311.example.org/v2</url>
      <changeset>2010-11-23 09:01</changeset>
      <type>production</type>
      <formats>
        <format>text/xml</format>
      </formats>
    </endpoint>
  </endpoints>
</discovery>"""

# --- JSON, key for key (the spec's examples; value kinds: str, bool, int, float, or None for either) --

S, B, I, F = "s", True, 1, 1.5

SERVICES_JSON = [{"service_code": S, "service_name": S, "description": S, "metadata": B, "type": S,
                  "keywords": S, "group": S}]
DEFINITION_JSON = {"service_code": S, "attributes": [{
    "variable": B, "code": S, "datatype": S, "required": B, "datatype_description": None, "order": I,
    "description": S, "values": [{"key": S, "name": S}, {"key": S, "name": S}]}]}
CREATED_JSON = [{"service_request_id": S, "token": S, "service_notice": S, "account_id": None}]
TOKEN_JSON = [{"service_request_id": S, "token": S}]
REQUESTS_JSON = [{
    "service_request_id": S, "status": S, "status_notes": S, "service_name": S, "service_code": S,
    "description": None, "agency_responsible": None, "service_notice": None, "requested_datetime": S,
    "updated_datetime": S, "expected_datetime": S, "address": S, "address_id": S, "zipcode": S, "lat": F,
    "long": F, "media_url": S,
}]
ERRORS_JSON = [{"code": I, "description": S}]
DISCOVERY_JSON = {"changeset": S, "contact": S, "key_service": S, "endpoints": [{
    "specification": S, "url": S, "changeset": S, "type": S, "formats": [S]}]}


# --- Comparing ---------------------------------------------------------------------------------------


def _is_container(element: ET.Element) -> bool:
    """A container of repeated children (<services>, <values>), as opposed to a record (<service>)."""
    tags = [child.tag for child in element]
    return len(set(tags)) == 1 and element.tag.endswith(tags[0] + "s")  # <service_requests><request>


def _xml_like(ours: ET.Element, spec: ET.Element, where: str) -> None:
    assert ours.tag == spec.tag, f"{where}: <{ours.tag}> where the spec has <{spec.tag}>"
    if _is_container(spec):
        for child in ours:
            _xml_like(child, spec[0], f"{where}/{child.tag}")
        return
    assert [c.tag for c in ours] == [c.tag for c in spec], (
        f"{where}: children {[c.tag for c in ours]} where the spec has {[c.tag for c in spec]}")
    for mine, theirs in zip(ours, spec):
        if len(theirs):
            _xml_like(mine, theirs, f"{where}/{mine.tag}")
        else:
            assert len(mine) == 0, f"{where}/{mine.tag} has children where the spec has text"


def assert_xml_like(body: bytes, spec_text: str) -> ET.Element:
    """``body`` is UTF-8 XML with a declaration, shaped as ``spec_text``; returns its root."""
    text = body.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>'), text[:80]
    ours = ET.fromstring(body)
    spec = ET.fromstring(spec_text.encode("utf-8"))
    _xml_like(ours, spec, ours.tag)
    return ours


def _json_like(ours, spec, where: str) -> None:
    if isinstance(spec, list):
        assert isinstance(ours, list), f"{where}: {type(ours).__name__} where the spec has an array"
        for n, item in enumerate(ours):
            _json_like(item, spec[0], f"{where}[{n}]")
    elif isinstance(spec, dict):
        assert isinstance(ours, dict), f"{where}: {type(ours).__name__} where the spec has an object"
        assert list(ours) == list(spec), f"{where}: keys {list(ours)} where the spec has {list(spec)}"
        for key, value in spec.items():
            _json_like(ours[key], value, f"{where}.{key}")
    elif ours is not None and spec is not None:
        if isinstance(spec, bool):
            assert isinstance(ours, bool), f"{where}: {ours!r} is not a boolean"
        elif isinstance(spec, (int, float)):
            assert isinstance(ours, (int, float)) and not isinstance(ours, bool), f"{where}: {ours!r} is not a number"
        else:
            assert isinstance(ours, str), f"{where}: {ours!r} is not a string"


def assert_json_like(body: bytes, spec) -> object:
    ours = json.loads(body.decode("utf-8"))
    _json_like(ours, spec, "$")
    return ours
