"""GeoReport v2 documents as XML and JSON.

A document is a root element name and its content, built by ``open311.mapping``:

- ``Many(item, [...])``: a container whose children repeat (``<services><service>…``); in JSON an
  array, even of one (the spec's "Spark convention"), so list documents are top-level arrays;
- a ``dict``: an element's children in order (``<service_definition>``); in JSON an object;
- scalars: ``None`` (an empty element; JSON null, as Spark maps empty elements), bool ("true"/"false"),
  numbers, strings and aware datetimes (W3C format with the offset, e.g. 2026-11-22T10:15:00+08:00).

XML carries the declaration the spec asks for and no namespace; both formats are UTF-8.
"""

from __future__ import annotations

import datetime
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

XML = "xml"
JSON = "json"
FORMATS = (XML, JSON)
CONTENT_TYPES = {XML: "text/xml; charset=utf-8", JSON: "application/json; charset=utf-8"}
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
# Characters XML 1.0 cannot carry at all (a description may hold anything a client sent).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Many:
    """A container element of repeated ``item`` children."""

    item: str
    items: list


Document = tuple[str, Any]  # (root element name, Many | dict)


def w3c(value: datetime.datetime) -> str:
    """An instant in the platform's time zone with its offset, to the second."""
    return timezone.localtime(value).isoformat(timespec="seconds")


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return w3c(value)
    if isinstance(value, str) and value == "":
        return None  # an empty element and a missing value read the same (Spark: null)
    return value


def to_json(content: Any) -> Any:
    if isinstance(content, Many):
        return [to_json(item) for item in content.items]
    if isinstance(content, dict):
        return {key: to_json(value) for key, value in content.items()}
    return _scalar(content)


def _text(value: Any) -> str:
    value = _scalar(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, content: Any) -> None:
    if isinstance(content, Many):
        for item in content.items:
            _fill(ET.SubElement(element, content.item), item)
    elif isinstance(content, dict):
        for key, value in content.items():
            _fill(ET.SubElement(element, key), value)
    else:
        element.text = _text(content)


def to_xml(document: Document) -> str:
    root_name, content = document
    root = ET.Element(root_name)
    _fill(root, content)
    ET.indent(root, space="  ")
    # Empty elements as <description></description>, the way the spec's examples write them.
    return XML_DECLARATION + ET.tostring(root, encoding="unicode", short_empty_elements=False) + "\n"


def render(document: Document, fmt: str, *, status: int = 200, headers: dict | None = None) -> HttpResponse:
    if fmt == JSON:
        body = json.dumps(to_json(document[1]), ensure_ascii=False, indent=2)
    else:
        body = to_xml(document)
    content_type = CONTENT_TYPES.get(fmt, CONTENT_TYPES[XML])
    response = HttpResponse(body.encode("utf-8"), status=status, content_type=content_type)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def render_errors(status: int, descriptions: list[str], fmt: str, *, headers: dict | None = None) -> HttpResponse:
    """``<errors><error><code/><description/></error></errors>``, with the same HTTP status."""
    errors = Many("error", [{"code": status, "description": text} for text in descriptions])
    return render(("errors", errors), fmt if fmt in FORMATS else XML, status=status, headers=headers)
