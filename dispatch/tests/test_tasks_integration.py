"""Celery for real: a worker on the real Redis broker runs the deadline sweep, and follow-up work
that could not be sent while Redis was down runs once it is back."""

import datetime
import time

import pytest
from django.db import OperationalError
from django.utils import timezone

from dispatch import services
from dispatch.models import Alert, Channel, Event, SupervisionOrder, Transition
from dispatch.sweep import LOCK_KEY
from governance.models import Notification

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLOSED_PORT_BROKER = "redis://127.0.0.1:6390/0"  # nothing listens there: Redis is "down"


def use_broker(app, url: str) -> None:
    """Point the app's producers at ``url`` (the producer pools are built from the first URL used,
    so they are dropped and rebuilt on the next send)."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def celery_app(redis_url):
    from governance.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(task_always_eager=False)
    use_broker(app, redis_url)
    app.loader.import_default_modules()
    yield app
    use_broker(app, saved["broker_url"])
    app.conf.update(saved)


@pytest.fixture(autouse=True)
def _no_sweep_lock():
    from django.core.cache import cache

    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def wait_for(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not _safely(check):
        assert time.monotonic() < deadline, f"the worker did not {what} within {seconds:.0f} s"
        time.sleep(0.2)


def _safely(check) -> bool:
    # The SQLite test database is shared in memory between this thread and the worker's; a read
    # while the worker writes gets "table is locked" instead of waiting. Look again later.
    try:
        return check()
    except OperationalError:
        return False


def report(loop, **kw):
    kw = {"channel": Channel.GRID, "title": "垃圾堆", "minor": loop.rubbish, "lon": loop.inside[0],
          "lat": loop.inside[1], "reporter": loop.worker, **kw}
    event, _ = services.event_report(**kw)
    return event


def dispatched(loop):
    event = services.event_register(event=services.event_accept(event=report(loop), actor=loop.operator),
                                    actor=loop.operator)
    return services.event_dispatch(event=event, actor=loop.operator)


def test_the_sweep_sent_through_redis_marks_and_escalates_overdue_cases(celery_app, loop):
    from celery.contrib.testing.worker import start_worker

    from dispatch.tasks import sweep

    cases = [dispatched(loop) for _ in range(3)]
    on_time = report(loop)
    # The three dispatched cases were due to be signed an hour ago (as if dispatched yesterday).
    past = timezone.now() - datetime.timedelta(hours=1)
    overdue = Event.objects.filter(pk__in=[c.pk for c in cases])
    overdue.update(step_yellow_at=past - datetime.timedelta(minutes=12), step_due_at=past)

    # The worker starts once the cases are written (SQLite's shared test database takes one writer).
    with start_worker(celery_app, perform_ping_check=False, pool="solo", concurrency=1, shutdown_timeout=10):
        sweep.delay()  # through Redis to the worker thread; no result backend: watch the database
        wait_for(lambda: overdue.filter(alert=Alert.RED).count() == 3, "mark the overdue cases red")
        wait_for(lambda: Notification.objects.filter(kind="dispatch.event.overdue").count() == 6, "notify")
        sweep.delay()  # a second run changes nothing
        # The follow-ups of the cases' own steps (queued while the cases were filed) run too.
        wait_for(lambda: not Transition.objects.filter(followed_up_at__isnull=True).exists(), "follow everything up")
        time.sleep(1)

    assert SupervisionOrder.objects.filter(kind=SupervisionOrder.Kind.ESCALATION, to_unit=loop.tree.district,
                                           event__in=overdue).count() == 3
    assert SupervisionOrder.objects.count() == 3
    assert Transition.objects.filter(action="overdue").count() == 3
    assert set(Notification.objects.filter(kind="dispatch.event.overdue").values_list("recipient", flat=True)) == {
        loop.handler.pk, loop.dispatcher.pk}
    assert Notification.objects.filter(kind="dispatch.event.overdue").count() == 6
    assert Notification.objects.filter(kind="dispatch.event.dispatch", recipient=loop.handler).count() == 3
    assert Event.objects.get(pk=on_time.pk).alert == Alert.NONE
    assert not Notification.objects.filter(recipient=loop.outsider).exists()


def test_redis_down_at_intake_saves_the_case_and_its_follow_up_runs_when_redis_is_back(celery_app, redis_url, loop):
    from celery.contrib.testing.worker import start_worker

    from dispatch.tasks import follow_ups_resend

    use_broker(celery_app, CLOSED_PORT_BROKER)
    started = time.monotonic()
    event = report(loop, lon=loop.outside[0], lat=loop.outside[1])  # outside every grid: the centre is told
    took = time.monotonic() - started
    assert took < 3, f"filing a report with Redis down took {took:.1f} s"
    assert Event.objects.filter(pk=event.pk, outside_grids=True).exists()  # the case is saved
    row = Transition.objects.get(event=event, action="report")
    assert row.followed_up_at is None  # its follow-up never reached the broker
    assert not Notification.objects.exists()

    use_broker(celery_app, redis_url)  # Redis is back
    with start_worker(celery_app, perform_ping_check=False, pool="solo", concurrency=1, shutdown_timeout=10):
        assert follow_ups_resend(min_age_seconds=0) == 1
        wait_for(lambda: Transition.objects.get(pk=row.pk).followed_up_at is not None, "run the follow-up")
    assert list(Notification.objects.values_list("recipient", "kind")) == [(loop.operator.pk, "dispatch.event.report")]
