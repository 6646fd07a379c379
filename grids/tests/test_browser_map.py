"""An administrator imports a GeoJSON file (dry run, confirm) and sees the grids on the map, in Chromium."""

import json

import pytest

from governance.roles import Role
from governance.tests.test_browser_home import sign_in
from grids.models import Grid
from grids.tests.gridmaps import rect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_imports_grids_and_sees_them_on_the_map(
    browser_page, live_server, tree, persona, screenshot, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path
    admin = persona(Role.ADMINISTRATOR)
    code = tree.community_a.code
    features = [{"type": "Feature", "geometry": rect(0, 0, 1000, 1000), "properties": {"code": code, "name": "甲一社区"}}]
    for i in range(4):
        x, y = (i % 2) * 500, (i // 2) * 500
        features.append({"type": "Feature", "geometry": rect(x, y, x + 500, y + 500),
                         "properties": {"code": f"{code}{i + 1:02d}", "name": f"甲一第{i + 1}网格",
                                        "households": 250 + 100 * i}})
    features.append({"type": "Feature", "geometry": None, "properties": {"code": f"{code}09", "name": "坏的"}})
    upload = tmp_path / "grids.geojson"
    upload.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False))

    page = browser_page
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.set_viewport_size({"width": 1024, "height": 900})
    sign_in(page, live_server.url, admin.username)
    page.goto(live_server.url + "/grids/import/")
    page.set_input_files("#import-file", str(upload))
    page.select_option("#import-crs", "wgs84")
    page.click("#import-upload button[type=submit]")
    page.wait_for_selector("#import-plan")
    assert page.locator("#import-plan tbody tr").count() == 6
    assert page.locator("#import-plan .row-invalid").count() == 1
    screenshot(page, "grids-import")
    assert not Grid.objects.exists()

    page.check("input[name=valid_only]")
    page.click("#import-confirm button[type=submit]")
    page.wait_for_url("**/grids/map/")
    assert Grid.objects.count() == 4
    page.wait_for_function("document.querySelectorAll('#grid-map path.leaflet-interactive').length >= 4")
    assert page.locator("#grid-map svg path").count() >= 5  # 4 grids + the community boundary
    page.wait_for_timeout(600)  # let the zoom animation of fitBounds finish
    page.locator("#grid-map path.leaflet-interactive").first.click(force=True)
    try:
        page.wait_for_selector("#grid-card:not([hidden]) h2")
    finally:
        page.mouse.move(0, 0)
        page.wait_for_timeout(300)  # let Leaflet redraw after the card changed the page's height
        screenshot(page, "grids-map")
    assert errors == []
    assert "甲一第" in page.inner_text("#grid-card")
    screenshot(page, "grids-map")
