"""Webhooks of API clients: subscribing, who hears of which case, signed POSTs, retries with backoff,
idempotent delivery, replays, and the client endpoints' scoping (another client's rows are 404)."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from celery.app.task import Task
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch import services
from dispatch.api.serializers import EventListOutputSerializer
from dispatch.models import Channel, Event, State, Transition
from dispatch.sweep import LOCK_KEY, sweep
from dispatch.tests import conftest as dispatch_fixtures
from dispatch.tests.flow import path_to
from governance.api import webhooks
from governance.api.auth import token_issue
from governance.models import ApiClient, AuditEntry, WebhookDelivery, WebhookSubscription
from governance.tasks import webhook_deliver, webhook_deliveries_resend
from governance.tests.factories import UserFactory

# The dispatch tests' fixtures: a place with a grid, a small catalogue, the loop's people, English.
loop, english, media = dispatch_fixtures.loop, dispatch_fixtures.english, dispatch_fixtures.media

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions/"
DELIVERIES = "/api/v1/webhooks/deliveries/"
ALL_CASE_EVENTS = ["case.created", "case.changed", "case.dispatched", "case.handled", "case.closed",
                   "case.overdue", "case.merged"]


class Receiver:
    """A small HTTP server in a thread: answers with the given statuses in turn (then 200) and
    records each request's path, headers and body."""

    def __init__(self, statuses=(), *, location: str = ""):
        self.statuses = list(statuses)
        self.received: list[tuple[str, dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"nope :(" if status >= 300 else b"thanks!")

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _path, _headers, body in self.received]

    def types(self) -> list[str]:
        return [headers["x-gridgov-event"] for _path, headers, _body in self.received]


def bearer(key: str) -> APIClient:
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


def make_client(account, *, name: str, scopes=("dispatch:read", "webhooks")) -> tuple[ApiClient, APIClient]:
    client = ApiClient.objects.create(name=name, account=account, scopes=list(scopes))
    _token, key = token_issue(client=client)
    return client, bearer(key)


def subscribe(api: APIClient, url: str, events=ALL_CASE_EVENTS) -> dict:
    response = api.post(SUBSCRIPTIONS, {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def report(loop, **kw) -> Event:
    kw = {"channel": Channel.GRID, "title": "垃圾堆", "minor": loop.rubbish, "lon": loop.inside[0],
          "lat": loop.inside[1], "reporter": loop.worker, **kw}
    event, _ = services.event_report(**kw)
    return event


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def expected_signature(secret: str, headers: dict, body: bytes) -> str:
    signed = headers["x-gridgov-timestamp"].encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@pytest.fixture
def centre(loop):
    """Street A's command-centre system: acts as the operator, so it sees street A's cases."""
    return make_client(loop.operator, name="甲街道指挥系统")


@pytest.fixture
def outsider(loop):
    """Street B's system: sees none of street A's cases."""
    return make_client(loop.outsider, name="乙街道指挥系统")


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Run what is sent on commit (follow-ups, fan-outs, deliveries) at once, in-process."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --- Subscribing ---------------------------------------------------------------------------------


def test_it_subscribes_with_a_token_and_shows_the_secret_only_once(centre):
    client, api = centre
    response = api.post(SUBSCRIPTIONS, {"url": "https://jiejie.example.cn/hooks",
                                        "events": ["case.closed", "case.created", "case.created"]}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    subscription = WebhookSubscription.objects.get()
    assert subscription.client == client and data["secret"] == subscription.secret and len(data["secret"]) == 64
    assert data["events"] == subscription.events == ["case.created", "case.closed"]  # catalogue order, once each
    assert response["Location"].endswith(f"{SUBSCRIPTIONS}{subscription.pk}/")
    assert "secret" not in api.get(f"{SUBSCRIPTIONS}{subscription.pk}/").json()
    assert "secret" not in api.get(SUBSCRIPTIONS).json()["results"][0]
    entry = AuditEntry.objects.get(action="governance.webhook_subscription.created")
    assert entry.actor == client.account and subscription.secret not in json.dumps([entry.changes, entry.data])


@pytest.mark.parametrize("body, field, message", [
    ({"url": "https://x.example.cn/h", "events": ["case.created", "case.exploded"]}, "events",
     "Unknown event types: case.exploded"),
    ({"url": "https://x.example.cn/h", "events": []}, "events", ""),
    ({"url": "ftp://x.example.cn/h", "events": ["case.created"]}, "url", "http:// or https://"),
    ({"url": "javascript:alert(1)", "events": ["case.created"]}, "url", "http:// or https://"),
    ({"url": "https://x.example.cn/h", "events": ["case.created"], "secret": "mine"}, "secret", "Unknown field"),
])
def test_it_refuses_bad_subscriptions_naming_the_field(centre, body, field, message):
    _client, api = centre
    response = api.post(SUBSCRIPTIONS, body, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert message in " ".join(error["fields"][field])
    assert not WebhookSubscription.objects.exists()


def test_case_events_need_the_scope_that_reads_cases(loop):
    _client, api = make_client(loop.operator, name="只要推送", scopes=["webhooks"])
    response = api.post(SUBSCRIPTIONS, {"url": "https://x.example.cn/h", "events": ["case.created"]}, format="json")
    assert response.status_code == 400
    assert "dispatch:read" in error_of(response)["fields"]["events"][0]


def test_a_token_without_the_webhooks_scope_is_refused(loop):
    _client, api = make_client(loop.operator, name="只读", scopes=["dispatch:read"])
    response = api.get(SUBSCRIPTIONS)
    assert response.status_code == 403 and "webhooks" in error_of(response)["message"]


def test_a_client_has_at_most_twenty_subscriptions(centre):
    _client, api = centre
    for n in range(webhooks.MAX_SUBSCRIPTIONS):
        subscribe(api, f"https://x.example.cn/{n}", ["case.created"])
    response = api.post(SUBSCRIPTIONS, {"url": "https://x.example.cn/more", "events": ["case.created"]},
                        format="json")
    assert response.status_code == 400 and "at most 20" in error_of(response)["message"]


def test_it_changes_and_deletes_a_subscription_auditing_without_the_secret(centre):
    _client, api = centre
    created = subscribe(api, "https://x.example.cn/h", ["case.created"])
    url = f"{SUBSCRIPTIONS}{created['id']}/"

    response = api.patch(url, {"url": "https://y.example.cn/h", "events": ["case.closed"], "is_active": False},
                         format="json")
    assert response.status_code == 200, response.content
    assert response.json() | {"created_at": None} == {
        "id": created["id"], "url": "https://y.example.cn/h", "events": ["case.closed"], "is_active": False,
        "created_at": None}
    assert api.patch(url, {"client": 5}, format="json").status_code == 400
    assert api.patch(url, {"url": "file:///etc/passwd"}, format="json").status_code == 400
    assert WebhookSubscription.objects.get().url == "https://y.example.cn/h"
    entry = AuditEntry.objects.get(action="governance.webhook_subscription.changed")
    assert entry.changes["url"] == ["https://x.example.cn/h", "https://y.example.cn/h"]
    assert created["secret"] not in json.dumps([entry.changes, entry.data])

    assert api.delete(url).status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert AuditEntry.objects.filter(action="governance.webhook_subscription.deleted").exists()


def test_another_clients_subscriptions_and_deliveries_are_404(loop, centre, outsider, run_tasks):
    _client, api = centre
    _other, other_api = outsider
    with Receiver() as receiver:
        subscription = subscribe(api, receiver.url, ["case.created"])
        with run_tasks():
            report(loop)
    delivery = WebhookDelivery.objects.get()
    mine = f"{SUBSCRIPTIONS}{subscription['id']}/"
    assert other_api.get(mine).status_code == 404
    assert other_api.patch(mine, {"is_active": False}, format="json").status_code == 404
    assert other_api.delete(mine).status_code == 404
    assert other_api.get(f"{DELIVERIES}{delivery.pk}/").status_code == 404
    assert other_api.post(f"{DELIVERIES}{delivery.pk}/replay/").status_code == 404
    assert error_of(other_api.get(f"{DELIVERIES}{delivery.pk}/"))["code"] == "not_found"
    assert other_api.get(SUBSCRIPTIONS).json()["results"] == []
    assert other_api.get(DELIVERIES).json()["results"] == []
    assert other_api.get(DELIVERIES, {"subscription": subscription["id"]}).json()["results"] == []
    assert WebhookSubscription.objects.get().is_active and WebhookDelivery.objects.count() == 1


def test_a_browser_session_has_no_subscriptions_and_cannot_subscribe(loop, centre):
    _client, api = centre
    subscription = subscribe(api, "https://x.example.cn/h", ["case.created"])
    browser = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(loop.operator)  # the very account the client acts as
    assert browser.get(SUBSCRIPTIONS).json()["results"] == []
    assert browser.get(f"{SUBSCRIPTIONS}{subscription['id']}/").status_code == 404
    response = browser.post(SUBSCRIPTIONS, {"url": "https://x.example.cn/h", "events": ["case.created"]},
                            format="json")
    assert response.status_code == 403 and "client's token" in error_of(response)["message"]


# --- Who hears of what ---------------------------------------------------------------------------


def test_a_case_reaches_only_the_clients_who_may_see_it_signed(loop, centre, outsider, run_tasks):
    client, api = centre
    _other, other_api = outsider
    department, department_api = make_client(loop.handler, name="城管局系统")
    with Receiver() as receiver, Receiver() as elsewhere, Receiver() as bureau:
        secret = subscribe(api, receiver.url, ["case.created", "case.dispatched", "case.closed"])["secret"]
        subscribe(other_api, elsewhere.url)
        subscribe(department_api, bureau.url, ["case.created", "case.dispatched"])
        with run_tasks():
            event = report(loop)
        for step in path_to(State.CLOSED):  # each step commits, and is followed up, on its own
            with run_tasks():
                event = step(loop, event)

    assert receiver.types() == ["case.created", "case.dispatched", "case.closed"]
    assert elsewhere.received == []  # street B's system never hears of street A's case
    assert bureau.types() == ["case.dispatched"]  # the bureau sees the case once it is dispatched to it

    deliveries = list(WebhookDelivery.objects.filter(subscription__client=client).order_by("pk"))
    assert [(d.event_type, d.object_id, d.status, d.attempts, d.response_status) for d in deliveries] == [
        ("case.created", event.pk, "delivered", 1, 200), ("case.dispatched", event.pk, "delivered", 1, 200),
        ("case.closed", event.pk, "delivered", 1, 200)]
    path, headers, body = receiver.received[-1]
    assert path == "/hook"
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["user-agent"].startswith("GridGov-Webhooks")
    assert headers["x-gridgov-event"] == "case.closed" and headers["x-gridgov-delivery"] == str(deliveries[-1].pk)
    assert abs(int(headers["x-gridgov-timestamp"]) - time.time()) < 60
    assert hmac.compare_digest(headers["x-gridgov-signature"], expected_signature(secret, headers, body))
    assert headers["x-gridgov-signature"] != expected_signature("another secret", headers, body)

    data = json.loads(body)
    assert set(data) == {"id", "type", "created_at", "data"}
    assert data["id"] == deliveries[-1].pk and data["type"] == "case.closed"
    closing = Transition.objects.get(event=event, action="verify_pass")
    assert datetime.datetime.fromisoformat(data["created_at"]) == closing.at  # when it happened
    listed = json.loads(json.dumps(EventListOutputSerializer(Event.objects.get(pk=event.pk)).data))
    assert data["data"] == listed  # the case as the API's list shows it: no personal data
    assert data["data"]["state"] == "closed" and "contact_phone" not in data["data"]


def test_every_step_is_a_change_and_a_merge_is_announced_for_the_duplicate(loop, centre, run_tasks):
    _client, api = centre
    with Receiver() as receiver:
        subscribe(api, receiver.url, ["case.changed", "case.merged"])
        with run_tasks():
            master = report(loop, title="同一堆垃圾")
            duplicate = report(loop)
            services.event_merge(event=duplicate, into=master, actor=loop.operator)
    seen = [(b["type"], b["data"]["id"]) for b in receiver.bodies()]
    assert sorted(seen) == sorted([
        ("case.changed", master.pk), ("case.changed", duplicate.pk),  # the two reports
        ("case.changed", duplicate.pk), ("case.merged", duplicate.pk),  # the merge
        ("case.changed", master.pk),  # the master's "duplicate merged in" step
    ])


def test_the_sweep_announces_overdue_cases_in_one_batch(loop, centre, run_tasks):
    _client, api = centre
    cache.delete(LOCK_KEY)
    cases = [report(loop) for _ in range(3)]
    with Receiver() as receiver:
        subscribe(api, receiver.url, ["case.overdue"])
        with mock.patch("governance.api.webhooks.enqueue_on_commit", wraps=webhooks.enqueue_on_commit) as queued:
            with run_tasks():
                sweep(now=max(c.step_due_at for c in cases) + datetime.timedelta(minutes=1))
    assert sorted(b["data"]["id"] for b in receiver.bodies()) == sorted(c.pk for c in cases)
    assert all(b["data"]["alert"] == 2 for b in receiver.bodies())
    sends = [c for c in queued.call_args_list if c.args[0] == "governance.webhook_deliver"]
    assert len(sends) == 3  # one batch written by the sweep's follow-up, one delivery per case
    cache.delete(LOCK_KEY)


def test_nothing_is_queued_when_nobody_listens(loop, run_tasks):
    with mock.patch("governance.api.webhooks.enqueue_on_commit") as queued, run_tasks():
        report(loop)
    assert not queued.called
    assert webhooks.emit("case.created", source="dispatch.event", ids=[1]) == 0
    with pytest.raises(ValueError):
        webhooks.emit("case.exploded", source="dispatch.event", ids=[1])


def test_switched_off_subscriptions_and_clients_hear_nothing(loop, centre, run_tasks):
    client, api = centre
    with Receiver() as receiver:
        paused = subscribe(api, receiver.url, ["case.created"])
        api.patch(f"{SUBSCRIPTIONS}{paused['id']}/", {"is_active": False}, format="json")
        other, other_api = make_client(loop.operator, name="停用的系统")
        subscribe(other_api, receiver.url, ["case.created"])
        other.is_active = False
        other.save()
        with run_tasks():
            report(loop)
    assert receiver.received == [] and not WebhookDelivery.objects.exists()


def test_a_client_that_lost_the_reading_scope_hears_nothing(loop, centre, run_tasks):
    client, api = centre
    with Receiver() as receiver:
        subscribe(api, receiver.url, ["case.created"])
        client.scopes = ["webhooks"]
        client.save()
        with run_tasks():
            report(loop)
    assert receiver.received == []


def test_a_fan_out_run_twice_writes_each_delivery_once(loop, centre):
    _client, api = centre
    subscribe(api, "https://x.example.cn/h", ["case.created"])
    event = report(loop)
    at = timezone.localtime().isoformat()
    with mock.patch("governance.api.webhooks.enqueue_on_commit"):
        assert webhooks.fan_out(event_type="case.created", source="dispatch.event", object_ids=[event.pk], at=at) == 1
        assert webhooks.fan_out(event_type="case.created", source="dispatch.event", object_ids=[event.pk], at=at) == 0
        assert webhooks.fan_out(event_type="case.created", source="dispatch.event", object_ids=[event.pk, 10**9], at="2026-01-01T00:00:00+08:00") == 1
    assert WebhookDelivery.objects.count() == 2


# --- Delivery: retries, idempotency, replays -----------------------------------------------------


def pending_delivery(loop, client_api, url) -> WebhookDelivery:
    subscribe(client_api, url, ["case.created"])
    event = report(loop)
    with mock.patch("governance.api.webhooks.enqueue_on_commit"):
        webhooks.fan_out(event_type="case.created", source="dispatch.event", object_ids=[event.pk], at=timezone.localtime().isoformat())
    return WebhookDelivery.objects.get()


@pytest.fixture
def countdowns():
    """The countdown of every retry the delivery task schedules."""
    seen: list[int] = []
    original = Task.retry

    def record(task, *args, **kwargs):
        seen.append(kwargs.get("countdown"))
        return original(task, *args, **kwargs)

    with mock.patch.object(Task, "retry", autospec=True, side_effect=record):
        yield seen


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(loop, centre, countdowns):
    _client, api = centre
    with Receiver([500] * 10) as receiver:
        delivery = pending_delivery(loop, api, receiver.url)
        webhook_deliver.apply(args=[delivery.pk])

    assert len(receiver.received) == webhooks.MAX_ATTEMPTS == 6
    assert countdowns == [30, 120, 600, 3600, 6 * 3600]
    assert len({body for _path, _headers, body in receiver.received}) == 1  # the same body, the same id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 6, 500)
    assert delivery.last_error.startswith("HTTP 500") and "nope" in delivery.last_error
    assert delivery.delivered_at is None and delivery.last_attempt_at is not None
    detail = api.get(f"{DELIVERIES}{delivery.pk}/").json()
    assert (detail["status"], detail["attempts"], detail["response_status"]) == ("failed", 6, 500)
    assert detail["last_error"] == delivery.last_error and detail["body"]["id"] == delivery.pk


def test_a_refusal_is_retried_and_a_later_success_delivers(loop, centre, countdowns):
    _client, api = centre
    with Receiver([410, 503]) as receiver:
        delivery = pending_delivery(loop, api, receiver.url)
        webhook_deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status, delivery.last_error) == (
        "delivered", 3, 200, "")
    assert countdowns == [30, 120]


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(loop, centre, countdowns):
    _client, api = centre
    with Receiver(location="http://127.0.0.1:9/elsewhere") as target:
        target.statuses = [302, 200]
        delivery = pending_delivery(loop, api, target.url)
        webhook_deliver.apply(args=[delivery.pk])
    assert [path for path, _h, _b in target.received] == ["/hook", "/hook"]  # re-POSTed, never redirected
    assert countdowns == [30]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_an_unreachable_receiver_is_recorded_and_retried(loop, centre, countdowns):
    _client, api = centre
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery = pending_delivery(loop, api, f"http://127.0.0.1:{port}/hook")
    with mock.patch.object(webhooks, "RETRY_DELAYS_S", (1,)):  # two attempts in all
        webhook_deliver.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 2, None)
    assert "refused" in delivery.last_error.lower()


def test_a_delivered_delivery_is_never_sent_again(loop, centre):
    _client, api = centre
    with Receiver() as receiver:
        delivery = pending_delivery(loop, api, receiver.url)
        assert webhook_deliver.apply(args=[delivery.pk]).get() == "delivered"
        # The broker hands the same message out again (a worker died before acknowledging it) …
        assert webhook_deliver.apply(args=[delivery.pk]).get() == "skipped"
        # … or a copy of a later attempt turns up.
        assert webhook_deliver.apply(args=[delivery.pk], kwargs={"attempt": 2}).get() == "skipped"
        assert webhook_deliver.apply(args=[10**9]).get() == "skipped"  # gone: quietly nothing
    assert len(receiver.received) == 1


def test_a_stale_copy_of_an_attempt_already_made_is_dropped(loop, centre):
    _client, api = centre
    with Receiver([500]) as receiver:
        delivery = pending_delivery(loop, api, receiver.url)
        assert webhooks.deliver(delivery.pk, 1).outcome == "retry"
        assert webhooks.deliver(delivery.pk, 1).outcome == "skipped"  # attempt 1 was made already
        assert webhooks.deliver(delivery.pk, 3).outcome == "skipped"  # not attempt 2's turn yet
        assert webhooks.deliver(delivery.pk, 2).outcome == "delivered"
    assert len(receiver.received) == 2


def test_a_delivery_of_a_subscription_switched_off_meanwhile_is_not_sent(loop, centre):
    _client, api = centre
    with Receiver() as receiver:
        delivery = pending_delivery(loop, api, receiver.url)
        WebhookSubscription.objects.update(is_active=False)
        assert webhook_deliver.apply(args=[delivery.pk]).get() == "failed"
    assert receiver.received == []
    assert "switched off" in WebhookDelivery.objects.get().last_error


def test_replay_sends_the_same_payload_as_a_new_delivery(loop, centre, run_tasks):
    client, api = centre
    with Receiver([500] * 6) as receiver:
        original = pending_delivery(loop, api, receiver.url)
        webhook_deliver.apply(args=[original.pk])
        with run_tasks():
            response = api.post(f"{DELIVERIES}{original.pk}/replay/")

    assert response.status_code == 201, response.content
    replay = WebhookDelivery.objects.get(replay_of=original)
    assert response.json()["id"] == replay.pk and response.json()["replay_of"] == original.pk
    assert response["Location"].endswith(f"{DELIVERIES}{replay.pk}/")
    assert (replay.status, replay.attempts, replay.payload) == ("delivered", 1, original.payload)
    first, last = receiver.bodies()[0], receiver.bodies()[-1]
    assert last["id"] == replay.pk != first["id"] and last | {"id": 0} == first | {"id": 0}
    assert AuditEntry.objects.filter(action="governance.webhook_delivery.replayed", actor=client.account).exists()

    WebhookSubscription.objects.update(is_active=False)
    refused = api.post(f"{DELIVERIES}{original.pk}/replay/")
    assert refused.status_code == 409 and "switched off" in error_of(refused)["message"]


def test_the_delivery_list_filters_and_pages_newest_first(loop, centre, run_tasks):
    _client, api = centre
    with Receiver([500] * 18) as failing, Receiver() as working:
        bad = subscribe(api, failing.url, ["case.created"])
        good = subscribe(api, working.url, ["case.created"])
        with run_tasks():
            events = [report(loop) for _ in range(3)]
    assert WebhookDelivery.objects.count() == 6

    page = api.get(DELIVERIES, {"page_size": 4}).json()
    assert len(page["results"]) == 4 and page["next"]
    rest = api.get(page["next"]).json()
    ids = [d["id"] for d in page["results"] + rest["results"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    failed = api.get(DELIVERIES, {"status": "failed"}).json()["results"]
    assert {d["subscription"] for d in failed} == {bad["id"]} and len(failed) == 3
    assert failed[0]["attempts"] == 6 and failed[0]["last_error"].startswith("HTTP 500")
    mine = api.get(DELIVERIES, {"subscription": good["id"]}).json()["results"]
    assert sorted(d["object_id"] for d in mine) == sorted(e.pk for e in events)
    wrong = api.get(DELIVERIES, {"status": "lost"})
    assert wrong.status_code == 400 and "status" in error_of(wrong)["fields"]

    with CaptureQueriesContext(connection) as six:
        api.get(DELIVERIES)
    WebhookDelivery.objects.exclude(pk=WebhookDelivery.objects.order_by("pk").first().pk).delete()
    with CaptureQueriesContext(connection) as one:
        api.get(DELIVERIES)
    assert len(six) == len(one) <= 5  # no query per row


def test_the_resend_job_sends_deliveries_whose_task_was_lost(loop, centre):
    _client, api = centre
    with Receiver() as receiver:
        delivery = pending_delivery(loop, api, receiver.url)  # its task never reached the broker
        assert webhook_deliveries_resend() == 0  # too recent: its task may still be on its way
        WebhookDelivery.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=10))
        assert webhook_deliveries_resend() == 1
        assert webhook_deliveries_resend() == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1) and len(receiver.received) == 1


def test_the_resend_job_sends_an_overdue_retry_as_the_next_attempt(loop, centre):
    _client, api = centre
    with Receiver([500]) as receiver:
        delivery = pending_delivery(loop, api, receiver.url)
        assert webhooks.deliver(delivery.pk, 1).outcome == "retry"  # its retry was then lost (or its worker died)
        assert webhook_deliver.apply(args=[delivery.pk]).get() == "skipped"  # the first message, handed out again
        assert webhook_deliveries_resend() == 0
        WebhookDelivery.objects.update(last_attempt_at=timezone.now() - datetime.timedelta(minutes=6))
        assert webhook_deliveries_resend() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    assert len(receiver.received) == 2


# --- The administration --------------------------------------------------------------------------


@pytest.fixture
def admin_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.admin = admin
    return client


def test_the_admin_replays_deliveries_and_switches_subscriptions_off(loop, centre, admin_client, run_tasks):
    _client, api = centre
    with Receiver([500] * 6) as receiver:
        delivery = pending_delivery(loop, api, receiver.url)
        webhook_deliver.apply(args=[delivery.pk])
        with run_tasks():
            response = admin_client.post("/admin/governance/webhookdelivery/", {
                "action": "replay", "_selected_action": [delivery.pk]}, follow=True)
    assert response.status_code == 200
    replay = WebhookDelivery.objects.get(replay_of=delivery)
    assert replay.status == "delivered"
    assert AuditEntry.objects.filter(action="governance.webhook_delivery.replayed", actor=admin_client.admin).exists()
    assert admin_client.get(f"/admin/governance/webhookdelivery/{delivery.pk}/change/").status_code == 200

    subscription = WebhookSubscription.objects.get()
    changed = admin_client.post(f"/admin/governance/webhooksubscription/{subscription.pk}/change/", {
        "url": subscription.url, "events": ["case.created", "case.closed"]})  # "is_active" unticked
    assert changed.status_code == 302, changed.content.decode()[:2000]
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.events == ["case.created", "case.closed"]
    entry = AuditEntry.objects.get(action="governance.webhook_subscription.changed")
    assert entry.actor == admin_client.admin and entry.changes["is_active"] == [True, False]
    assert subscription.secret not in json.dumps([entry.changes, entry.data])
    assert admin_client.get("/admin/governance/webhooksubscription/add/").status_code == 403


def test_the_admin_refuses_events_the_client_may_not_read(loop, admin_client):
    client, _api = make_client(loop.operator, name="甲街道指挥系统")
    subscription = webhooks.subscription_create(client=client, url="https://x.example.cn/h", events=["case.closed"])
    ApiClient.objects.filter(pk=client.pk).update(scopes=["webhooks"])  # the client lost the reading scope
    response = admin_client.post(f"/admin/governance/webhooksubscription/{subscription.pk}/change/", {
        "url": subscription.url, "events": ["case.created"], "is_active": "on"})
    assert response.status_code == 200
    assert "dispatch:read" in str(response.context["adminform"].form.errors["events"])
    subscription.refresh_from_db()
    assert subscription.events == ["case.closed"]
