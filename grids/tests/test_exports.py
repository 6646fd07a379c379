"""Exports of the grid lists (the grid list, grids without a full-time worker, household visits):
the page's filters, the user's scope, no household or notes (personal data), audited."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from governance.exports import AUDIT_ACTION
from governance.models import AuditEntry
from governance.roles import Role
from grids import services
from grids.models import GridRole, GridType, VisitOutcome, VisitPurpose
from grids.tests.fieldwork import make_grid

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response
    body = response.getvalue().decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def grids(tree, persona):
    """Grid 甲一 (with a full-time worker) and 甲二 (a dedicated grid, without) in street A; 乙一 in street B."""
    a1 = make_grid(tree.community_a, name="甲一网格")
    a2 = make_grid(tree.community_a, name="甲二网格", grid_type=GridType.DEDICATED)
    b1 = make_grid(tree.community_b, name="乙一网格")
    worker = persona(Role.GRID_WORKER, unit=tree.community_a)
    services.membership_start(grid=a1, user=worker, grid_role=GridRole.FULL_TIME, actor=None)
    return a1, a2, b1, worker


def test_the_grid_list_exports_its_filtered_grids_in_scope(client, persona, grids):
    a1, a2, b1, _worker = grids
    client.force_login(persona(Role.STREET_OPERATOR))
    url = reverse("grids:grid_list")
    page = client.get(url, {"type": GridType.DEDICATED}).content.decode()
    assert "export=csv" in page and "type=dedicated" in page
    rows = csv_rows(client.get(url, {"export": "csv"}))
    assert rows[0][:3] == ["Grid code", "Code scheme", "Name"] and rows[0][-1] == "Has a full-time grid worker"
    assert [(r[2], r[-1]) for r in rows[1:]] == [("甲一网格", "yes"), ("甲二网格", "no")]  # not street B's
    assert [r[2] for r in csv_rows(client.get(url, {"export": "csv", "type": GridType.DEDICATED}))[1:]] == ["甲二网格"]
    assert [r[2] for r in csv_rows(client.get(url, {"export": "csv", "missing": "1"}))[1:]] == ["甲二网格"]
    assert client.get(url, {"export": "csv", "unit": b1.community_id}).status_code == 404
    entry = AuditEntry.objects.filter(action=AUDIT_ACTION).latest("pk")
    assert entry.data["list"] == "grids.grids" and entry.data["filters"] == {"missing": "1"}


def test_the_map_pages_excel_link_goes_through_the_same_export(client, persona, grids):
    client.force_login(persona(Role.STREET_OPERATOR, unit=grids[2].community.parent))
    response = client.get(reverse("grids:export_xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(response.getvalue())).active
    assert [r[2] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["乙一网格"]
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert AuditEntry.objects.filter(action=AUDIT_ACTION, data__list="grids.grids").count() == 1


def test_grids_without_a_worker_export(client, persona, grids):
    client.force_login(persona(Role.STREET_OPERATOR))
    url = reverse("grids:without_worker")
    assert "export=xlsx" in client.get(url).content.decode()
    rows = csv_rows(client.get(url, {"export": "csv"}))
    assert [r[2] for r in rows[1:]] == ["甲二网格"] and "Has a full-time grid worker" not in rows[0]


def test_visits_export_without_the_household_or_notes(client, persona, grids):
    a1, _a2, _b1, worker = grids
    services.visit_create(grid=a1, worker=worker, household="3号楼2单元401室", purpose=VisitPurpose.ELDERLY_ALONE,
                          outcome=VisitOutcome.NEEDS_FOLLOW_UP, notes="王奶奶，电话13911112222", actor=worker)
    client.force_login(worker)
    url = reverse("grids:visit_list")
    assert "export=csv" in client.get(url).content.decode()
    response = client.get(url, {"export": "csv"})
    rows = csv_rows(response)
    assert rows[0] == ["Visited at", "Grid", "Grid worker", "Purpose", "Outcome", "Follow up on", "Follow-up done at"]
    assert rows[1][1:5] == ["甲一网格", str(worker), str(VisitPurpose.ELDERLY_ALONE.label),
                            str(VisitOutcome.NEEDS_FOLLOW_UP.label)]
    body = response.getvalue().decode()
    assert "401" not in body and "王奶奶" not in body and "13911112222" not in body
    client.force_login(persona(Role.STREET_OPERATOR, unit=grids[2].community.parent))  # street B
    assert csv_rows(client.get(url, {"export": "csv", "show": "all"}))[1:] == []
    client.force_login(persona(Role.STREET_OPERATOR))  # street A: all visits of the area
    assert len(csv_rows(client.get(url, {"export": "csv", "show": "all"}))) == 2
