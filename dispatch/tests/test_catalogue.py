"""The shipped catalogue (loaded by the data migration), its loader, and the catalogue and case admin."""

import csv

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client

from dispatch import services
from dispatch.catalogue import DEFAULT_PATH, CatalogueError, catalogue_load
from dispatch.models import Channel, Event, MajorClass, MinorClass, RoutingRule, State, Track, Urgency
from governance.models import AuditEntry, ChangeRecord
from governance.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = ("kind,major_code,major_name,minor_code,minor_name,limit_amount,limit_unit,urgency,track,self_handling,"
          "keywords\n")


def shipped_rows():
    with DEFAULT_PATH.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def counts():
    return MajorClass.objects.count(), MinorClass.objects.count()


# --- The default catalogue -----------------------------------------------------------------------


def test_the_migration_loaded_the_whole_default_catalogue():
    rows = shipped_rows()
    assert 60 <= len(rows) <= 90
    assert MinorClass.objects.count() == len(rows)
    majors = {(m.kind, m.code): m.name for m in MajorClass.objects.all()}
    assert {code: name for (kind, code), name in majors.items() if kind == "event"} == {
        "01": "市容环境", "02": "宣传广告", "03": "施工管理", "04": "突发事件", "05": "街面秩序", "06": "扩展"}
    assert {name for (kind, _), name in majors.items() if kind == "component"} >= {
        "公用设施", "道路交通", "市容环境", "园林绿化", "其他设施"}
    assert {name for (kind, _), name in majors.items() if kind == "governance"} == {
        "矛盾纠纷", "治安隐患", "安全生产", "生态环境", "民生服务", "城市管理", "政策咨询"}
    # Codes are unique per kind (major) and per major (minor); the file ships no departments.
    assert len({(r["kind"], r["major_code"], r["minor_code"]) for r in rows}) == len(rows)
    assert not MinorClass.objects.filter(lead_department__isnull=False).exists()


def test_every_class_has_a_limit_and_follows_the_domain_rules():
    calendar_units = {"minutes", "hours", "days"}
    for minor in MinorClass.objects.select_related("major"):
        assert minor.limit_amount > 0 and minor.limit_unit, minor
        if minor.urgency == Urgency.URGENT:
            assert minor.limit_unit in calendar_units, minor
        if minor.major.kind == "event" and minor.major.code == "04":
            assert (minor.track, minor.urgency) == (Track.EMERGENCY, Urgency.URGENT), minor
        if minor.major.kind == "governance" and minor.major.code == "01":
            assert minor.track == Track.DISPUTE, minor

    def limit(kind, name):
        minor = MinorClass.objects.get(major__kind=kind, name=name)
        return minor.limit_amount, minor.limit_unit, minor.urgency

    assert limit("event", "道路不洁") == (2, "working_hours", "normal")
    assert limit("event", "暴露垃圾") == (4, "working_hours", "normal")
    assert limit("event", "私搭乱建") == (4, "working_hours", "normal")
    assert limit("component", "绿地破损") == (5, "working_days", "normal")
    assert limit("component", "井盖缺失") == (2, "hours", "urgent")
    assert MinorClass.objects.get(name="散落垃圾").self_handling
    assert MinorClass.objects.get(name="违规张贴小广告").self_handling
    assert not MinorClass.objects.get(name="私搭乱建").self_handling


def test_the_keywords_find_a_class_by_a_synonym():
    from dispatch.selectors import catalogue_search

    assert "违规张贴小广告" in {m.name for m in catalogue_search("牛皮癣")}
    assert "井盖缺失" in {m.name for m in catalogue_search("窨井")}


# --- The loader ----------------------------------------------------------------------------------


def test_loading_again_changes_nothing_and_keeps_an_administrators_edits():
    minor = MinorClass.objects.get(major__kind="event", name="暴露垃圾")
    minor.limit_amount = 6
    minor.save()
    assert catalogue_load() == (0, 0)
    minor.refresh_from_db()
    assert minor.limit_amount == 6

    assert catalogue_load(update_existing=True) == (0, 1)
    minor.refresh_from_db()
    assert minor.limit_amount == 4
    assert catalogue_load(update_existing=True) == (0, 0)


def test_it_fills_an_empty_database_and_restores_missing_classes():
    rows = shipped_rows()
    MinorClass.objects.filter(name="暴露垃圾").delete()
    assert catalogue_load() == (1, 0)
    MinorClass.objects.all().delete()
    MajorClass.objects.all().delete()
    majors = len({(r["kind"], r["major_code"]) for r in rows})
    assert catalogue_load() == (majors + len(rows), 0)
    assert AuditEntry.objects.filter(action="dispatch.catalogue.loaded").count() == 2


def test_a_bad_file_is_refused_line_by_line_and_nothing_is_written(tmp_path):
    before = counts()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + "event,07,新大类,01,好的一行,1,working_days,normal,general,false,\n"
        + "event,7,新大类,02,坏代码,1,working_days,normal,general,false,\n"
        + "event,07,新大类,03,坏时限,0,weeks,normal,general,maybe,\n"
        + "event,07,新大类,04,紧急却按工作时,2,working_hours,urgent,general,false,\n"
        + "event,07,别的名字,01,重复,1,working_days,normal,general,false,\n"
        + "planet,07,新大类,05,坏种类,1,working_days,normal,general,false,\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError) as caught:
        catalogue_load(bad)
    errors = caught.value.errors
    assert any(e.startswith("line 3:") and "major_code “7” is not two digits" in e for e in errors)
    assert any(e.startswith("line 4:") and "limit_amount “0”" in e for e in errors)
    assert any(e.startswith("line 4:") and "limit_unit “weeks”" in e for e in errors)
    assert any(e.startswith("line 4:") and "self_handling “maybe”" in e for e in errors)
    assert any(e.startswith("line 5:") and "urgent class runs on calendar time" in e for e in errors)
    assert any(e.startswith("line 6:") and "named “新大类” on line 2" in e for e in errors)
    assert any(e.startswith("line 6:") and "already on line 2" in e for e in errors)
    assert any(e.startswith("line 7:") and "kind “planet”" in e for e in errors)
    assert not any(e.startswith("line 2:") for e in errors)
    assert counts() == before


def test_a_file_without_the_columns_is_refused(tmp_path):
    bad = tmp_path / "short.csv"
    bad.write_text("kind,major_code,name\nevent,01,x\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="missing columns: major_name, minor_code"):
        catalogue_load(bad)


def test_the_command_loads_a_file_or_says_why_not(tmp_path, capsys):
    good = tmp_path / "extra.csv"
    good.write_text(HEADER + "event,06,扩展,90,新增小类,3,working_days,normal,general,true,新增 测试\n",
                    encoding="utf-8")
    call_command("load_catalogue", str(good))
    assert "1 created, 0 updated" in capsys.readouterr().out
    added = MinorClass.objects.get(major__kind="event", major__code="06", code="90")
    assert (added.name, added.self_handling, added.keywords) == ("新增小类", True, "新增 测试")

    call_command("load_catalogue")
    assert "0 created, 0 updated" in capsys.readouterr().out

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "event,06,扩展,91,x,1,fortnights,normal,general,false,\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"Nothing was loaded:\nline 2: limit_unit “fortnights”"):
        call_command("load_catalogue", str(bad))
    with pytest.raises(CommandError, match="No such file"):
        call_command("load_catalogue", str(tmp_path / "missing.csv"))


# --- The admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.mark.parametrize("model", ["majorclass", "minorclass", "routingrule", "event", "hotlinecall",
                                   "supervisionorder"])
def test_the_admin_lists_load(admin_client, model, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        response = admin_client.get(f"/admin/dispatch/{model}/")
    assert response.status_code == 200


def test_a_minor_class_edit_in_the_admin_is_checked_and_audited(admin_client, tree):
    minor = MinorClass.objects.get(major__kind="component", name="井盖缺失")
    url = f"/admin/dispatch/minorclass/{minor.pk}/change/"
    assert admin_client.get(url).status_code == 200
    form = {"major": minor.major_id, "code": minor.code, "name": minor.name, "keywords": minor.keywords,
            "is_active": "on", "limit_amount": "3", "limit_unit": "working_hours", "urgency": "urgent",
            "track": "general", "lead_department": tree.bureau.pk, "co_departments": [tree.office_b.pk]}
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "An urgent class runs on calendar time" in response.content.decode()
    minor.refresh_from_db()
    assert (minor.limit_amount, minor.lead_department) == (2, None)

    response = admin_client.post(url, {**form, "limit_unit": "hours"})
    assert response.status_code == 302
    minor.refresh_from_db()
    assert (minor.limit_amount, minor.limit_unit, minor.lead_department) == (3, "hours", tree.bureau)
    assert list(minor.co_departments.all()) == [tree.office_b]
    changes = {}
    for entry in AuditEntry.objects.filter(action="dispatch.minorclass.changed", actor=admin_client.admin):
        changes.update(entry.changes)
    assert changes["limit_amount"] == [2, 3]
    assert changes["lead_department_id"] == [None, tree.bureau.pk]
    assert changes["co_departments"] == [[], [tree.office_b.pk]]


def test_a_routing_rule_must_name_a_minor_class_of_its_major_class(admin_client, tree):
    minor = MinorClass.objects.get(major__kind="event", name="暴露垃圾")
    other_major = MajorClass.objects.get(kind="event", code="05")
    form = {"unit": tree.street_a.pk, "major": other_major.pk, "minor": minor.pk, "department": tree.bureau.pk,
            "note": ""}
    response = admin_client.post("/admin/dispatch/routingrule/add/", form)
    assert response.status_code == 200
    assert "does not belong to the major class" in response.content.decode()
    assert not RoutingRule.objects.exists()

    response = admin_client.post("/admin/dispatch/routingrule/add/", {**form, "major": ""})
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.major == minor.major  # filled in from the minor class
    assert AuditEntry.objects.filter(action="dispatch.routingrule.created", actor=admin_client.admin).exists()


def test_cases_are_shown_but_never_edited_in_the_admin(admin_client, loop):
    event, _ = services.event_report(channel=Channel.GRID, title="垃圾堆", minor=loop.rubbish, lon=loop.inside[0],
                                     lat=loop.inside[1], reporter=loop.worker)
    change = f"/admin/dispatch/event/{event.pk}/change/"
    assert admin_client.get("/admin/dispatch/event/add/").status_code == 403
    page = admin_client.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert event.number in html and 'name="state"' not in html and 'name="title"' not in html
    assert admin_client.post(change, {"state": State.CLOSED, "title": "改了"}).status_code == 403
    event.refresh_from_db()
    assert (event.state, event.title) == (State.REPORTED, "垃圾堆")
    assert Event.objects.count() == 1


def test_only_an_administrator_deletes_a_case_filed_in_error_and_it_is_audited_and_journaled(
        admin_client, loop, django_user_model):
    event, _ = services.event_report(channel=Channel.GRID, title="误报", minor=loop.rubbish, lon=loop.inside[0],
                                     lat=loop.inside[1], reporter=loop.worker)
    delete = f"/admin/dispatch/event/{event.pk}/delete/"
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_event", "delete_event"]))
    client = Client()  # not pytest-django's `client`: admin_client is that one, signed in as the admin
    client.force_login(staff)
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Event.objects.filter(pk=event.pk).exists()
    assert AuditEntry.objects.filter(action="dispatch.event.deleted", object_id=str(event.pk)).exists()
    assert ChangeRecord.objects.filter(model="dispatch.event", object_id=event.pk, op="delete").exists()


def test_minor_classes_edited_inline_on_their_major_class_are_audited(admin_client):
    major = MajorClass.objects.get(kind="event", code="02")
    minors = list(major.minors.order_by("code"))
    url = f"/admin/dispatch/majorclass/{major.pk}/change/"
    assert admin_client.get(url).status_code == 200
    form = {"kind": major.kind, "code": major.code, "name": major.name, "is_active": "on",
            "minors-TOTAL_FORMS": str(len(minors) + 1), "minors-INITIAL_FORMS": str(len(minors)),
            "minors-MIN_NUM_FORMS": "0", "minors-MAX_NUM_FORMS": "1000"}
    for i, minor in enumerate(minors):
        form.update({f"minors-{i}-id": minor.pk, f"minors-{i}-major": major.pk, f"minors-{i}-code": minor.code,
                     f"minors-{i}-name": minor.name, f"minors-{i}-limit_amount": minor.limit_amount,
                     f"minors-{i}-limit_unit": minor.limit_unit, f"minors-{i}-urgency": minor.urgency,
                     f"minors-{i}-track": minor.track, f"minors-{i}-is_active": "on"}
                    | ({f"minors-{i}-self_handling": "on"} if minor.self_handling else {}))
    form["minors-0-limit_amount"] = "2"
    new = len(minors)
    form.update({f"minors-{new}-major": major.pk, f"minors-{new}-code": "90", f"minors-{new}-name": "新增小类",
                 f"minors-{new}-limit_amount": "3", f"minors-{new}-limit_unit": "working_days",
                 f"minors-{new}-urgency": "normal", f"minors-{new}-track": "general", f"minors-{new}-is_active": "on"})
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    changed = AuditEntry.objects.get(action="dispatch.minorclass.changed", actor=admin_client.admin)
    assert changed.object_id == str(minors[0].pk) and changed.changes["limit_amount"] == [1, 2]
    created = AuditEntry.objects.get(action="dispatch.minorclass.created", actor=admin_client.admin)
    assert created.object_repr == "0290 新增小类"
