"""Two roles sign in through the real login page in Chromium and see their own home pages,
once in Chinese (the default) and once in English."""

import pytest

from governance.roles import Role
from governance.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    assert "/login/" in page.url  # every page needs login
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base_url + "/")


def sign_out(page) -> None:
    page.click(".menu summary")
    page.click("form[action='/logout/'] button")
    page.wait_for_url("**/login/")


def test_two_roles_see_their_own_home_pages_in_chinese_and_english(
    browser_page, live_server, tree, persona, screenshot
):
    page = browser_page
    operator = persona(Role.STREET_OPERATOR, unit=tree.street_a, username="operator_a", full_name="赵街道")
    handler = persona(Role.DEPARTMENT_HANDLER, username="handler_a", full_name="陈城管")

    # In Chinese, the default.
    sign_in(page, live_server.url, operator.username)
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == "您好，赵街道"
    assert page.locator("#panel-jurisdiction").is_visible()
    assert tree.street_a.name in page.locator("#panel-jurisdiction").inner_text()
    assert page.locator("#panel-department").count() == 0
    screenshot(page, "home-street-operator-zh")
    sign_out(page)

    sign_in(page, live_server.url, handler.username)
    assert page.locator("#panel-department").is_visible()
    assert tree.bureau.name in page.locator("#panel-department").inner_text()
    assert page.locator("#panel-jurisdiction").count() == 0
    assert "我的角色" in page.locator("#panel-roles").inner_text()

    # Switch to English from the footer: the choice sticks for the rest of the session.
    page.click("footer button[value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Hello, 陈城管"
    assert "My department" in page.locator("#panel-department").inner_text()
    screenshot(page, "home-department-handler-en")
    sign_out(page)

    sign_in(page, live_server.url, operator.username)
    assert "My jurisdiction" in page.locator("#panel-jurisdiction").inner_text()
    page.click(".menu summary")
    screenshot(page, "home-street-operator-en-menu")
    nav = page.locator("nav.nav").inner_text()
    assert "Units" in nav and "Administration" not in nav
