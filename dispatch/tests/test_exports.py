"""Exports of the dispatch lists: the workbench, the department and verification queues, the hotline
calls (pages, ``?export=csv|xlsx``) and the cases of the API (``?format=csv|xlsx``) — every row the
list's filters select, only cases in the user's scope, no contact data, audited, capped."""

from __future__ import annotations

import csv
import datetime
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch import services
from dispatch.api.views import EventListCreateView
from dispatch.models import Channel, Event, State
from dispatch.tests.flow import bring_to, report
from dispatch.views import intake as intake_views
from dispatch.views import workbench as workbench_views
from governance.api.exports import ExportMixin
from governance.exports import AUDIT_ACTION
from governance.models import AuditEntry, Parameter

pytestmark = pytest.mark.django_db

WORKBENCH_HEADER = [
    "Case number", "Title", "Major class", "Minor class", "State", "Urgency", "Channel", "Unit", "Grid",
    "Lead department", "Reported at", "Current step", "Step due", "Deadline", "Handling due", "Listed supervision",
    "Rework count", "Dispatched at", "Handled at", "Closed at",
]


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response
    body = response.getvalue().decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def numbers(response) -> list[str]:
    return [row[0] for row in csv_rows(response)[1:]]


def local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def street_b_case(loop) -> Event:
    event, _created = services.event_report(channel=Channel.CITIZEN, title="乙街道的坑", unit=loop.tree.community_b,
                                            lon=loop.outside[0], lat=loop.outside[1])
    return event


def workbench_export(client, fmt="csv", **params):
    return client.get(reverse("dispatch:workbench"), {**params, "export": fmt})


# --- The workbench -----------------------------------------------------------------------------------


def test_the_workbench_exports_every_page_of_its_filtered_tab(client, loop, monkeypatch):
    monkeypatch.setattr(workbench_views, "PAGE_SIZE", 1)
    first = report(loop, title="垃圾堆")
    urgent = report(loop, title="井盖", minor=loop.manhole)
    second = report(loop, title="又一堆")
    client.force_login(loop.operator)
    page = client.get(reverse("dispatch:workbench"), {"urgency": "normal"})
    assert len(page.context["page"].object_list) == 1  # one row a page …
    assert "export=csv" in page.content.decode() and "urgency=normal" in page.content.decode()
    assert set(numbers(workbench_export(client, urgency="normal"))) == {first.number, second.number}  # … all of them
    assert numbers(workbench_export(client, urgency="urgent")) == [urgent.number]
    assert numbers(workbench_export(client, group="closed")) == []
    rows = csv_rows(workbench_export(client, q=first.number))
    assert rows[0] == WORKBENCH_HEADER
    first.refresh_from_db()
    assert rows[1] == [
        first.number, "垃圾堆", "市容环境", "暴露垃圾", "Reported", "Normal", "Grid worker", loop.tree.community_a.name,
        "甲一网格", "", local(first.created_at), "Acceptance", local(first.step_due_at), "On time", "", "no", "0", "",
        "", "",
    ]


def test_the_excel_file_holds_the_same_rows_with_real_times(client, loop):
    event = report(loop, title="=HYPERLINK(\"http://x\")")
    client.force_login(loop.operator)
    response = workbench_export(client, "xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == WORKBENCH_HEADER and rows[1][0] == event.number
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")" and sheet["B2"].data_type == "s"
    assert rows[1][10] == timezone.localtime(event.created_at).replace(tzinfo=None, microsecond=0)


def test_the_file_name_is_chinese_in_chinese_with_an_ascii_fallback(loop):
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(loop.operator)
    disposition = workbench_export(client)["Content-Disposition"]
    today = f"{timezone.localdate():%Y%m%d}"
    assert disposition == (f'attachment; filename="dispatch.workbench-{today}.csv"; '
                           f"filename*=UTF-8''%E6%A1%88%E4%BB%B6-{today}.csv")  # 案件-<date>.csv


def test_the_outsider_exports_nothing_of_street_a(client, loop):
    mine = report(loop)
    theirs = street_b_case(loop)
    client.force_login(loop.outsider)
    assert numbers(workbench_export(client)) == [theirs.number]
    client.force_login(loop.operator)
    assert numbers(workbench_export(client)) == [mine.number]
    client.force_login(loop.dispatcher)
    assert set(numbers(workbench_export(client))) == {mine.number, theirs.number}


def test_contact_data_is_never_exported(client, loop):
    services.event_report(channel=Channel.CITIZEN, title="路灯不亮", unit=loop.tree.community_a,
                          contact_name="张三丰", contact_phone="13812345678")
    client.force_login(loop.dispatcher)
    for fmt in ("csv", "xlsx"):
        response = workbench_export(client, fmt)
        body = response.getvalue()
        if fmt == "xlsx":
            sheet = openpyxl.load_workbook(io.BytesIO(body)).active
            body = "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row).encode()
        assert "路灯不亮".encode() in body
        assert "张三丰".encode() not in body and b"13812345678" not in body and b"5678" not in body


def test_each_export_is_audited_with_its_filters(client, loop):
    report(loop)
    client.force_login(loop.operator)
    workbench_export(client, "xlsx", group="accept", urgency="normal", page="3")
    entry = AuditEntry.objects.get(action=AUDIT_ACTION)
    assert entry.actor == loop.operator
    assert entry.data == {"list": "dispatch.workbench", "format": "xlsx", "rows": 1, "channel": "page",
                          "filters": {"group": "accept", "urgency": "normal"}}


def test_over_the_limit_the_workbench_says_to_narrow_the_filters_and_keeps_them(client, loop):
    Parameter.objects.create(key="governance.export_max_rows", value=1)
    report(loop)
    report(loop, title="又一堆")
    client.force_login(loop.operator)
    response = workbench_export(client, urgency="normal")
    assert response.status_code == 302
    assert response["Location"] == reverse("dispatch:workbench") + "?urgency=normal"
    page = client.get(response["Location"]).content.decode()
    assert "This list has 2 rows; an export holds at most 1. Narrow the filters and export again." in page
    assert not AuditEntry.objects.filter(action=AUDIT_ACTION).exists()
    assert len(numbers(workbench_export(client, q="又一堆"))) == 1  # narrowed: fine


def test_who_may_export_the_workbench(client, loop):
    client.force_login(loop.worker)
    assert workbench_export(client).status_code == 403
    client.force_login(loop.handler)
    assert workbench_export(client).status_code == 403
    client.logout()
    response = workbench_export(client)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_export_takes_no_query_per_row(client, loop, django_assert_max_num_queries):
    for n in range(6):
        report(loop, title=f"垃圾{n}")
    client.force_login(loop.operator)
    with django_assert_max_num_queries(14):
        assert len(numbers(workbench_export(client))) == 6


# --- The other queues --------------------------------------------------------------------------------


def test_the_department_queue_exports_its_tab(client, loop):
    dispatched = bring_to(loop, State.DISPATCHED)
    in_progress = bring_to(loop, State.IN_PROGRESS)
    client.force_login(loop.handler)
    url = reverse("dispatch:department_queue")
    assert "export=xlsx" in client.get(url).content.decode()
    assert numbers(client.get(url, {"export": "csv"})) == [dispatched.number]
    rows = csv_rows(client.get(url, {"export": "csv", "group": "progress"}))
    assert [r[0] for r in rows[1:]] == [in_progress.number]
    assert rows[1][9] == loop.tree.bureau.name and rows[1][4] == "In progress"
    client.force_login(loop.operator)
    assert client.get(url, {"export": "csv"}).status_code == 403


def test_the_verify_queue_exports_the_cases_to_check(client, loop, persona):
    waiting = bring_to(loop, State.VERIFYING)
    bring_to(loop, State.IN_PROGRESS)
    client.force_login(loop.worker)
    url = reverse("dispatch:verify_queue")
    assert "export=csv" in client.get(url).content.decode()
    assert numbers(client.get(url, {"export": "csv"})) == [waiting.number]
    client.force_login(loop.handler)
    assert client.get(url, {"export": "csv"}).status_code == 403


def test_the_hotline_calls_export_every_call_in_scope_without_the_caller(client, loop, monkeypatch):
    monkeypatch.setattr(intake_views, "HOTLINE_LIST_SIZE", 1)
    taken = services.hotline_call_record(operator=loop.operator, caller_name="来电人甲", caller_phone="13900001111",
                                         request_type="help", summary="路面塌陷", outcome="case",
                                         unit=loop.tree.community_a)
    services.hotline_call_record(operator=loop.operator, caller_name="咨询人乙", caller_phone="13900002222",
                                 request_type="enquiry", summary="问办事时间", outcome="answered", answer="9 点")
    client.force_login(loop.operator)
    url = reverse("dispatch:hotline_list")
    assert "export=csv" in client.get(url).content.decode()
    response = client.get(url, {"export": "csv"})
    rows = csv_rows(response)
    assert rows[0] == ["Time", "Request type", "What the caller said", "Outcome of the call", "Case number",
                       "Reason not taken", "Operator"]
    assert [r[2] for r in rows[1:]] == ["问办事时间", "路面塌陷"]  # both, though the page shows one
    assert rows[2][4] == taken.event.number and rows[2][6] == str(loop.operator)
    body = response.getvalue().decode()
    assert "来电人甲" not in body and "咨询人乙" not in body and "1390000" not in body
    client.force_login(loop.outsider)
    assert csv_rows(client.get(url, {"export": "csv"}))[1:] == []
    client.force_login(loop.worker)
    assert client.get(url, {"export": "csv"}).status_code == 403


# --- The API ---------------------------------------------------------------------------------------------

# The lead adds ExportMixin to the events list; until then the test puts it on a subclass.
EventsView = (EventListCreateView if issubclass(EventListCreateView, ExportMixin)
              else type("ExportingEventListCreateView", (ExportMixin, EventListCreateView), {}))
urlpatterns = [path("api/v1/dispatch/events/", EventsView.as_view())]
EVENTS = "/api/v1/dispatch/events/"


@pytest.mark.urls(__name__)
def test_the_api_exports_the_scoped_filtered_cases_without_contact_data(loop, token_for):
    mine = report(loop)
    hotline, _c = services.event_report(channel=Channel.HOTLINE, title="来电", unit=loop.tree.community_a,
                                        contact_name="张三丰", contact_phone="13812345678")
    theirs = street_b_case(loop)
    api = token_for(loop.operator, scopes=["dispatch:read"])
    response = api.get(EVENTS, {"format": "csv"})
    rows = csv_rows(response)
    header = rows[0]
    assert {"ID", "Case number", "Title", "State", "Unit · Name", "Reported at"} <= set(header)
    assert not {h for h in header if "contact" in h.lower()}
    number = header.index("Case number")
    assert {r[number] for r in rows[1:]} == {mine.number, hotline.number}
    assert theirs.number not in response.getvalue().decode()
    assert "张三丰" not in response.getvalue().decode() and "13812345678" not in response.getvalue().decode()
    assert [r[number] for r in csv_rows(api.get(EVENTS, {"format": "csv", "channel": "hotline"}))[1:]] == \
        [hotline.number]
    xlsx = api.get(EVENTS, {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.getvalue())).active
    reported = [c.value for c in sheet[1]].index("Reported at")
    assert isinstance(sheet.cell(row=2, column=reported + 1).value, datetime.datetime)
    assert api.get(EVENTS, {"format": "json"}).json()["results"]
    outsider = token_for(loop.outsider, scopes=["dispatch:read"])
    assert [r[number] for r in csv_rows(outsider.get(EVENTS, {"format": "csv"}))[1:]] == [theirs.number]


@pytest.mark.urls(__name__)
def test_the_api_export_refuses_anonymous_and_tokens_without_the_scope_in_json(loop, token_for):
    anonymous = APIClient(HTTP_ACCEPT_LANGUAGE="en").get(EVENTS, {"format": "csv"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    no_scope = token_for(loop.operator, scopes=["grids:read"]).get(EVENTS, {"format": "csv"})
    assert no_scope.status_code == 403 and no_scope["Content-Type"] == "application/json"
