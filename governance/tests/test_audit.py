"""The audit trail: a row for every change, with actor, address and old/new values; never rewritten."""

import pytest
from django.db import DatabaseError, connection, transaction

from governance.audit import audit_log
from governance.models import AuditEntry
from governance.roles import Role
from governance.services import role_assign, unit_change_code
from governance.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_records_a_role_assignment_with_its_actor(tree):
    admin, worker = UserFactory(), UserFactory()
    role_assign(user=worker, role=Role.GRID_WORKER, unit=tree.community_a, actor=admin)
    entry = AuditEntry.objects.get(action="governance.role.assigned")
    assert entry.actor == admin
    assert entry.data["role"] == Role.GRID_WORKER
    assert entry.data["unit"]["id"] == tree.community_a.pk


def test_it_keeps_the_code_history_of_a_unit(tree):
    admin = UserFactory()
    old = tree.community_a.code
    new = old[:9] + "199"
    unit_change_code(unit=tree.community_a, new_code=new, actor=admin, reason="2024 revision")
    tree.community_a.refresh_from_db()
    assert tree.community_a.code == new
    change = tree.community_a.code_changes.get()
    assert (change.old_code, change.new_code, change.changed_by) == (old, new, admin)
    entry = AuditEntry.objects.get(action="governance.unit.code_changed")
    assert entry.changes == {"code": [old, new]}


def test_it_refuses_a_bad_or_taken_code_and_writes_nothing(tree):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        unit_change_code(unit=tree.community_a, new_code="12345", actor=None)
    with pytest.raises(ValidationError):
        unit_change_code(unit=tree.community_a, new_code=tree.community_b.code, actor=None)
    assert not tree.community_a.code_changes.exists()
    assert not AuditEntry.objects.filter(action="governance.unit.code_changed").exists()


def test_it_is_append_only(tree):
    entry = audit_log(actor=None, action="governance.test.done", obj=tree.district)
    entry.action = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(action="tampered")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database trigger exists on PostgreSQL only")
def test_it_is_append_only_in_the_database_too(tree):
    audit_log(actor=None, action="governance.test.done", obj=tree.district)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE governance_auditentry SET action = 'tampered'")


class TestAdmin:
    @pytest.fixture
    def admin_client(self, client, tree):
        admin = UserFactory(is_staff=True, is_superuser=True)
        client.force_login(admin)
        client.admin = admin
        return client

    def test_it_records_admin_edits_with_old_and_new_values_and_address(self, admin_client, tree):
        url = f"/admin/governance/department/{tree.bureau.pk}/change/"
        response = admin_client.post(
            url,
            {"name": "改名后的城管局", "short_name": "", "kind": tree.bureau.kind, "unit": tree.district.pk,
             "supervisor": "", "phone": "029-1234", "is_active": "on"},
            REMOTE_ADDR="10.1.2.3",
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        entry = AuditEntry.objects.get(action="governance.department.changed")
        assert entry.actor == admin_client.admin
        assert entry.ip_address == "10.1.2.3"
        assert entry.changes["name"] == ["测试城管局", "改名后的城管局"]
        assert entry.changes["phone"] == ["", "029-1234"]

    def test_it_keeps_code_history_when_a_code_is_edited_in_the_admin(self, admin_client, tree):
        unit = tree.community_a
        new = unit.code[:9] + "198"
        response = admin_client.post(
            f"/admin/governance/administrativeunit/{unit.pk}/change/",
            {"code": new, "name": unit.name, "level": unit.level, "parent": unit.parent_id,
             "boundary": "null", "code_changes-TOTAL_FORMS": "0", "code_changes-INITIAL_FORMS": "0"},
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        assert unit.code_changes.get().new_code == new

    def test_it_lets_admins_search_but_not_edit_the_trail(self, admin_client, tree):
        role_assign(user=UserFactory(), role=Role.LEADER, unit=tree.district, actor=admin_client.admin)
        entry = AuditEntry.objects.get(action="governance.role.assigned")
        response = admin_client.get("/admin/governance/auditentry/", {"q": "governance.role"})
        assert response.status_code == 200
        page = admin_client.get(f"/admin/governance/auditentry/{entry.pk}/change/")
        assert page.status_code == 200  # viewable …
        assert b'name="_save"' not in page.content  # … with no save button
        assert admin_client.post(f"/admin/governance/auditentry/{entry.pk}/delete/").status_code == 403
        assert admin_client.get("/admin/governance/auditentry/add/").status_code == 403


def test_it_takes_the_client_address_from_the_proxy_header_when_configured(client, settings, tree):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.post(
        f"/admin/governance/department/{tree.bureau.pk}/change/",
        {"name": "新名称", "kind": tree.bureau.kind, "unit": tree.district.pk, "is_active": "on"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_REAL_IP="203.0.113.7",
    )
    assert AuditEntry.objects.get(action="governance.department.changed").ip_address == "203.0.113.7"
