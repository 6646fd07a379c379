"""The street operator's workbench in Chromium: the queue with its deadline clocks and the clustered
map, bulk acceptance, then one case registered and dispatched from its page."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from dispatch import services
from dispatch.models import Channel, Event, State
from governance.tests.factories import PASSWORD
from grids.tests.gridmaps import lonlat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/")


def grid_report(loop, title: str, x: float, y: float, **fields) -> Event:
    lon, lat = lonlat(x, y)
    event, _created = services.event_report(channel=Channel.GRID, title=title, minor=fields.pop("minor", loop.rubbish),
                                            lon=lon, lat=lat, reporter=loop.worker, **fields)
    return event


def test_the_operator_bulk_accepts_and_dispatches(browser_page, live_server, loop, screenshot):
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    # Three new reports close together (a cluster on the map), one urgent, and older work further on.
    new = [grid_report(loop, "人行道暴露垃圾", 100, 100), grid_report(loop, "垃圾桶满溢", 110, 95),
           grid_report(loop, "井盖缺失", 95, 110, minor=loop.manhole)]
    overdue = grid_report(loop, "绿地垃圾堆放", 420, 380)
    overdue = services.event_accept(event=overdue, actor=loop.operator)
    Event.objects.filter(pk=overdue.pk).update(step_yellow_at=timezone.now() - datetime.timedelta(hours=2),
                                               step_due_at=timezone.now() - datetime.timedelta(minutes=40))
    warned = grid_report(loop, "楼道堆物", 60, 430)
    Event.objects.filter(pk=warned.pk).update(step_yellow_at=timezone.now() - datetime.timedelta(minutes=5),
                                              step_due_at=timezone.now() + datetime.timedelta(minutes=12))

    sign_in(page, live_server.url, loop.operator.username)
    page.goto(live_server.url + "/dispatch/")
    page.wait_for_function("Number(document.getElementById('case-map').dataset.points) === 5")
    page.wait_for_selector(".case-cluster")
    assert page.locator("table.queue tbody tr").count() == 5
    # Urgent first; the overdue and the warned cases carry red and yellow clocks.
    assert "井盖缺失" in page.locator("table.queue tbody tr").first.inner_text()
    assert page.locator(f"tr[data-case='{overdue.pk}'] .clock-red").count() == 1
    assert page.locator(f"tr[data-case='{warned.pk}'] .clock-yellow").count() == 1
    screenshot(page, "dispatch-workbench")

    # The waiting-for-acceptance tab, everything ticked, accepted in one go.
    page.click(".tabs a[data-group=accept]")
    page.wait_for_url("**group=accept**")
    assert page.locator("table.queue tbody tr").count() == 4
    assert page.locator("#bulk-accept").is_disabled()
    page.check("#pick-all")
    assert page.locator("#bulk-accept").is_enabled()
    page.click("#bulk-accept")
    page.wait_for_selector(".msg-success")
    assert Event.objects.filter(pk__in=[e.pk for e in [*new, warned]], state=State.ACCEPTED).count() == 4
    assert page.locator("table.queue tbody tr td.muted").count() == 1  # the tab is empty now
    screenshot(page, "dispatch-workbench-bulk-accepted")

    # One case: register it (its category is already chosen), then dispatch to the routed department.
    page.click(".tabs a[data-group=register]")
    page.click(f"tr[data-case='{new[0].pk}'] a.case-link")
    page.wait_for_selector("#action-register[open]")
    page.click("#action-register button[type=submit]")
    page.wait_for_selector(".msg-success")
    assert Event.objects.get(pk=new[0].pk).state == State.REGISTERED
    assert page.locator("#action-dispatch[open]").count() == 1
    assert loop.tree.bureau.name in page.locator("#action-dispatch").inner_text()
    screenshot(page, "dispatch-case-dispatch-form")
    page.click("#action-dispatch button[type=submit]")
    page.wait_for_selector(".msg-success")
    event = Event.objects.get(pk=new[0].pk)
    assert event.state == State.DISPATCHED and event.department == loop.tree.bureau
    assert page.locator("#case-assignments").is_visible()
    assert page.locator("#case-timeline li").count() == 4  # reported, accepted, registered, dispatched
    screenshot(page, "dispatch-case-dispatched")

    # The same page on a phone: actions first, then the clock and the facts.
    page.set_viewport_size({"width": 412, "height": 860})
    screenshot(page, "dispatch-case-phone")
