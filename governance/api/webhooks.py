"""Webhooks for API clients: subscriptions, signed deliveries retried with backoff, and replays.

How an event reaches a client
-----------------------------
1. **Emit.** The app that owns the objects calls ``emit(event_type, source=..., ids=[...])`` (or
   ``emit_many``) in the transaction that records what happened. Dispatch does it in the
   follow-up of each history row — a Celery task, not the request — which claims the row once, so
   each event is emitted once. It costs one small query — does any active subscription want the
   type? — and, if one does, the fan-out below, in the same transaction: the deliveries are
   written with the claim or not at all (a failure drill found that a separate fan-out task lost
   on its way to the broker lost the webhooks with it).
2. **Fan out** (``fan_out``). For every
   active subscription of an active client that wants the type, the *source* — registered by the
   app with ``register_source`` — returns the objects the client's account may see, each as the
   API's list shows it to that account. The source uses the app's own scoping selector and list
   serializer, so a client hears only of what it could read with a GET. A client also needs the
   scope that reads those objects (``EVENT_SCOPES``). The fan-out writes one ``WebhookDelivery``
   for each (subscription, visible object) pair and sends one ``governance.webhook_deliver`` task
   per delivery on commit. If the fan-out task is re-delivered, it writes nothing twice.
3. **Deliver** (``deliver``). The task POSTs the body, signed, with a 10 s timeout. Any 2xx answer
   is delivered. Anything else (a refusal, a 3xx, a timeout, a refused connection) is recorded on
   the row (``response_status``, ``last_error``, ``attempts``) and tried again after 30 s, 2 min,
   10 min, 1 h and 6 h. After the sixth failed attempt the delivery is ``failed``. Redirects are
   not followed: a POST is never re-sent elsewhere or turned into a GET.

   Each task message names the attempt it makes, and claims it before the POST with a conditional
   update (``attempts`` from n - 1 to n), so only one run makes each attempt and no transaction is
   held open while the receiver answers. A copy that arrives after its attempt was made is
   dropped, including copies of a long-countdown retry that Redis hands out again after its
   visibility timeout. A delivery already delivered is never sent again.
   ``governance.webhook_deliveries_resend`` makes the next attempt of a delivery whose task never
   reached the broker, or whose worker died mid-POST (that attempt stays counted, with no outcome).
   A POST may have reached the receiver before such a death, so delivery is *at least once*:
   receivers drop repeats by ``X-GridGov-Delivery``.
4. **Replay.** ``webhook_replay`` makes a new delivery of the same payload (``replay_of`` points at
   the original) and sends it. Clients do it with ``POST /api/v1/webhooks/deliveries/<id>/replay/``,
   administrators with an admin action.

The request
-----------
Body (UTF-8 JSON)::

    {"id": 812, "type": "case.dispatched", "created_at": "2026-11-02T09:15:03.120000+08:00",
     "data": {... the object as GET /api/v1/dispatch/events/ lists it ...}}

``id`` is the delivery's id. It is the same on every retry and new for a replay. ``created_at``
is when the event happened. ``data`` is the object as it stood when the fan-out ran, normally
within a second of the event: the type says what happened, and ``data`` shows the state after it.
The stored ``payload`` is this body without ``id``, which is added when the body is sent.

Headers: ``Content-Type: application/json; charset=utf-8``, ``User-Agent: GridGov-Webhooks/1``,
``X-GridGov-Event`` (the type), ``X-GridGov-Delivery`` (the id), ``X-GridGov-Timestamp`` (Unix
seconds of this attempt) and ``X-GridGov-Signature: sha256=<hex>``. The signature is the
HMAC-SHA256, keyed with the subscription's secret (shown once, when the subscription is made), of
``<timestamp>.<body>``. Signing the timestamp means that a captured request replayed later fails
the receiver's freshness check. A receiver verifies it like this::

    import hashlib, hmac, time

    def verify(secret: str, headers, body: bytes, tolerance_s: int = 300) -> bool:
        timestamp = headers["X-GridGov-Timestamp"]
        signed = timestamp.encode() + b"." + body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(timestamp)) <= tolerance_s
        return fresh and hmac.compare_digest(expected, headers["X-GridGov-Signature"])

Then answer 2xx quickly and drop deliveries whose ``X-GridGov-Delivery`` id you have seen already.

Subscription URLs may be any http(s) address, intranet ones included: clients are other systems
that administrators provision, and many of them live on the government intranet.
"""

from __future__ import annotations

import datetime
import http.client
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils import translation
from django.utils.translation import gettext, ngettext
from rest_framework.utils.encoders import JSONEncoder

from governance.audit import audit_log
from governance.errors import DomainError
from governance.models import ApiClient, WebhookDelivery, WebhookEvent, WebhookSubscription
from governance.notifications import sign
from governance.queue import enqueue_on_commit

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

TIMEOUT_S = 10
RETRY_DELAYS_S = (30, 120, 600, 3600, 6 * 3600)  # the waits after failed attempts 1 … 5
MAX_ATTEMPTS = len(RETRY_DELAYS_S) + 1
MAX_SUBSCRIPTIONS = 20  # per client: enough for any system, too few to turn the platform into a flood
FAN_OUT_CHUNK = 500  # objects looked up and serialised per query
USER_AGENT = "GridGov-Webhooks/1"

# The scope a client needs to hear of each event type: the scope that lets it read those objects.
# Later apps add theirs as they add event types to WebhookEvent.
EVENT_SCOPES: dict[str, str] = {value: "dispatch:read" for value in WebhookEvent.values if value.startswith("case.")}


# --- Sources: how an app's objects are seen and shown --------------------------------------------

# (account, ids) -> {id: the object as the API's list shows it to ``account``}, only for the
# objects ``account`` may see; ids left out are invisible to it (or gone).
SourceData = Callable[[Any, list[int]], Mapping[int, Mapping]]

_SOURCES: dict[str, SourceData] = {}


def register_source(label: str, data: SourceData) -> None:
    """Make ``label`` (e.g. "dispatch.event") something ``emit`` can name. Register it in a module that
    the app's ``tasks.py`` imports, so that every worker has it."""
    _SOURCES[label] = data


def _source(label: str) -> SourceData:
    if label not in _SOURCES:
        # A process that has not imported the apps' tasks modules yet (a web process running tasks
        # in-process, a command) imports them now, as governance.queue does for task names.
        from governance.celery import app

        app.loader.import_default_modules()
    try:
        return _SOURCES[label]
    except KeyError:
        raise LookupError(f"No webhook source {label!r}: register it with register_source().") from None


# --- Emitting ------------------------------------------------------------------------------------


def emit(event_type: str, *, source: str, ids: Iterable[int], at: datetime.datetime | None = None) -> int:
    """Send webhooks of ``event_type`` for the objects ``ids`` of ``source`` once the current
    transaction commits; see ``emit_many``."""
    return emit_many(source=source, events={event_type: ids}, at=at)


def emit_many(*, source: str, events: Mapping[str, Iterable[int]], at: datetime.datetime | None = None) -> int:
    """Write the deliveries of each event type someone listens to, for its object ids, in the
    current transaction (they are sent when it commits). ``at`` is when it happened (default: now).
    Returns the number of deliveries written: 0, after one query, when nobody listens.

    Writing them here, with the record of what happened, means a delivery can only be lost with
    that record: a task lost on its way to the broker is re-sent by ``webhook_deliveries_resend``."""
    events = {kind: sorted(set(ids)) for kind, ids in events.items()}
    unknown = set(events) - set(WebhookEvent.values)
    if unknown:
        raise ValueError(f"Unknown webhook event types: {sorted(unknown)}")
    events = {kind: ids for kind, ids in events.items() if ids}
    if not events:
        return 0
    listened = _types_listened_to()
    when = timezone.localtime(at or timezone.now()).isoformat()
    written = 0
    # Labels in the data are written in the platform's language, whoever's request emitted the event.
    with translation.override(settings.LANGUAGE_CODE):
        for kind, ids in events.items():
            if kind in listened:
                written += fan_out(event_type=kind, source=source, object_ids=ids, at=when)
    return written


def _types_listened_to() -> set[str]:
    rows = WebhookSubscription.objects.filter(is_active=True, client__is_active=True).values_list("events", flat=True)
    return {kind for kinds in rows for kind in kinds}


def _listeners(event_type: str) -> list[WebhookSubscription]:
    """Active subscriptions of active clients that want ``event_type`` and hold the scope to read it.
    (Few rows: the event types are filtered here rather than with a JSON lookup SQLite lacks.)"""
    scope = EVENT_SCOPES.get(event_type)
    subscriptions = (
        WebhookSubscription.objects.filter(is_active=True, client__is_active=True, client__account__is_active=True)
        .select_related("client__account").order_by("pk")
    )
    return [s for s in subscriptions if event_type in s.events and (scope is None or scope in s.client.scopes)]


def fan_out(*, event_type: str, source: str, object_ids: list[int], at: str) -> int:
    """Write the deliveries of one emitted event, one per (listening subscription, object its client
    may see), and send them on commit. Returns the number written. Safe to run twice: deliveries
    that this event already has are not written again."""
    subscriptions = _listeners(event_type)
    if not subscriptions:
        return 0
    data_for = _source(source)
    written = 0
    for start in range(0, len(object_ids), FAN_OUT_CHUNK):
        chunk = object_ids[start:start + FAN_OUT_CHUNK]
        with transaction.atomic():
            done = set(
                WebhookDelivery.objects.filter(subscription__in=subscriptions, event_type=event_type,
                                               object_id__in=chunk, replay_of__isnull=True, payload__created_at=at)
                .values_list("subscription_id", "object_id")
            )
            seen: dict[int, Mapping[int, Mapping]] = {}  # per account: clients sharing one serialise once
            rows = []
            for subscription in subscriptions:
                account = subscription.client.account
                if account.pk not in seen:
                    seen[account.pk] = {pk: _json(data) for pk, data in data_for(account, chunk).items()}
                for pk, data in seen[account.pk].items():
                    if (subscription.pk, pk) not in done:
                        rows.append(WebhookDelivery(
                            subscription=subscription, event_type=event_type, object_id=pk,
                            payload={"type": event_type, "created_at": at, "data": data},
                        ))
            for row in WebhookDelivery.objects.bulk_create(rows, batch_size=500):
                enqueue_on_commit("governance.webhook_deliver", row.pk, 1)
            written += len(rows)
    return written


def _json(data: Mapping) -> dict:
    """Plain JSON values (a serializer's output may hold lazy strings, decimals, dates)."""
    return json.loads(json.dumps(data, cls=JSONEncoder, ensure_ascii=False))


# --- Delivering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What one run of the delivery task did. ``retry_in``: send attempt ``attempt + 1`` that many
    seconds from now."""

    outcome: str  # "delivered", "retry", "failed" or "skipped"
    attempt: int = 0
    retry_in: int | None = None


def retry_delay(attempts_made: int) -> int | None:
    """Seconds to wait after the ``attempts_made``-th failed attempt; None: give up."""
    return RETRY_DELAYS_S[attempts_made - 1] if attempts_made <= len(RETRY_DELAYS_S) else None


def deliver(delivery_id: int, attempt: int = 1) -> Attempt:
    """Make attempt number ``attempt`` at sending a delivery, and record its outcome.

    Skipped, quietly, when the delivery is gone, is no longer pending, or has had this attempt made
    (or started) already: a re-delivered copy of the task, or a second run racing this one.
    """
    delivery = (WebhookDelivery.objects.select_related("subscription__client__account")
                .filter(pk=delivery_id, status=Status.PENDING, attempts=attempt - 1).first())
    if delivery is None:
        return Attempt("skipped", attempt)
    subscription = delivery.subscription
    client = subscription.client
    unclaimed = WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING, attempts=attempt - 1)
    if not (subscription.is_active and client.is_active and client.account.is_active):
        unclaimed.update(status=Status.FAILED,
                         last_error=gettext("Not sent: the subscription or its client is switched off."))
        return Attempt("failed", attempt)
    # The claim: only one run can move ``attempts`` from attempt - 1 to attempt. No transaction is held
    # open during the POST. If the worker dies mid-POST, the attempt stays counted with no outcome, and
    # the resend job makes the next one after the usual wait.
    now = timezone.now()
    if not unclaimed.update(attempts=attempt, last_attempt_at=now):
        return Attempt("skipped", attempt)
    response_status, error = _post(delivery, subscription, now)
    outcome = {"response_status": response_status, "last_error": error}
    wait = None if error == "" else retry_delay(attempt)
    if error == "":
        outcome.update(status=Status.DELIVERED, delivered_at=timezone.now())
    elif wait is None:
        outcome.update(status=Status.FAILED)
        logger.warning("webhook delivery %s to %s failed after %s attempts: %s", delivery.pk, subscription.url,
                       attempt, error)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**outcome)
    if wait is not None:
        return Attempt("retry", attempt, retry_in=wait)
    return Attempt("delivered" if error == "" else "failed", attempt)


def body_of(delivery: WebhookDelivery) -> dict:
    """The JSON body a delivery sends: its payload, headed by its id."""
    return {"id": delivery.pk, **delivery.payload}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + HMAC-SHA256 of ``<timestamp>.<body>`` with the subscription's secret."""
    return sign(secret, timestamp.encode("ascii") + b"." + body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is a failed attempt: the POST is neither re-sent elsewhere nor turned into a GET."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _post(delivery: WebhookDelivery, subscription: WebhookSubscription, now) -> tuple[int | None, str]:
    """POST the delivery once: (response status or None, "" on success or what went wrong)."""
    body = json.dumps(body_of(delivery), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(subscription.url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-GridGov-Event": delivery.event_type,
        "X-GridGov-Delivery": str(delivery.pk),
        "X-GridGov-Timestamp": timestamp,
        "X-GridGov-Signature": signature(subscription.secret, timestamp, body),
    })
    try:
        with _opener.open(request, timeout=TIMEOUT_S) as response:
            response.read(1024)
            return response.status, ""
    except urllib.error.HTTPError as exc:  # the receiver answered, with something other than 2xx
        with exc:
            try:
                excerpt = exc.read(300).decode("utf-8", "replace").strip()
            except (OSError, http.client.HTTPException):
                excerpt = ""
        return exc.code, f"HTTP {exc.code} {exc.reason}" + (f": {excerpt}" if excerpt else "")
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:  # no answer
        reason = getattr(exc, "reason", None) or exc
        return None, f"{type(exc).__name__}: {reason}"[:1000]


# --- Replays -------------------------------------------------------------------------------------


class SubscriptionOff(DomainError):
    status = 409
    code = "conflict"


@transaction.atomic
def webhook_replay(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send a delivery's payload again, as a new delivery pointing at the original."""
    subscription = delivery.subscription
    if not subscription.is_active:
        raise SubscriptionOff(gettext("The subscription is switched off: switch it on to replay its deliveries."))
    replay = WebhookDelivery.objects.create(
        subscription=subscription, event_type=delivery.event_type, object_id=delivery.object_id,
        payload=delivery.payload, replay_of=delivery,
    )
    audit_log(actor=actor, action="governance.webhook_delivery.replayed", obj=replay,
              data={"replay_of": delivery.pk, "client": subscription.client.name, "url": subscription.url})
    enqueue_on_commit("governance.webhook_deliver", replay.pk, 1)
    return replay


# --- Subscriptions (a client's own) --------------------------------------------------------------


def subscriptions_of(client: ApiClient | None) -> QuerySet[WebhookSubscription]:
    """The client's subscriptions; none for a browser session (subscriptions belong to clients)."""
    if client is None:
        return WebhookSubscription.objects.none()
    return WebhookSubscription.objects.filter(client=client)


def get_subscription_for_client(client: ApiClient | None, pk) -> WebhookSubscription:
    """The client's own subscription; 404 for one that is missing or another client's."""
    subscription = subscriptions_of(client).filter(pk=pk).first()
    if subscription is None:
        raise Http404
    return subscription


def deliveries_of(client: ApiClient | None) -> QuerySet[WebhookDelivery]:
    if client is None:
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.filter(subscription__client=client)


def get_delivery_for_client(client: ApiClient | None, pk) -> WebhookDelivery:
    delivery = deliveries_of(client).select_related("subscription__client").filter(pk=pk).first()
    if delivery is None:
        raise Http404
    return delivery


def check_events(client: ApiClient, events: list[str]) -> list[str]:
    """The events in their catalogue order, or a ValidationError naming the scopes they need."""
    needed = sorted({EVENT_SCOPES[e] for e in events if e in EVENT_SCOPES} - set(client.scopes))
    if needed:
        raise ValidationError({"events": ngettext(
            "These events need the scope %(scopes)s, which this client lacks.",
            "These events need the scopes %(scopes)s, which this client lacks.", len(needed),
        ) % {"scopes": ", ".join(needed)}})
    return [value for value in WebhookEvent.values if value in events]


_AUDITED = ["url", "events", "is_active"]  # never the secret


@transaction.atomic
def subscription_create(*, client: ApiClient, url: str, events: list[str], is_active: bool = True,
                        actor=None) -> WebhookSubscription:
    ApiClient.objects.select_for_update().filter(pk=client.pk).first()  # one count at a time per client
    if subscriptions_of(client).count() >= MAX_SUBSCRIPTIONS:
        raise ValidationError(gettext("A client may have at most %(n)s subscriptions; delete one first.")
                              % {"n": MAX_SUBSCRIPTIONS})
    subscription = WebhookSubscription(client=client, url=url, events=check_events(client, events),
                                       is_active=is_active)
    subscription.full_clean()
    subscription.save()
    audit_log(actor=actor, action="governance.webhook_subscription.created", obj=subscription,
              data={"client": client.name, **{name: getattr(subscription, name) for name in _AUDITED}})
    return subscription


@transaction.atomic
def subscription_update(*, subscription: WebhookSubscription, actor=None, **changes) -> WebhookSubscription:
    """Change the address, the event types or whether it is active (nothing else may change)."""
    unknown = set(changes) - set(_AUDITED)
    if unknown:
        raise TypeError(f"subscription_update cannot change {sorted(unknown)}")
    if "events" in changes:
        changes["events"] = check_events(subscription.client, changes["events"])
    before = {name: getattr(subscription, name) for name in _AUDITED}
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.full_clean()
    if changes:
        subscription.save(update_fields=list(changes))
    diff = {name: [before[name], getattr(subscription, name)] for name in _AUDITED
            if before[name] != getattr(subscription, name)}
    if diff:
        audit_log(actor=actor, action="governance.webhook_subscription.changed", obj=subscription, changes=diff)
    return subscription


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription, actor=None) -> None:
    """Delete a subscription and its deliveries' log (switch it off instead to keep the log)."""
    audit_log(actor=actor, action="governance.webhook_subscription.deleted", obj=subscription,
              data={"client": subscription.client.name, **{name: getattr(subscription, name) for name in _AUDITED}})
    subscription.delete()
