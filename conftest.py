"""Fixtures shared by every app's tests: personas in a small unit tree, a real browser, real Redis."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"


def _missing(reason: str):
    """Skip on a developer's machine; in CI a missing service is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must run this test)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _playwright_browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("browser tests need the playwright package (pip install -r requirements-dev.txt)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
    # page actions are still synchronous, so Django's async-safety guard is lifted for the session.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_playwright_browser, live_server):
    """A fresh phone-sized page (grid workers use phones); ``page.goto(live_server.url + path)``."""
    context = _playwright_browser.new_context(viewport={"width": 412, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, "name")`` saves test-artifacts/<name>.png for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def _default_language(settings):
    """Each test starts in the platform's default language (a previous request may have switched it)."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Unit tests run Celery tasks in-process even when REDIS_URL is set (as in CI); only tests marked
    ``integration`` talk to the real broker, through a real worker."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    from governance.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        _missing("integration tests need a real Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    return url


@pytest.fixture
def tree(db):
    from governance.tests.factories import build_tree

    return build_tree()


@pytest.fixture
def persona(tree):
    """``persona(Role.STREET_OPERATOR)`` → a user holding that role in the usual place of ``tree``
    (street roles in street A, community roles in community A, district roles in the district,
    department handlers in the bureau); ``persona(role, unit=…)`` to choose the place."""
    from governance.roles import DEPARTMENT_ROLES
    from governance.tests.factories import ROLE_UNIT, person

    def make(role, *, unit=None, department=None, **fields):
        if role in DEPARTMENT_ROLES:
            return person(role, department=department or tree.bureau, **fields)
        return person(role, unit=unit or getattr(tree, ROLE_UNIT[role]), **fields)

    return make


def pytest_configure(config):
    # Tests create many users; the production hasher's million PBKDF2 rounds cost ~0.4 s each.
    # Password checks still run for real, only with a cheap hash.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def token_for(db):
    """``token_for(user, scopes=[...], rate=None)`` → a DRF APIClient sending a new client's bearer token."""
    from rest_framework.test import APIClient

    from governance.api.auth import token_issue
    from governance.api.scopes import SCOPES
    from governance.models import ApiClient

    made = []

    def make(user, *, scopes=None, rate: str = "", name: str | None = None) -> APIClient:
        client = ApiClient.objects.create(name=name or f"client-{len(made) + 1}-{user.pk}", account=user,
                                          scopes=list(SCOPES) if scopes is None else list(scopes), rate_limit=rate)
        token, key = token_issue(client=client)
        api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        api.api_client, api.token, api.key = client, token, key
        made.append(api)
        return api

    return make


@pytest.fixture(autouse=True)
def _fresh_rate_counters(monkeypatch):
    """API rate counters in a cache of their own per test: ids are reused across tests (SQLite rolls
    its sequences back), and no test may spend another's requests."""
    import uuid

    from django.core.cache.backends.locmem import LocMemCache

    from governance.api.throttling import ApiRateThrottle

    monkeypatch.setattr(ApiRateThrottle, "cache", LocMemCache(f"rates-{uuid.uuid4()}", {}))


@pytest.fixture(autouse=True)
def _grids_version_read_fresh():
    """Each test reads the grids' version stamp afresh: the previous test's grids were rolled back
    without a signal, and the stamp is otherwise trusted for a couple of seconds (grids.selectors)."""
    from grids.selectors import _VersionMemo

    _VersionMemo.value = None
