"""A grid worker patrols from a phone browser: GPS points queue while offline and arrive once, later."""

import pytest
from django.urls import reverse

from governance.roles import Role
from governance.tests.factories import PASSWORD
from grids import services
from grids.models import GridRole, Patrol, PatrolPoint, PatrolStatus
from grids.tests.fieldwork import make_grid, metres_to_lonlat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def where(dx, dy):
    lon, lat = metres_to_lonlat(dx, dy)
    return {"longitude": lon, "latitude": lat, "accuracy": 5}


@pytest.fixture
def phone(_playwright_browser, live_server):
    """A phone-sized page that lets the site read a (simulated) GPS position."""
    context = _playwright_browser.new_context(
        viewport={"width": 412, "height": 860},
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation=where(10, 100),
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield context, page
    context.close()


def stored(patrol) -> int:
    return PatrolPoint.objects.filter(patrol=patrol).count()


def wait_for_stored(page, patrol, n: int) -> None:
    page.wait_for_function(f"document.getElementById('sync-sent').textContent === '{n}'")
    assert stored(patrol) == n


def test_it_records_a_patrol_through_an_outage(phone, live_server, tree, persona, screenshot):
    context, page = phone
    grid = make_grid(tree.community_a, name="甲一社区第1网格", households=420, residents=1100)
    worker = persona(Role.GRID_WORKER, username="zhang", full_name="张网格")
    services.membership_start(grid=grid, user=worker, grid_role=GridRole.FULL_TIME, phone="13800000001", actor=None)

    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", "zhang")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click("#panel-my-grid h2 a")
    page.wait_for_selector(".grid-map .leaflet-interactive")
    screenshot(page, "grids-my-grid")

    page.click("#start-patrol")
    patrol = Patrol.objects.get(worker=worker, status=PatrolStatus.OPEN)
    wait_for_stored(page, patrol, 1)
    context.set_geolocation(where(60, 100))
    wait_for_stored(page, patrol, 2)

    context.set_offline(True)
    for dx in (100, 140, 190):
        context.set_geolocation(where(dx, 100))
        page.wait_for_function(f"document.getElementById('sync-pending').textContent === '{(dx > 100) + (dx > 140) + 1}'")
    assert page.text_content("#sync-online") == "offline" or "离线" in page.text_content("#sync-online")
    assert stored(patrol) == 2
    screenshot(page, "grids-patrol-offline")

    context.set_offline(False)
    page.wait_for_function("document.getElementById('sync-pending').textContent === '0'")
    wait_for_stored(page, patrol, 5)
    seqs = list(PatrolPoint.objects.filter(patrol=patrol).values_list("seq", flat=True))
    assert len(seqs) == len(set(seqs)) == 5 and seqs == sorted(seqs)

    page.click("#end-patrol")
    page.wait_for_selector("#patrol-distance")
    patrol.refresh_from_db()
    assert patrol.status == PatrolStatus.FINISHED
    assert patrol.distance_m == pytest.approx(180, rel=0.02)
    assert stored(patrol) == 5
    track = page.locator("path.patrol-track")
    assert track.count() == 1 and len(track.get_attribute("d")) > 10
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('gridgov.patrol.')).length") == 0
    screenshot(page, "grids-patrol-track")
