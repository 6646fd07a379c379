"""Celery for real: a worker on the real Redis broker follows a case's step up, fans the event out,
and POSTs it, signed, to a real HTTP receiver, retrying with a real countdown after a refusal."""

import hashlib
import hmac
import json
import time
from unittest import mock

import pytest
from django.db import OperationalError

from dispatch import services
from dispatch.models import Channel
from dispatch.tests import conftest as dispatch_fixtures
from governance.api import webhooks
from governance.models import ApiClient, WebhookDelivery
from governance.tests.test_webhooks import Receiver

# The dispatch tests' fixtures: a place with a grid, a small catalogue, the loop's people, English.
loop, english, media = dispatch_fixtures.loop, dispatch_fixtures.english, dispatch_fixtures.media

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_app(redis_url):
    from governance.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url=redis_url, task_always_eager=False)
    app._pool = None  # producers are rebuilt for this broker
    app.amqp._producer_pool = None
    app.loader.import_default_modules()
    yield app
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not _safely(check):
        assert time.monotonic() < deadline, f"the worker did not {what} within {seconds:.0f} s"
        time.sleep(0.2)


def _safely(check) -> bool:
    # SQLite's shared in-memory test database answers "table is locked" while the worker writes.
    try:
        return check()
    except OperationalError:
        return False


def test_a_dispatched_case_is_posted_signed_and_retried_through_the_broker(celery_app, loop):
    from celery.contrib.testing.worker import start_worker

    client = ApiClient.objects.create(name="甲街道指挥系统", account=loop.operator,
                                      scopes=["dispatch:read", "webhooks"])
    with Receiver([503]) as receiver:  # down for the first attempt, up for the second
        subscription = webhooks.subscription_create(client=client, url=receiver.url, events=["case.dispatched"])
        # The case is written before the worker starts (SQLite's shared test database takes one writer).
        event, _ = services.event_report(channel=Channel.GRID, title="垃圾堆", minor=loop.rubbish,
                                         lon=loop.inside[0], lat=loop.inside[1], reporter=loop.worker)
        event = services.event_accept(event=event, actor=loop.operator)
        event = services.event_register(event=event, actor=loop.operator)
        event = services.event_dispatch(event=event, actor=loop.operator)

        with mock.patch.object(webhooks, "RETRY_DELAYS_S", (1, 1)), \
                start_worker(celery_app, perform_ping_check=False, pool="solo", concurrency=1, shutdown_timeout=10):
            wait_for(lambda: len(receiver.received) == 2, "POST the delivery twice (a refusal, then a retry)")
            wait_for(lambda: WebhookDelivery.objects.get().status == "delivered", "record the delivery")
            time.sleep(1)  # nothing else arrives

    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_type, delivery.object_id, delivery.attempts, delivery.response_status) == (
        "case.dispatched", event.pk, 2, 200)
    assert len(receiver.received) == 2
    first, second = receiver.received
    assert first[2] == second[2]  # the same body on the retry …
    _path, headers, body = second
    assert headers["x-gridgov-delivery"] == str(delivery.pk) and headers["x-gridgov-event"] == "case.dispatched"
    signed = headers["x-gridgov-timestamp"].encode() + b"." + body  # … signed afresh with the attempt's time
    expected = "sha256=" + hmac.new(subscription.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-gridgov-signature"], expected)
    data = json.loads(body)
    assert data["id"] == delivery.pk and data["data"]["id"] == event.pk and data["data"]["state"] == "dispatched"
