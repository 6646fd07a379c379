"""Celery for real: a worker consuming from the real Redis broker runs the core's periodic job."""

import datetime
import time

import pytest
from django.utils import timezone

from governance.roles import Role
from governance.selectors import units_visible_to
from governance.tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker(redis_url, settings):
    """A Celery worker thread on the real broker (tasks are not eager here)."""
    from celery.contrib.testing.worker import start_worker

    from governance.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=redis_url, task_always_eager=False)
    app.loader.import_default_modules()
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, shutdown_timeout=10):
            yield app
    finally:
        app.conf.update(saved)


def test_the_expiry_job_withdraws_lapsed_permissions_through_the_broker(celery_worker, tree):
    from governance.models import RoleAssignment
    from governance.services import role_assign
    from governance.tasks import assignments_expire

    worker = UserFactory()
    role_assign(user=worker, role=Role.GRID_WORKER, unit=tree.community_a, actor=None,
                started_on=timezone.localdate() - datetime.timedelta(days=30))
    # The assignment lapses by date (as when an administrator sets an end date in advance).
    RoleAssignment.objects.filter(user=worker).update(ended_on=timezone.localdate())
    assert units_visible_to(type(worker).objects.get(pk=worker.pk)).exists()  # permissions still held

    assignments_expire.delay()  # through Redis to the worker thread

    # No result backend in this deployment: watch for the task's effect instead.
    deadline = time.monotonic() + 20
    while units_visible_to(type(worker).objects.get(pk=worker.pk)).exists():
        assert time.monotonic() < deadline, "the worker did not run the job within 20 s"
        time.sleep(0.2)
