"""Periodic upkeep of the core, the delivery of notifications by email and webhook, and the webhooks
of API clients (fan-out, signed delivery with retries; see governance.api.webhooks)."""

import datetime
import logging
import smtplib
import urllib.error
import urllib.request

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from governance.api import webhooks
from governance.models import Notification, NotificationWebhook, RoleAssignment, User, WebhookDelivery
from governance.notifications import SIGNATURE_HEADER, absolute_url, sign, webhook_payload
from governance.queue import send_now
from governance.services import permissions_sync

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10
WEBHOOK_MAX_RETRIES = 5


@shared_task
def assignments_expire() -> int:
    """Withdraw the object permissions of assignments that have lapsed (or start) by date.

    Idempotent: it recomputes each affected person's permissions from their assignments.
    """
    today = timezone.localdate()
    changed = RoleAssignment.objects.filter(
        Q(ended_on__gte=today - datetime.timedelta(days=2), ended_on__lte=today) | Q(started_on=today)
    ).values("user_id")
    count = 0
    for user in User.objects.filter(pk__in=changed):
        permissions_sync(user=user)
        count += 1
    return count


@shared_task(
    name="governance.notification_email",
    autoretry_for=(smtplib.SMTPException, OSError),  # the mail server refused or could not be reached
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=5,
)
def notification_email(notification_id: int) -> str:
    """Send the email copy of one inbox row (skipped if the row, the address or the person is gone)."""
    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None or not notification.recipient.is_active or not notification.recipient.email:
        return "skipped"
    body = notification.body
    link = absolute_url(notification.url)
    if link:
        body = f"{body}\n\n{link}" if body else link
    send_mail(notification.title, body, settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
    return "sent"


@shared_task(bind=True, name="governance.notification_webhook", max_retries=WEBHOOK_MAX_RETRIES)
def notification_webhook(self, webhook_id: int, notification_ids: list[int]) -> str:
    """POST one message to a webhook, signed; retried with backoff on network errors and 5xx answers,
    given up on 4xx (the receiver refuses it; sending again would not help)."""
    hook = NotificationWebhook.objects.filter(pk=webhook_id, is_active=True).first()
    rows = list(Notification.objects.filter(pk__in=notification_ids).select_related("recipient").order_by("pk"))
    if hook is None or not rows:
        return "skipped"
    body = webhook_payload(hook, rows)
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "GridGov-Webhook/1",
                 SIGNATURE_HEADER: sign(hook.secret, body), "X-GridGov-Kind": rows[0].kind},
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        if exc.code < 500:
            logger.warning("webhook %s (%s) refused delivery with HTTP %s; not retried", hook.pk, hook.url, exc.code)
            return f"refused {exc.code}"
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from None
    return "delivered"


def _backoff(retries: int) -> int:
    """30 s, 1 min, 2 min, 4 min, 8 min …, at most an hour."""
    return min(30 * 2**retries, 3600)


# --- Webhooks of API clients (governance.api.webhooks) ---------------------------------------------

WEBHOOK_TRANSIENT = (OperationalError,)  # the database briefly unavailable; HTTP failures are recorded, not raised
DELIVERIES_RESEND_GRACE_S = 300  # an attempt this late past its time was never sent (or was lost)
DELIVERIES_RESEND_WINDOW = datetime.timedelta(days=2)


@shared_task(bind=True, name="governance.webhook_deliver", autoretry_for=WEBHOOK_TRANSIENT, retry_backoff=5,
             retry_backoff_max=300, retry_jitter=True, max_retries=webhooks.MAX_ATTEMPTS + 10)
def webhook_deliver(self, delivery_id: int, attempt: int = 1) -> str:
    """Make one attempt at a delivery; a failed one is tried again after the backoff of
    ``webhooks.RETRY_DELAYS_S`` (the row counts the attempts, so a stale copy of this task is dropped)."""
    result = webhooks.deliver(delivery_id, attempt)
    if result.retry_in is not None:
        raise self.retry(args=[delivery_id], kwargs={"attempt": attempt + 1}, countdown=result.retry_in)
    return result.outcome


@shared_task(name="governance.webhook_deliveries_resend", autoretry_for=WEBHOOK_TRANSIENT, retry_backoff=5,
             max_retries=3)
def webhook_deliveries_resend(grace_seconds: int = DELIVERIES_RESEND_GRACE_S) -> int:
    """Send again the pending deliveries whose next attempt is overdue by ``grace_seconds``: their task
    never reached the broker (Redis down at the time) or was lost. A copy of an attempt still waiting
    in the queue is harmless: the first to run makes the attempt, the other is dropped. Deliveries
    older than two days are left alone. Stops at the first send the broker refuses."""
    now = timezone.now()
    pending = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING,
                                             created_at__gte=now - DELIVERIES_RESEND_WINDOW)
    grace = datetime.timedelta(seconds=grace_seconds)
    due = Q(attempts=0, created_at__lt=now - grace)
    for made in range(1, webhooks.MAX_ATTEMPTS):
        wait = datetime.timedelta(seconds=webhooks.retry_delay(made))
        due |= Q(attempts=made, last_attempt_at__lt=now - wait - grace)
    sent = 0
    for pk, attempts in pending.filter(due).order_by("pk").values_list("pk", "attempts")[:5000]:
        if not send_now("governance.webhook_deliver", pk, attempts + 1):
            logger.warning("webhook delivery re-send stopped after %s: the broker refuses tasks", sent)
            break
        sent += 1
    return sent
