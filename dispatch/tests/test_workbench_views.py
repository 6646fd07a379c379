"""The command-centre workbench, its map and bulk actions, the department and verification queues,
the home panels and the navigation — each for the right people, scoped, and without N+1 queries."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from dispatch import services
from dispatch.models import Channel, Event, State
from dispatch.tests.flow import bring_to, report
from dispatch.views import workbench as workbench_views
from governance.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Pages in English, the language the messages are asserted in."""
    return Client(headers={"Accept-Language": "en"})


def queue(client, **params):
    return client.get(reverse("dispatch:workbench"), params)


def numbers(response) -> list[str]:
    return [e.number for e in response.context["page"].object_list]


def street_b_case(loop):
    """A citizen's report with a location in street B (outside every grid): the outsider's case."""
    event, _created = services.event_report(channel=Channel.CITIZEN, title="乙街道的坑", unit=loop.tree.community_b,
                                            lon=loop.outside[0], lat=loop.outside[1])
    return event


# --- Who may open which queue --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STREET_OPERATOR, Role.DISTRICT_DISPATCHER, Role.COMMUNITY_STAFF, Role.LEADER,
                                  Role.ADMINISTRATOR])
def test_it_opens_the_workbench_for_command_roles_and_leaders(client, loop, persona, role):
    report(loop)
    client.force_login(persona(role))
    response = queue(client)
    assert response.status_code == 200
    assert len(numbers(response)) == 1


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.DEPARTMENT_HANDLER, Role.MEDIATOR])
def test_it_refuses_the_workbench_to_others(client, loop, persona, role):
    client.force_login(persona(role))
    assert queue(client).status_code == 403
    assert client.get(reverse("dispatch:map_points")).status_code == 403
    assert client.post(reverse("dispatch:bulk"), {"action": "accept"}).status_code == 403


def test_the_queue_shows_only_cases_in_scope(client, loop):
    mine = report(loop)
    theirs = street_b_case(loop)
    client.force_login(loop.operator)
    assert numbers(queue(client)) == [mine.number]
    client.force_login(loop.outsider)
    assert numbers(queue(client)) == [theirs.number]
    client.force_login(loop.dispatcher)
    assert set(numbers(queue(client))) == {mine.number, theirs.number}


def test_department_queue_is_for_handlers(client, loop):
    dispatched = bring_to(loop, State.DISPATCHED)
    in_progress = bring_to(loop, State.IN_PROGRESS)
    report(loop, title="未派遣")
    client.force_login(loop.handler)
    url = reverse("dispatch:department_queue")
    response = client.get(url)
    assert response.status_code == 200
    assert numbers(response) == [dispatched.number]
    assert numbers(client.get(url, {"group": "progress"})) == [in_progress.number]
    tabs = {t["key"]: t["count"] for t in response.context["tabs"]}
    assert tabs == {"sign": 1, "progress": 1, "rework": 0, "due": 0}
    client.force_login(loop.operator)
    assert client.get(url).status_code == 403


def test_department_queue_lists_summoned_cases_to_sign(client, loop, persona):
    event = bring_to(loop, State.IN_PROGRESS)
    services.event_summon(event=event, actor=loop.operator, departments=[loop.tree.office_b], note="请到场")
    office_handler = persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b)
    client.force_login(office_handler)
    assert numbers(client.get(reverse("dispatch:department_queue"))) == [event.number]


def test_verify_queue_is_for_grid_workers(client, loop, persona):
    waiting = bring_to(loop, State.VERIFYING)
    bring_to(loop, State.IN_PROGRESS)
    client.force_login(loop.worker)
    response = client.get(reverse("dispatch:verify_queue"))
    assert response.status_code == 200
    assert [e.number for e in response.context["to_verify"]] == [waiting.number]
    assert len(response.context["reports"]) == 2  # his own reports
    # A grid worker not on this grid's team, with a case of his own, sees his report but nothing to verify.
    other = persona(Role.GRID_WORKER)
    client.force_login(other)
    response = client.get(reverse("dispatch:verify_queue"))
    assert response.context["to_verify"] == [] and response.context["reports"] == []
    client.force_login(loop.handler)
    assert client.get(reverse("dispatch:verify_queue")).status_code == 403


# --- Tabs, filters and order ---------------------------------------------------------------------


def test_tabs_count_each_queue_group(client, loop):
    report(loop)
    bring_to(loop, State.ACCEPTED)
    bring_to(loop, State.REGISTERED)
    bring_to(loop, State.RETURNED)
    bring_to(loop, State.IN_PROGRESS)
    bring_to(loop, State.VERIFYING)
    bring_to(loop, State.CLOSED)
    client.force_login(loop.operator)
    response = queue(client)
    counts = {t["key"]: t["count"] for t in response.context["tabs"]}
    assert counts["accept"] == counts["register"] == counts["dispatch"] == counts["returned"] == 1
    assert counts["departments"] == 1 and counts["verify"] == 1 and counts["callback"] == 1
    assert counts["open"] == 6
    # The archive (every year's closed cases) is counted only when its tab is open.
    assert counts["closed"] is None
    closed = queue(client, group="closed")
    assert len(numbers(closed)) == 1 and {t["key"]: t["count"] for t in closed.context["tabs"]}["closed"] == 1
    accepted = queue(client, group="register")
    assert [e.state for e in accepted.context["page"].object_list] == [State.ACCEPTED]


def test_the_closed_tab_lists_and_counts_finished_and_dead_cases_alike(client, loop, monkeypatch):
    finished = [bring_to(loop, state) for state in (State.CLOSED, State.EVALUATED, State.EVALUATED, State.INVALID,
                                                     State.NOT_REGISTERED)]
    bring_to(loop, State.IN_PROGRESS)
    monkeypatch.setattr(workbench_views, "PAGE_SIZE", 2)
    client.force_login(loop.operator)
    first = queue(client, group="closed")
    assert {t["key"]: t["count"] for t in first.context["tabs"]}["closed"] == 5
    assert first.context["page"].paginator.num_pages == 3
    shown = [number for page in (1, 2, 3) for number in numbers(queue(client, group="closed", page=page))]
    assert shown == [e.number for e in reversed(finished)]  # the archive reads newest first
    assert b'<span class="count">5</span>' in first.content


def test_rows_read_state_and_channel_as_djangos_own_display_would():
    """Event's get_state_display / get_channel_display (cheaper, for every row) answer as Django's."""
    with translation.override("zh-hans"):
        for field, values in (("state", [*State.values, "unknown"]), ("channel", [*Channel.values, "unknown"])):
            for value in values:
                event = Event(**{field: value})
                djangos = Model._get_FIELD_display(event, Event._meta.get_field(field))
                assert str(getattr(event, f"get_{field}_display")()) == str(djangos)


def test_urgent_cases_come_first_then_the_earliest_due(client, loop):
    normal = report(loop, title="普通")
    urgent = report(loop, title="井盖", minor=loop.manhole)
    later_normal = report(loop, title="普通二")
    client.force_login(loop.operator)
    assert numbers(queue(client)) == [urgent.number, normal.number, later_normal.number]


def test_filters_by_channel_urgency_category_unit_and_time(client, loop):
    grid_case = report(loop)
    urgent = report(loop, title="井盖", minor=loop.manhole)
    hotline, _c = services.event_report(channel=Channel.HOTLINE, title="来电", unit=loop.tree.community_a)
    client.force_login(loop.dispatcher)
    assert numbers(queue(client, channel="hotline")) == [hotline.number]
    assert numbers(queue(client, urgency="urgent")) == [urgent.number]
    assert numbers(queue(client, minor=loop.rubbish.pk)) == [grid_case.number]
    assert set(numbers(queue(client, major=loop.rubbish.major_id))) == {grid_case.number, urgent.number}
    assert len(numbers(queue(client, unit=loop.tree.community_a.pk))) == 3
    assert numbers(queue(client, unit=loop.tree.street_b.pk)) == []
    assert numbers(queue(client, q=urgent.number)) == [urgent.number]
    today = timezone.localdate()
    assert len(numbers(queue(client, since=today.isoformat(), until=today.isoformat()))) == 3
    assert numbers(queue(client, since=(today + datetime.timedelta(days=1)).isoformat())) == []


def test_the_unit_filter_offers_units_in_scope_only(client, loop):
    client.force_login(loop.operator)
    units = list(queue(client).context["filterset"].form.fields["unit"].queryset)
    assert loop.tree.street_a in units and loop.tree.community_a in units
    assert loop.tree.street_b not in units and loop.tree.district not in units


def test_deadline_filter_and_clock_colours(client, loop):
    on_time = report(loop, title="准时")
    yellow = report(loop, title="黄牌")
    red = report(loop, title="超时")
    now = timezone.now()
    Event.objects.filter(pk=yellow.pk).update(step_yellow_at=now - datetime.timedelta(minutes=5),
                                              step_due_at=now + datetime.timedelta(minutes=30))
    Event.objects.filter(pk=red.pk).update(step_yellow_at=now - datetime.timedelta(hours=2),
                                           step_due_at=now - datetime.timedelta(hours=1))
    client.force_login(loop.operator)
    assert numbers(queue(client, alert="red")) == [red.number]
    assert numbers(queue(client, alert="yellow")) == [yellow.number]
    response = queue(client)
    colours = {e.number: e.clock.colour for e in response.context["page"].object_list}
    assert colours == {red.number: "red", yellow.number: "yellow", on_time.number: "ok"}
    body = response.content.decode()
    assert "clock-red" in body and "overdue by" in body and "clock-yellow" in body
    assert {t["key"]: t["count"] for t in response.context["tabs"]}["overdue"] == 1


def test_the_queue_is_paginated(client, loop, monkeypatch):
    monkeypatch.setattr(workbench_views, "PAGE_SIZE", 2)
    for i in range(5):
        report(loop, title=f"第{i}件")
    client.force_login(loop.operator)
    first = queue(client)
    assert len(numbers(first)) == 2 and first.context["page"].paginator.num_pages == 3
    last = queue(client, page=3)
    assert len(numbers(last)) == 1


def test_the_workbench_does_not_query_per_row(client, loop, django_assert_max_num_queries):
    for i in range(3):
        report(loop, title=f"第{i}件")
    bring_to(loop, State.DISPATCHED)
    client.force_login(loop.operator)
    queue(client)
    # 19: the tab counts take one query per part of the operator's scope (by place, by owner, own reports).
    with django_assert_max_num_queries(19) as few:
        queue(client)
    for i in range(12):
        report(loop, title=f"又一件{i}")
    bring_to(loop, State.IN_PROGRESS)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = queue(client)
    assert len(numbers(response)) == 17


# --- The map -------------------------------------------------------------------------------------


def test_map_points_are_scoped_open_and_located(client, loop):
    open_case = report(loop)
    bring_to(loop, State.CLOSED)
    services.event_report(channel=Channel.HOTLINE, title="无坐标", unit=loop.tree.community_a)
    theirs = street_b_case(loop)
    client.force_login(loop.operator)
    data = client.get(reverse("dispatch:map_points")).json()
    assert [p[0] for p in data["points"]] == [open_case.pk]
    pk, lon, lat, colour, number, title, state = data["points"][0]
    assert (lon, lat) == (pytest.approx(open_case.lon), pytest.approx(open_case.lat))
    assert colour == "ok" and number == open_case.number and state == "Reported"
    assert data["truncated"] is False
    client.force_login(loop.outsider)
    data = client.get(reverse("dispatch:map_points")).json()
    assert [p[0] for p in data["points"]] == [theirs.pk]


def test_map_points_follow_the_filters_and_are_capped(client, loop, monkeypatch):
    report(loop)
    report(loop, title="井盖", minor=loop.manhole)
    report(loop, title="又一堆")
    client.force_login(loop.operator)
    data = client.get(reverse("dispatch:map_points"), {"urgency": "urgent"}).json()
    assert len(data["points"]) == 1
    monkeypatch.setattr(workbench_views, "MAP_POINTS_CAP", 2)
    data = client.get(reverse("dispatch:map_points")).json()
    assert len(data["points"]) == 2 and data["truncated"] is True


def test_the_workbench_page_carries_the_map(client, loop):
    client.force_login(loop.operator)
    response = queue(client, channel="grid")
    body = response.content.decode()
    assert 'id="case-map"' in body and "leaflet.markercluster.js" in body
    config = response.context["map_config"]
    assert config["pointsUrl"].startswith(reverse("dispatch:map_points")) and "channel=grid" in config["pointsUrl"]


# --- Bulk actions --------------------------------------------------------------------------------


def bulk(client, action, events, versions=None, **extra):
    cases = [f"{e.pk}:{(versions or {}).get(e.pk, e.version)}" for e in events]
    return client.post(reverse("dispatch:bulk"), {"action": action, "cases": cases,
                                                  "next": reverse("dispatch:workbench") + "?group=accept", **extra})


def test_bulk_accept_goes_on_past_a_stale_case(client, loop):
    cases = [report(loop, title=f"第{i}件") for i in range(3)]
    shown = {e.pk: e.version for e in cases}
    # Someone else corrects the middle case after the operator's page was rendered.
    services.event_edit(event=cases[1], actor=loop.dispatcher, title="已更正")
    client.force_login(loop.operator)
    response = bulk(client, "accept", cases, versions=shown)
    assert response.status_code == 302 and response.url == reverse("dispatch:workbench") + "?group=accept"
    states = {e.pk: e.state for e in Event.objects.filter(pk__in=[c.pk for c in cases])}
    assert states == {cases[0].pk: State.ACCEPTED, cases[1].pk: State.REPORTED, cases[2].pk: State.ACCEPTED}
    texts = [str(m) for m in response.wsgi_request._messages]
    assert any(cases[0].number in t and cases[2].number in t and t.startswith("Accepted 2 cases") for t in texts)
    assert any(t.startswith(cases[1].number) and "Someone else changed this case" in t for t in texts)


def test_bulk_dispatch_routed_and_to_a_chosen_department(client, loop):
    routed = [bring_to(loop, State.REGISTERED) for _ in range(2)]
    chosen = bring_to(loop, State.REGISTERED)
    not_ready = report(loop)
    client.force_login(loop.operator)
    bulk(client, "dispatch", [*routed, not_ready])
    for event in routed:
        event.refresh_from_db()
        assert event.state == State.DISPATCHED and event.department == loop.tree.bureau
    assert Event.objects.get(pk=not_ready.pk).state == State.REPORTED
    bulk(client, "dispatch", [chosen], department=loop.tree.office_b.pk)
    chosen.refresh_from_db()
    assert chosen.state == State.DISPATCHED and chosen.department == loop.tree.office_b


def test_bulk_skips_cases_out_of_scope(client, loop):
    theirs = street_b_case(loop)
    client.force_login(loop.operator)
    response = bulk(client, "accept", [theirs])
    assert Event.objects.get(pk=theirs.pk).state == State.REPORTED
    assert any("not found" in str(m) for m in response.wsgi_request._messages)


def test_bulk_needs_ticked_cases_and_refuses_a_foreign_next(client, loop):
    client.force_login(loop.operator)
    response = client.post(reverse("dispatch:bulk"), {"action": "accept", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("dispatch:workbench")
    assert any("Tick the cases first." in str(m) for m in response.wsgi_request._messages)


# --- Home panels, navigation, grid map measure ---------------------------------------------------


def test_home_panels_per_role(client, loop, persona, django_assert_max_num_queries):
    report(loop)
    bring_to(loop, State.DISPATCHED)
    bring_to(loop, State.VERIFYING)
    event = bring_to(loop, State.IN_PROGRESS)
    services.event_list_supervision(event=event, actor=persona(Role.LEADER), listed=True)

    client.force_login(loop.operator)
    body = client.get(reverse("home")).content.decode()
    assert 'id="panel-dispatch-command"' in body and reverse("dispatch:workbench") + "?group=accept" in body

    client.force_login(loop.handler)
    response = client.get(reverse("home"))
    panel = next(p for p in response.context["panels"] if p["template"] == "dispatch/panels/department.html")
    assert {q["key"]: q["count"] for q in panel["queues"]}["sign"] == 1

    client.force_login(loop.worker)
    response = client.get(reverse("home"))
    panel = next(p for p in response.context["panels"] if p["template"] == "dispatch/panels/grid.html")
    assert panel["to_verify"] == 1 and panel["my_open"] == 4
    assert reverse("dispatch:report") in response.content.decode()

    client.force_login(persona(Role.LEADER))
    with django_assert_max_num_queries(30):
        response = client.get(reverse("home"))
    panel = next(p for p in response.context["panels"] if p["template"] == "dispatch/panels/leader.html")
    assert panel["listed"] == 1 and panel["open"] == 4


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    (Role.STREET_OPERATOR, ["dispatch:workbench", "dispatch:report", "dispatch:hotline"],
     ["dispatch:verify_queue", "dispatch:department_queue"]),
    (Role.GRID_WORKER, ["dispatch:verify_queue", "dispatch:report"],
     ["dispatch:workbench", "dispatch:hotline", "dispatch:department_queue"]),
    (Role.DEPARTMENT_HANDLER, ["dispatch:department_queue"], ["dispatch:workbench", "dispatch:report"]),
    (Role.LEADER, ["dispatch:workbench"], ["dispatch:report", "dispatch:hotline"]),
])
def test_navigation_per_role(client, loop, persona, role, shown, hidden):
    client.force_login(persona(role))
    response = client.get(reverse("home"))
    urls = [item["url"] for item in response.context["nav_items"]]
    for name in shown:
        assert reverse(name) in urls
    for name in hidden:
        assert reverse(name) not in urls


def test_navigation_marks_the_deepest_section(client, loop):
    client.force_login(loop.operator)
    response = client.get(reverse("dispatch:report"))
    active = [item["url"] for item in response.context["nav_items"] if item["active"]]
    assert active == [reverse("dispatch:report")]


def test_the_grid_map_counts_open_cases(client, loop):
    report(loop)
    report(loop, title="又一堆")
    bring_to(loop, State.CLOSED)
    client.force_login(loop.operator)
    data = json.loads(client.get(reverse("grids-api:grid_geojson")).content)
    feature = next(f for f in data["features"] if f["id"] == loop.grid.pk)
    assert feature["properties"]["measures"]["open_cases"] == 2
