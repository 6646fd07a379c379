"""The whole closed loop in Chromium with four people, each in their own browser:
a grid worker reports with a photo (phone) → the street operator accepts, registers and dispatches →
the department handler signs and handles with a photo → the grid worker verifies on the spot → closed
→ the operator records the call-back → evaluated. The citizen's part (report, receipt, track) is
``test_browser_intake.test_a_citizen_reports_and_tracks_it``; here the citizen rates a closed case."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dispatch import services
from dispatch.models import Channel, Event, Stage, State
from dispatch.tests.images import image_bytes
from governance.models import Parameter
from governance.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def jpeg(name: str, colour: str) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": image_bytes(size=(640, 480), colour=colour, gps=True)}


class Person:
    """One person's own browser (cookies, viewport), signed in."""

    def __init__(self, browser, base_url: str, user, *, phone: bool, point=None):
        options = {"viewport": {"width": 412, "height": 860} if phone else {"width": 1366, "height": 900},
                   "locale": "zh-CN"}
        if point is not None:
            options.update(permissions=["geolocation"],
                           geolocation={"longitude": point[0], "latitude": point[1], "accuracy": 6})
        self.context = browser.new_context(**options)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.base = base_url
        if user is not None:
            self.page.goto(base_url + reverse("login"))
            self.page.fill("#id_username", user.username)
            self.page.fill("#id_password", PASSWORD)
            self.page.click("button[type=submit]")
            self.page.wait_for_url(base_url + "/")

    def open_case(self, event: Event):
        self.page.goto(self.base + reverse("dispatch:case", args=[event.pk]))
        self.page.wait_for_selector("#case-actions")

    def act(self, key: str):
        """Open the action's panel (if closed) and submit it; wait for the success message."""
        panel = self.page.locator(f"#action-{key}")
        if panel.get_attribute("open") is None:
            panel.locator("summary").click()
        panel.locator("button[type=submit]").click()
        self.page.wait_for_selector(".msg-success")


def test_the_closed_loop_with_four_roles(_playwright_browser, live_server, loop, screenshot):
    browser, url = _playwright_browser, live_server.url
    worker = Person(browser, url, loop.worker, phone=True, point=loop.inside)
    operator = Person(browser, url, loop.operator, phone=False)
    handler = Person(browser, url, loop.handler, phone=False)
    try:
        # 1. The grid worker reports from the phone: GPS position, category, photo.
        page = worker.page
        page.goto(url + reverse("dispatch:report"))
        page.wait_for_selector("#grid-status.ok")
        page.fill("#id_title", "小区门口垃圾堆放")
        page.fill("#category-search", "垃圾")
        page.click("#category-results button:has-text('暴露垃圾')")
        page.set_input_files("#id_photos", [jpeg("scene.jpg", "orange")])
        page.wait_for_selector("[data-previews-for=id_photos] img")
        page.fill("#id_description", "约三袋生活垃圾")
        page.click("#send-report")
        page.wait_for_selector("#report-done")
        event = Event.objects.get()
        assert event.state == State.REPORTED and event.grid == loop.grid
        assert event.attachments.filter(stage=Stage.REPORT).count() == 1
        screenshot(page, "loop-1-worker-reported")

        # 2. The street operator finds it on the workbench, accepts, registers and dispatches.
        page = operator.page
        page.goto(url + reverse("dispatch:workbench"))
        page.click(f"tr[data-case='{event.pk}'] a.case-link")
        page.wait_for_selector("#case-actions")
        assert page.locator("#case-photos img").count() >= 1
        operator.act("accept")
        operator.act("register")
        assert loop.tree.bureau.name in page.locator("#action-dispatch").inner_text()
        operator.act("dispatch")
        event.refresh_from_db()
        assert event.state == State.DISPATCHED and event.department == loop.tree.bureau
        screenshot(page, "loop-2-operator-dispatched")

        # 3. The handler signs, then reports it handled with a photo; it goes on to verification.
        page = handler.page
        page.goto(url + reverse("dispatch:department_queue"))
        page.click(f"a[href='{reverse('dispatch:case', args=[event.pk])}']")
        page.wait_for_selector("#case-actions")
        handler.act("sign")
        panel = page.locator("#action-handle")
        if panel.get_attribute("open") is None:
            panel.locator("summary").click()
        page.fill("#id_handle-note", "已清运，现场已冲洗")
        page.set_input_files("#id_handle-photos", [jpeg("after.jpg", "seagreen")])
        screenshot(page, "loop-3-handler-handling")
        panel.locator("button[type=submit]").click()
        page.wait_for_selector(".msg-success")
        event.refresh_from_db()
        assert event.state == State.VERIFYING and event.verifier == loop.worker
        assert event.attachments.filter(stage=Stage.AFTER).count() == 1

        # 4. The grid worker verifies on the spot from the phone: passed, case closed.
        page = worker.page
        page.goto(url + reverse("dispatch:verify_queue"))
        page.click(f"a[href='{reverse('dispatch:case', args=[event.pk])}']")
        page.wait_for_selector("#case-actions")
        panel = page.locator("#action-verify")
        if panel.get_attribute("open") is None:
            panel.locator("summary").click()
        page.check("input[name='verify-result'][value='pass']")
        screenshot(page, "loop-4-worker-verifying")
        panel.locator("button[type=submit]").click()
        page.wait_for_selector(".msg-success")
        event.refresh_from_db()
        assert event.state == State.CLOSED

        # 5. The operator calls the reporter back: contacted, solved, satisfied → evaluated.
        page = operator.page
        operator.open_case(event)
        panel = page.locator("#action-evaluate")
        if panel.get_attribute("open") is None:
            panel.locator("summary").click()
        page.check("input[name='evaluate-contacted'][value='yes']")
        page.check("input[name='evaluate-solved'][value='yes']")
        page.check("input[name='evaluate-satisfaction'][value='satisfied']")
        panel.locator("button[type=submit]").click()
        page.wait_for_selector(".msg-success")
        event.refresh_from_db()
        assert event.state == State.EVALUATED and event.satisfaction == "satisfied"
        actions = list(event.history.values_list("action", flat=True))
        assert actions == ["report", "accept", "register", "dispatch", "sign", "handle", "send_to_verify",
                           "verify_pass", "evaluate"]
        assert page.locator("#case-timeline li").count() == len(actions)
        screenshot(page, "loop-5-evaluated-timeline")
    finally:
        for person in (worker, operator, handler):
            person.context.close()


def test_a_citizen_tracks_a_closed_case_and_rates_it(_playwright_browser, live_server, loop, screenshot):
    Parameter.objects.create(key="dispatch.receipt_misses_per_hour", value=1000)
    event, _ = services.event_report(channel=Channel.CITIZEN, title="路灯不亮", lon=loop.inside[0], lat=loop.inside[1],
                                     minor=loop.rubbish, contact_phone="13800138000")
    for step in (services.event_accept, services.event_register, services.event_dispatch):
        event = step(event=event, actor=loop.operator)
    event = services.event_sign(event=event, actor=loop.handler)
    event = services.event_handle(event=event, actor=loop.handler, note="已维修")
    event = services.event_verify(event=event, actor=loop.operator, passed=True)
    citizen = Person(_playwright_browser, live_server.url, None, phone=True)
    try:
        page = citizen.page
        page.goto(live_server.url + reverse("public:track"))
        page.fill("#id_code", event.receipt_code)
        page.click("button[type=submit]")
        page.wait_for_selector("#state-now")
        assert "13800138000" not in page.content()
        page.check("input[name=satisfaction][value=basically]")
        screenshot(page, "loop-6-citizen-rating")
        page.click("#send-rating")
        page.wait_for_selector("#rated")
        event.refresh_from_db()
        assert event.state == State.EVALUATED and event.satisfaction == "basically"
    finally:
        citizen.context.close()
