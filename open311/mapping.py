"""GeoReport v2 ↔ GridGov: the catalogue as services, cases as service requests, and the arguments
clients send, parsed and checked.

- service_code: the minor class's category code ``kind:MMmm`` (e.g. ``event:0102``, ``component:0101``),
  the code POST /api/v1/dispatch/events/ takes too. Major and minor codes are only unique within a
  kind (event 01 and component 01 both exist), so the kind is part of it. Only the public-facing
  kinds are services: events and components (city-management matters); social-governance matters
  (disputes, leads on crime, personal hardship) are not offered to 311 clients.
- service_request_id: the case number (``SJ2026112200000042``); token: the receipt code citizens
  track a case with.
- jurisdiction_id: the 12-digit division code of a province, city or district/county.
- status: "closed" for cases closed, evaluated, invalid, not registered or merged; "open" otherwise.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext

from dispatch.clock import limit_label
from dispatch.models import ClassKind, Event, MinorClass, State
from dispatch.views.public import PUBLIC_STATE
from dispatch.workflow import DEAD_STATES, FINISHED_STATES
from governance.deadlines import TimeLimit
from governance.models import AdministrativeUnit, UnitLevel
from open311 import attributes
from open311.errors import Open311Error
from open311.render import Document, Many

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
PUBLIC_KINDS = (ClassKind.EVENT, ClassKind.COMPONENT)
KIND_ORDER = {ClassKind.EVENT: 0, ClassKind.COMPONENT: 1}
SERVICE_CODE = re.compile(r"^(?P<kind>[a-z]+):(?P<major>\d{2})(?P<minor>\d{2})$")
JURISDICTION_LEVELS = (UnitLevel.PROVINCE, UnitLevel.CITY, UnitLevel.COUNTY)
CLOSED_STATES = FINISHED_STATES | DEAD_STATES
WINDOW = datetime.timedelta(days=90)  # the spec's default and widest span of GET requests
MAX_REQUESTS = 1000  # the spec's default number of requests returned
DESCRIPTION_MAX = 4000  # the spec's limit of a description
ADDRESS_MAX = 255  # Event.address
NAME_MAX = 64  # Event.contact_name
PHONE_MAX = 32  # Event.contact_phone
IDEMPOTENCY_PREFIX = "open311"
IDEMPOTENCY_KEY_MAX = 80  # Event.idempotency_key


# --- Services ------------------------------------------------------------------------------------


def service_code(minor: MinorClass) -> str:
    return f"{minor.major.kind}:{minor.full_code}"


def parse_service_code(code: str) -> tuple[str, str, str] | None:
    """(kind, major code, minor code) of a service code, None if it is not one."""
    match = SERVICE_CODE.match((code or "").strip())
    return (match["kind"], match["major"], match["minor"]) if match else None


def service_sort_key(minor: MinorClass) -> tuple:
    return KIND_ORDER.get(minor.major.kind, 9), minor.major.code, minor.code


def service_notice(minor: MinorClass | None) -> str | None:
    """What happens to a request of this service, with the handling time limit of its class."""
    if minor is None or minor.limit_amount <= 0:
        return None
    limit = limit_label(TimeLimit(minor.limit_amount, minor.limit_unit))
    return gettext("The command centre checks the report and sends it to the department responsible, "
                   "which has %(limit)s to handle it.") % {"limit": limit}


def service_row(minor: MinorClass) -> dict:
    """One <service>, its elements in the spec's order."""
    kind = minor.major.get_kind_display()
    return {
        "service_code": service_code(minor),
        "service_name": minor.name,
        "description": gettext("%(kind)s · %(major)s / %(minor)s. %(notice)s") % {
            "kind": kind, "major": minor.major.name, "minor": minor.name, "notice": service_notice(minor) or ""},
        "metadata": bool(attributes.attributes_for(minor)),
        "type": "realtime",
        "keywords": ", ".join(minor.keywords.split()),
        "group": minor.major.name,
    }


def services_document(minors) -> Document:
    return "services", Many("service", [service_row(m) for m in sorted(minors, key=service_sort_key)])


def definition_document(minor: MinorClass) -> Document:
    rows = []
    for question in attributes.attributes_for(minor):
        rows.append({
            "variable": question.variable,
            "code": question.code,
            "datatype": question.datatype,
            "required": question.required,
            "datatype_description": str(question.datatype_description),
            "order": question.order,
            "description": str(question.description),
            "values": Many("value", [{"key": c.key, "name": str(c.name)} for c in question.values]),
        })
    return "service_definition", {"service_code": service_code(minor), "attributes": Many("attribute", rows)}


# --- Jurisdictions -------------------------------------------------------------------------------


def jurisdiction_get(value: str | None) -> AdministrativeUnit | None:
    """The unit a jurisdiction_id names (None when none was given); 404 for anything else."""
    value = (value or "").strip()
    if not value:
        return None
    unit = AdministrativeUnit.objects.filter(code=value, level__in=JURISDICTION_LEVELS).first()
    if unit is None:
        raise Open311Error(404, gettext(
            "jurisdiction_id %(id)s was not found: give the 12-digit division code of a province, city or "
            "district/county this platform serves.") % {"id": value[:40]})
    return unit


# --- Service requests ----------------------------------------------------------------------------


def status_of(event: Event) -> str:
    return "closed" if event.state in CLOSED_STATES else "open"


def status_notes(event: Event) -> str:
    if event.state == State.MERGED and event.merged_into_id:
        return gettext("Merged into request %(number)s: it reports the same problem; follow that request.") % {
            "number": event.merged_into.number}
    return str(PUBLIC_STATE.get(event.state, event.get_state_display()))


def request_row(event: Event, *, full: bool, media_url: str | None) -> dict:
    """One <request> of GET requests, elements in the spec's order. ``full``: the caller's account may
    see the case, so the description is given; contact data never is."""
    closed = status_of(event) == "closed"
    updated = (event.closed_at or event.updated_at) if closed else event.updated_at
    return {
        "service_request_id": event.number,
        "status": status_of(event),
        "status_notes": status_notes(event),
        "service_name": event.minor.name if event.minor else None,
        "service_code": service_code(event.minor) if event.minor else None,
        "description": event.description if full else None,
        "agency_responsible": event.department.name if event.department else None,
        "service_notice": None if closed else service_notice(event.minor),
        "requested_datetime": event.created_at,
        "updated_datetime": max(updated, event.created_at),
        # The department's deadline once it has the case; before that no date can be promised.
        "expected_datetime": None if closed else event.handling_due_at,
        "address": event.address or event.unit.name,
        "address_id": event.unit.code,
        "zipcode": None,
        "lat": event.lat,
        "long": event.lon,
        "media_url": media_url,
    }


def requests_document(rows: list[dict]) -> Document:
    return "service_requests", Many("request", rows)


def created_document(event: Event, *, account_id: str) -> Document:
    return "service_requests", Many("request", [{
        "service_request_id": event.number,
        "token": event.receipt_code,
        "service_notice": service_notice(event.minor),
        "account_id": account_id or None,
    }])


def token_document(event: Event) -> Document:
    return "service_requests", Many("request", [{"service_request_id": event.number, "token": event.receipt_code}])


def discovery_document(*, url: str, production: bool) -> Document:
    return "discovery", {
        "changeset": attributes.CHANGESET,
        "contact": gettext("Ask the command centre that runs this platform."),
        "key_service": gettext("Ask the platform's administrator for an api_key: a token of an API client "
                               "holding the scope “open311” (admin site → API clients, or manage.py api_client)."),
        "endpoints": Many("endpoint", [{
            "specification": SPECIFICATION,
            "url": url,
            "changeset": attributes.CHANGESET,
            "type": "production" if production else "test",
            "formats": Many("format", ["text/xml", "application/json"]),
        }]),
    }


# --- Arguments -----------------------------------------------------------------------------------


@dataclass
class RequestQuery:
    """GET requests: either ``ids`` (which override everything else, as the spec says) or filters."""

    ids: list[str] = field(default_factory=list)
    service_codes: list[tuple[str, str, str]] = field(default_factory=list)
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    statuses: set[str] = field(default_factory=set)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_w3c(name: str, value: str) -> datetime.datetime:
    """A W3C date-time (2010-01-01T00:00:00Z, …+08:00) or date; without an offset, the platform's zone."""
    # A "+" left unencoded in a query string arrives as a space: 2026-01-01T00:00:00 08:00.
    value = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip())
    parsed = None
    try:
        parsed = parse_datetime(value)
        if parsed is None and parse_date(value) is not None:
            parsed = datetime.datetime.combine(parse_date(value), datetime.time())
    except ValueError:
        parsed = None
    if parsed is None:
        raise Open311Error(400, gettext(
            "%(name)s is not a date and time in W3C format, e.g. 2026-01-01T00:00:00+08:00.") % {"name": name})
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def parse_requests_query(params, *, now: datetime.datetime) -> RequestQuery:
    ids = _csv(params.get("service_request_id"))
    if ids:
        if len(ids) > MAX_REQUESTS:
            raise Open311Error(400, gettext("Ask for at most %(n)d service_request_id at once.") % {"n": MAX_REQUESTS})
        return RequestQuery(ids=[i.upper() for i in ids])
    query = RequestQuery()
    for code in _csv(params.get("service_code")):
        parsed = parse_service_code(code)
        if parsed is None:
            raise Open311Error(400, gettext("service_code %(code)s is not a service code (e.g. event:0102).")
                               % {"code": code[:40]})
        query.service_codes.append(parsed)
    statuses = {s.lower() for s in _csv(params.get("status"))}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, gettext("status may be open, closed or both (open,closed)."))
    query.statuses = statuses
    start = parse_w3c("start_date", params["start_date"]) if (params.get("start_date") or "").strip() else None
    end = parse_w3c("end_date", params["end_date"]) if (params.get("end_date") or "").strip() else None
    if start is None and end is None:
        start, end = now - WINDOW, None  # the most recent 90 days
    elif start is None:
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if end is not None and end < start:
        raise Open311Error(400, gettext("end_date lies before start_date."))
    if end is not None and end - start > WINDOW:
        raise Open311Error(400, gettext("start_date and end_date may not span more than 90 days."))
    query.start, query.end = start, end
    return query


@dataclass
class NewRequest:
    """POST requests, checked: everything ``open311.services.service_request_create`` needs."""

    minor: MinorClass
    lon: float
    lat: float
    address: str = ""
    description: str = ""
    media_url: str = ""  # kept as a note on the case; never fetched
    contact_name: str = ""
    phone: str = ""
    account_id: str = ""
    answers: dict = field(default_factory=dict)
    idempotency_key: str | None = None


ATTRIBUTE_FIELD = re.compile(r"^attribute\[(?P<code>[^\[\]]+)\](?:\[\])?$")


def raw_answers(post) -> dict[str, list[str]]:
    """attribute[code]=value and attribute[code][]=value (multivaluelist) → {code: [values]}."""
    raw: dict[str, list[str]] = {}
    for key in post:
        match = ATTRIBUTE_FIELD.match(key)
        if match:
            raw.setdefault(match["code"], []).extend(post.getlist(key))
    return raw


def _coordinate(name: str, value: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(gettext("%(name)s is not a number.") % {"name": name}) from None
    if not math.isfinite(number):
        raise ValidationError(gettext("%(name)s is not a number.") % {"name": name})
    return number


def contact_name(first: str, last: str) -> str:
    """first_name + last_name; Chinese names are written family name first and without a space."""
    first, last = first.strip(), last.strip()
    if first and last and _is_cjk(first + last):
        return last + first
    return " ".join(part for part in (first, last) if part)


def _is_cjk(text: str) -> bool:
    return all("\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def parse_new_request(post, *, minor: MinorClass, client_pk: int, idempotency_key: str | None) -> NewRequest:
    """Check a POST's fields (service_code was looked up already); ValidationError names each problem."""
    errors: list[str] = []

    def text(name: str, limit: int) -> str:
        value = (post.get(name) or "").strip()
        if len(value) > limit:
            errors.append(gettext("%(name)s may be at most %(n)d characters.") % {"name": name, "n": limit})
        return value

    lat_raw, lon_raw = (post.get("lat") or "").strip(), (post.get("long") or "").strip()
    lon = lat = None
    if not lat_raw or not lon_raw:
        errors.append(gettext(
            "Send lat and long (WGS-84): this platform places every report in its grid by its point, so an "
            "address_string or address_id alone cannot be accepted."))
    else:
        for name, raw in (("lat", lat_raw), ("long", lon_raw)):
            try:
                value = _coordinate(name, raw)
            except ValidationError as error:
                errors.extend(error.messages)
                continue
            if name == "lat":
                lat = value
            else:
                lon = value
    description = text("description", DESCRIPTION_MAX)
    media_url = text("media_url", 1000)
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            errors.append(gettext("media_url is not an http(s) URL."))
    name = contact_name(text("first_name", NAME_MAX), text("last_name", NAME_MAX))
    if len(name) > NAME_MAX:
        errors.append(gettext("first_name and last_name together may be at most %(n)d characters.") % {"n": NAME_MAX})
    address = text("address_string", ADDRESS_MAX)
    phone = text("phone", PHONE_MAX)
    account_id = text("account_id", 100)
    key = None
    if idempotency_key is not None:
        key = f"{IDEMPOTENCY_PREFIX}:{client_pk}:{idempotency_key.strip()}"
        if not idempotency_key.strip() or len(key) > IDEMPOTENCY_KEY_MAX:
            errors.append(gettext("The Idempotency-Key header must be 1 to %(n)d characters.")
                          % {"n": IDEMPOTENCY_KEY_MAX - len(f"{IDEMPOTENCY_PREFIX}:{client_pk}:")})
    try:
        answers = attributes.answers_clean(minor, raw_answers(post))
    except ValidationError as error:
        errors.extend(error.messages)
        answers = {}
    if errors:
        raise ValidationError(errors)
    return NewRequest(minor=minor, lon=lon, lat=lat, address=address, description=description, media_url=media_url,
                      contact_name=name, phone=phone, account_id=account_id, answers=answers, idempotency_key=key)
