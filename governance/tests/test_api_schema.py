"""The OpenAPI schema of /api/v1 and its documentation pages.

- The schema generates with no drf-spectacular warning and validates as OpenAPI 3; it describes
  bearer tokens, the one error format on every operation, and nothing outside /api/v1 (Open311
  has its own specification).
- The API keeps to it: schemathesis sends generated requests (valid ones and deliberately broken
  ones) to every operation, through Django in this process, as the client of a district
  dispatcher holding every scope. No answer may be a server error, and every answer must have a
  documented status, content type, headers and body.
- The Swagger UI and ReDoc pages work with no internet: everything they load comes from this server.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch import services
from dispatch.api.views import API_ACTIONS
from dispatch.models import Channel, ClassKind, Event, MajorClass, MinorClass
from governance.api.scopes import SCOPES
from governance.models import AdministrativeUnit, WebhookDelivery, WebhookSubscription
from governance.roles import Role
from grids.models import Grid, Patrol
from grids.tests.gridmaps import community_with_boundary, grid, lonlat, rect

SCHEMA_URL = "/api/v1/schema/?format=json"
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def generate() -> tuple[dict, list[str]]:
    """The schema as /api/v1/schema/ serves it, and drf-spectacular's warnings and errors."""
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return schema, sorted({**GENERATOR_STATS._warn_cache, **GENERATOR_STATS._error_cache})


# --- The schema ----------------------------------------------------------------------------------


def test_the_schema_generates_with_no_warning_and_validates():
    schema, problems = generate()
    assert not problems, "drf-spectacular warnings and errors:\n" + "\n".join(problems)
    validate_schema(schema)  # raises on anything OpenAPI 3.0 does not allow


def test_every_operation_takes_bearer_tokens_and_documents_its_refusals_in_the_one_error_format():
    schema, _ = generate()
    bearer = schema["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "fields"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            assert {"bearerAuth": []} in operation["security"], where
            refusals = {"401", "403", "429"} | ({"404"} if "{" in path else set())
            assert refusals <= set(operation["responses"]), where
            for code in refusals:
                assert operation["responses"][code]["content"]["application/json"]["schema"] == ERROR_REF, where
            assert "Retry-After" in operation["responses"]["429"]["headers"], where


def test_only_api_v1_is_described_not_open311():
    schema, _ = generate()
    assert schema["paths"] and all(path.startswith("/api/v1/") for path in schema["paths"])


def test_the_action_endpoint_names_every_action_and_the_bodies_they_take():
    schema, _ = generate()
    components = schema["components"]["schemas"]
    operation = schema["paths"]["/api/v1/dispatch/events/{id}/actions/{action}/"]["post"]
    action = next(p for p in operation["parameters"] if p["name"] == "action")
    assert sorted(action["schema"]["enum"]) == sorted(API_ACTIONS)
    body = operation["requestBody"]["content"]
    shapes = {ref["$ref"].rsplit("/", 1)[1]
              for ref in components[body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]["anyOf"]}
    assert {"ActionInputRequest", "DispatchInputRequest", "VerifyInputRequest", "CallbackInputRequest"} <= shapes
    # Unknown fields are refused (state, department … cannot be set through a body), and the schema says so.
    assert all(components[name]["additionalProperties"] is False for name in shapes)
    photos = {ref["$ref"].rsplit("/", 1)[1]
              for ref in components[body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]["anyOf"]}
    assert photos == {"PhotosActionInputRequest", "VerifyInputRequest"}
    assert components["PhotosActionInputRequest"]["properties"]["photos"]["items"]["format"] == "binary"


def test_a_case_is_described_with_its_etag_and_idempotent_filing():
    schema, _ = generate()
    detail = schema["paths"]["/api/v1/dispatch/events/{id}/"]["get"]
    assert any(p["name"] == "If-None-Match" and p["in"] == "header" for p in detail["parameters"])
    assert "ETag" in detail["responses"]["200"]["headers"] and "304" in detail["responses"]
    file = schema["paths"]["/api/v1/dispatch/events/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in file["parameters"])
    assert {"201", "200"} <= set(file["responses"]) and "Location" in file["responses"]["201"]["headers"]
    assert set(file["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    feed = schema["paths"]["/api/v1/dispatch/events/changes/"]["get"]
    page = schema["components"]["schemas"][feed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                                           .rsplit("/", 1)[1]]
    assert set(page["required"]) == {"results", "next_cursor", "has_more"}


# --- The API keeps to it: schemathesis -----------------------------------------------------------
#
# The schema is loaded through the WSGI application at import (collection) time, so pytest shows one
# test per operation. Each runs schemathesis' three phases — the schema's examples, the coverage
# phase (boundary values and broken inputs for each parameter and body field, deterministic) and
# 15 fuzzed examples — against a small data set made for it, inside the test's transaction.

api_schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, WSGIHandler())


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_in_test_transaction():
    """Requests sent straight to the WSGI handler run inside the test's transaction, as with Django's
    test client: the handler must not close the connection when each request starts and ends."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(tree, persona, token_for, wsgi_in_test_transaction):
    """A district with a gridded community, a class of its own in the catalogue, cases at different
    steps, a webhook subscription with a delivery, and the token of a district dispatcher's client
    holding every scope (its rate set high: the run sends hundreds of requests)."""
    community_with_boundary(tree.community_a, 0, 0, 1000)
    grid(tree.community_a, rect(0, 0, 500, 500), name="甲一网格")
    major = MajorClass.objects.create(kind=ClassKind.EVENT, code="98", name="市容环境（测试）")
    minor = MinorClass.objects.create(major=major, code="02", name="暴露垃圾（测试）", lead_department=tree.bureau,
                                      limit_amount=4, limit_unit="working_hours")
    dispatcher = persona(Role.DISTRICT_DISPATCHER, unit=tree.district)
    api = token_for(dispatcher, scopes=list(SCOPES), rate="100000/minute")
    lon, lat = lonlat(100, 100)
    reported = [
        services.event_report(channel=Channel.CITIZEN, title=f"垃圾堆{i}", minor=minor, lon=lon, lat=lat,
                              contact_name="张三丰", contact_phone="13812345678")[0]
        for i in range(3)
    ]
    services.event_report(channel=Channel.HOTLINE, title="无坐标的来电", unit=tree.community_b)
    services.event_accept(event=reported[1], actor=dispatcher)
    services.event_register(event=reported[1], actor=dispatcher)
    services.event_dispatch(event=reported[1], actor=dispatcher)
    subscription = WebhookSubscription.objects.create(client=api.api_client, url="https://hooks.example.com/gridgov",
                                                      events=["case.created"])
    WebhookDelivery.objects.create(subscription=subscription, event_type="case.created", object_id=reported[0].pk,
                                   payload={"event": "case.created", "id": reported[0].pk}, status="failed")
    return {"token": api.key, "community": tree.community_b.pk}


# The rows a path's {id} may name. Generated ids that are even are swapped for one of these, so
# reads and actions reach real rows; odd ones are left, and mostly miss (404).
ID_SOURCES = [
    (re.compile(r"/dispatch/events/\{id\}"), lambda: Event.objects.all()),
    (re.compile(r"/grids/units/\{id\}"), lambda: AdministrativeUnit.objects.all()),
    (re.compile(r"/grids/patrols/\{id\}"), lambda: Patrol.objects.all()),
    (re.compile(r"/grids/\{id\}"), lambda: Grid.objects.all()),
    (re.compile(r"/webhooks/subscriptions/\{id\}"), lambda: WebhookSubscription.objects.all()),
    (re.compile(r"/webhooks/deliveries/\{id\}"), lambda: WebhookDelivery.objects.all()),
]


def aim_at_real_rows(case) -> None:
    generated = str((case.path_parameters or {}).get("id", ""))
    if not generated.isdigit() or int(generated) % 2:
        return  # a broken id (a negative case), or odd: left as generated
    for pattern, rows in ID_SOURCES:
        if pattern.search(case.path):
            ids = sorted(rows().values_list("pk", flat=True))
            if ids:
                case.path_parameters["id"] = ids[(int(generated) // 2) % len(ids)]
            return


@api_schema.parametrize()
@settings(max_examples=15, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, world):
    aim_at_real_rows(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {world['token']}", "Accept-Language": "en"},
                           checks=CHECKS)


# Inputs the fuzzing once turned into server errors (on PostgreSQL or SQLite), kept as plain
# requests so they are tried on every run whatever the generator draws.
FOUND_BY_FUZZING = [
    ("get", "/api/v1/dispatch/events/?category=1e30", "category"),  # an id too large for the column
    ("get", "/api/v1/dispatch/events/?created_before=9999-12-31T23:59:59-01:00", "created_before"),  # year 10000 in UTC
    ("get", "/api/v1/dispatch/events/?updated_after=0001-01-01T00:00:00%2B01:00", "updated_after"),  # year 0 in UTC
    ("get", "/api/v1/dispatch/catalogue/search/?q=%00", "q"),  # PostgreSQL takes no NUL in a string
    ("get", "/api/v1/grids/?q=%00", "q"),
    ("get", "/api/v1/grids/patrols/?started_before=0001-01-01T00:00:00%2B01:00", "started_before"),
    ("get", "/api/v1/grids/visits/?visited_after=0001-01-01T00:00:00%2B01:00", "visited_after"),
    ("get", "/api/v1/webhooks/deliveries/?subscription=99999999999999999999", "subscription"),
    ("get", "/api/v1/dispatch/events/?category=99999999999999999999", "category"),
]


def test_an_unknown_api_address_answers_404_in_the_error_format(world, client):
    for url in ("/api/v1/nothing-here/", "/api/v1/dispatch/events/null,null/"):
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {world['token']}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_method_an_endpoint_lacks_answers_405_even_to_a_token(world, client):
    response = client.delete("/api/v1/dispatch/catalogue/", HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(("method", "url", "field"), FOUND_BY_FUZZING)
def test_inputs_the_fuzzing_found_are_refused_with_400_naming_the_field(world, client, method, url, field):
    response = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_an_offset_postgresql_does_not_take_is_read_as_the_same_instant(world, client):
    # +19:07 is a valid ISO 8601 offset that PostgreSQL refuses: the filter sends the time in UTC.
    response = client.get("/api/v1/dispatch/events/?created_after=0256-08-06T05:26:42%2B19:07",
                          HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    assert response.status_code == 200 and len(response.json()["results"]) == 4


def test_a_report_without_a_title_takes_the_start_of_its_description(world, client):
    response = client.post("/api/v1/dispatch/events/", {"description": "路灯不亮，晚上很黑", "unit": world["community"]},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "路灯不亮，晚上很黑"


# --- The documentation pages, offline ------------------------------------------------------------


def _local_only(page, base_url: str) -> list[str]:
    """Refuse (and list) every request the page makes to anywhere but this server."""
    host = urlsplit(base_url).hostname
    outside: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in (host, "localhost", "127.0.0.1"):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    return outside


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_swagger_ui_and_redoc_pages_work_with_no_internet(browser_page, live_server, screenshot):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    outside = _local_only(page, live_server.url)
    crashes: list[str] = []
    page.on("pageerror", lambda error: crashes.append(str(error)))
    schema, _ = generate()
    operations = sum(len(methods) for methods in schema["paths"].values())

    page.goto(live_server.url + "/api/v1/docs/")
    page.wait_for_selector(".opblock-summary")
    assert page.locator(".opblock").count() == operations
    assert "GridGov API" in page.locator(".info .title").inner_text()
    actions = "/api/v1/dispatch/events/{id}/actions/{action}/"
    assert page.locator(f".opblock-summary-path[data-path='{actions}']").count() == 1
    assert page.locator("button.authorize").is_visible()  # bearer tokens can be tried from the page
    page.locator(".opblock-summary-path[data-path='/api/v1/dispatch/events/']").first.click()
    page.wait_for_selector(".opblock.is-open .parameters")
    screenshot(page, "api-docs-swagger-ui")

    page.goto(live_server.url + "/api/v1/redoc/")
    page.wait_for_selector("h1:has-text('GridGov API')")
    assert page.locator(f"text={actions}").count() >= 1
    screenshot(page, "api-docs-redoc")

    assert outside == [], outside
    assert crashes == [], crashes
