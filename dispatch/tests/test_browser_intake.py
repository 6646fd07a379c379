"""On a phone: a grid worker reports with a photo; a citizen reports and tracks the receipt."""

import pytest
from django.urls import reverse

from dispatch.models import Channel, Event, Stage
from dispatch.tests.images import image_bytes
from governance.models import Parameter
from governance.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def phone(browser, point, **extra):
    context = browser.new_context(
        viewport={"width": 412, "height": 860}, locale="zh-CN", permissions=["geolocation"],
        geolocation={"longitude": point[0], "latitude": point[1], "accuracy": 8}, **extra,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def jpeg(name: str, colour: str) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": image_bytes(size=(640, 480), colour=colour, gps=True)}


def test_a_grid_worker_reports_with_a_photo(_playwright_browser, live_server, loop, screenshot):
    context, page = phone(_playwright_browser, loop.inside)
    try:
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", loop.worker.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        page.goto(live_server.url + reverse("dispatch:report"))

        # The position arrives by itself, and the page says which grid it is in.
        page.wait_for_function("document.getElementById('id_lon').value !== ''")
        page.wait_for_selector("#grid-status.ok")
        assert "甲一网格" in page.text_content("#grid-status")
        assert "8" in page.text_content("#gps-status")

        page.fill("#id_title", "小区门口垃圾堆放")
        page.fill("#category-search", "垃圾")
        page.click("#category-results button:has-text('暴露垃圾')")
        assert page.input_value("#id_category") == str(loop.rubbish.pk)
        assert page.is_hidden("#self-handling")  # this class may not be handled on the spot
        page.set_input_files("#id_photos", [jpeg("scene.jpg", "orange")])
        page.wait_for_selector("[data-previews-for=id_photos] img")
        page.fill("#id_description", "约三袋生活垃圾，已有异味")
        screenshot(page, "dispatch-intake-worker-form")

        page.click("#send-report")
        page.wait_for_selector("#report-done")
        event = Event.objects.get()
        assert page.text_content("#case-number") == event.number
        assert event.channel == Channel.GRID and event.grid == loop.grid and event.minor == loop.rubbish
        assert event.attachments.filter(stage=Stage.REPORT).count() == 1
        assert page.get_attribute("#open-case", "href") == reverse("dispatch:case", args=[event.pk])
        screenshot(page, "dispatch-intake-worker-done")

        # A small matter of a self-handling class: the on-the-spot part appears, with its own photos.
        page.click("#report-another")
        page.wait_for_function("document.getElementById('id_lon').value !== ''")
        page.fill("#id_title", "路面散落纸屑")
        page.select_option("#id_category", str(loop.litter.pk))
        page.check("#id_self_handled")
        page.set_input_files("#id_photos", [jpeg("before.jpg", "gray")])
        page.set_input_files("#id_after_photos", [jpeg("after.jpg", "seagreen")])
        page.fill("#id_note", "已清扫干净")
        screenshot(page, "dispatch-intake-worker-self-handled")
        page.click("#send-report")
        page.wait_for_selector("#report-done")
        handled = Event.objects.get(self_handled=True)
        assert handled.state == "closed" and handled.attachments.count() == 2
    finally:
        context.close()


def test_a_citizen_reports_and_tracks_it(_playwright_browser, live_server, loop, screenshot):
    # The live server sees every test from 127.0.0.1, and a Redis cache keeps counts between runs.
    Parameter.objects.create(key="dispatch.citizen_reports_per_hour", value=1000)
    Parameter.objects.create(key="dispatch.receipt_misses_per_hour", value=1000)
    context, page = phone(_playwright_browser, loop.inside)
    try:
        page.goto(live_server.url + reverse("public:report"))
        assert page.locator(".topbar .menu").count() == 0  # no login, no staff menu
        page.fill("#id_title", "路灯不亮")
        page.fill("#id_description", "晚上十点后整条路都是黑的")
        page.click("#use-gps")
        page.wait_for_selector("#gps-status.ok")
        page.set_input_files("#id_photos", [jpeg("lamp.jpg", "navy")])
        page.wait_for_selector("[data-previews-for=id_photos] img")
        page.fill("#id_phone", "13800138000")
        screenshot(page, "dispatch-intake-citizen-form")

        page.click("#send-report")
        page.wait_for_selector("#receipt-code")
        event = Event.objects.get()
        code = event.receipt_code
        assert page.text_content("#receipt-code").strip() == f"{code[:4]}-{code[4:8]}-{code[8:]}"
        assert event.channel == Channel.CITIZEN and event.contact_phone == "13800138000"
        screenshot(page, "dispatch-intake-citizen-receipt")

        page.click("#track-link")
        page.wait_for_selector("#state-now")
        assert page.locator(".timeline li").count() == 1
        assert "13800138000" not in page.content()
        screenshot(page, "dispatch-intake-citizen-track")

        # Typing the code in the track form, in lower case with spaces, finds the same page.
        page.goto(live_server.url + reverse("public:track"))
        page.fill("#id_code", f"{code[:5].lower()} {code[5:]}")
        page.click("button[type=submit]")
        page.wait_for_selector("#state-now")
        assert page.url.endswith(reverse("public:track_case", args=[code]))

        page.goto(live_server.url + reverse("public:track_case", args=["AAAAAAAAAA"]))
        assert page.is_visible("#not-found")
        screenshot(page, "dispatch-intake-citizen-not-found")
    finally:
        context.close()


def test_an_operator_records_hotline_calls(_playwright_browser, live_server, loop, screenshot):
    context = _playwright_browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(live_server.url + reverse("login"))
        page.fill("#id_username", loop.operator.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(live_server.url + "/")
        page.goto(live_server.url + reverse("dispatch:hotline"))
        for part in ("case", "answered", "not_taken"):  # nothing but the outcome chosen is shown
            assert page.is_hidden(f"#outcome-{part}")
        page.fill("#id_caller_name", "王女士")
        page.fill("#id_caller_phone", "13912345678")
        page.check("input[name=request_type][value=help]")
        page.fill("#id_summary", "家中老人摔倒，意识不清")
        page.check("input[name=outcome][value=not_taken]")
        assert page.is_visible("#outcome-not_taken") and page.is_hidden("#outcome-case")
        page.check("input[name=not_taken_reason][value=emergency]")
        screenshot(page, "dispatch-intake-hotline-form")
        page.click("#record-call")
        page.wait_for_selector("#reason-script")
        assert "120" in page.text_content("#reason-script")
        screenshot(page, "dispatch-intake-hotline-not-taken")

        page.click("#next-call")
        page.check("input[name=request_type][value=complaint]")
        page.fill("#id_summary", "小区门口垃圾三天没人清")
        page.check("input[name=outcome][value=case]")
        page.fill("#category-search", "0102")
        page.click("#category-results button")
        page.select_option("#id_unit", str(loop.tree.community_a.pk))
        page.click("#record-call")
        page.wait_for_selector("#receipt-code")
        event = Event.objects.get()
        assert event.channel == Channel.HOTLINE and event.minor == loop.rubbish
        assert page.text_content("#receipt-code").replace("-", "") == event.receipt_code
        screenshot(page, "dispatch-intake-hotline-case")
        page.goto(live_server.url + reverse("dispatch:hotline_list"))
        assert page.locator(".hotline-calls tbody tr").count() == 2
        screenshot(page, "dispatch-intake-hotline-list")
    finally:
        context.close()
