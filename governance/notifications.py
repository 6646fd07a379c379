"""Notifications: the in-app inbox, and copies by email and webhook sent by Celery.

``notify`` (and ``notify_many`` for a batch) writes the inbox rows — the record that a person was
told — and, once the transaction commits, sends one email task per row whose recipient has an
address and one webhook task per matching ``NotificationWebhook``. Tasks take ids and retry on
their own (``governance.tasks``); a broker that is down loses the copies, never the inbox rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from governance.models import Notification, NotificationWebhook, RoleAssignment
from governance.queue import enqueue_on_commit
from governance.roles import DEPARTMENT_ROLES, Role

SIGNATURE_HEADER = "X-GridGov-Signature"


@dataclass
class Message:
    """One message to several people (each gets an inbox row of their own)."""

    recipients: Iterable
    title: str
    body: str = ""
    url: str = ""
    kind: str = ""
    users: list = field(default_factory=list, init=False)


def notify(recipients: Iterable, *, title: str, body: str = "", url: str = "", kind: str = "") -> list[Notification]:
    """Put a message in the inbox of each active recipient (duplicates and ``None`` ignored)."""
    return notify_many([Message(recipients, title=title, body=body, url=url, kind=kind)])


def notify_many(messages: Iterable[Message]) -> list[Notification]:
    """Write the inbox rows of many messages in one go, then queue their email and webhook copies."""
    now = timezone.now()
    rows: list[Notification] = []
    sent: list[tuple[Message, list[Notification]]] = []
    for message in messages:
        message.users = _active_unique(message.recipients)
        mine = [
            Notification(recipient=user, title=str(message.title)[:200], body=str(message.body), url=message.url[:255],
                         kind=message.kind[:64], created_at=now)
            for user in message.users
        ]
        rows.extend(mine)
        sent.append((message, mine))
    if not rows:
        return []
    Notification.objects.bulk_create(rows, batch_size=1000)
    for row in rows:
        if row.recipient.email:
            enqueue_on_commit("governance.notification_email", row.pk)
    _queue_webhooks(sent)
    return rows


def _active_unique(recipients: Iterable) -> list:
    seen: set[int] = set()
    users = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        users.append(user)
    return users


def _queue_webhooks(sent: list[tuple[Message, list[Notification]]]) -> None:
    hooks = list(NotificationWebhook.objects.filter(is_active=True).select_related("unit"))
    if not hooks:
        return
    for hook in hooks:
        audience = _webhook_audience(hook)
        for message, rows in sent:
            if not rows or not hook.wants(message.kind):
                continue
            ids = [row.pk for row in rows if audience is None or row.recipient_id in audience]
            if ids:
                enqueue_on_commit("governance.notification_webhook", hook.pk, ids)


def _webhook_audience(hook: NotificationWebhook) -> set[int] | None:
    """The people whose notifications the webhook receives; None: everyone's."""
    if hook.department_id is None and hook.unit_id is None:
        return None
    active = RoleAssignment.objects.active()
    audience: set[int] = set()
    if hook.department_id is not None:
        audience |= set(active.filter(department_id=hook.department_id, role=Role.DEPARTMENT_HANDLER)
                        .values_list("user_id", flat=True))
    if hook.unit_id is not None:
        audience |= set(active.filter(unit__path__startswith=hook.unit.path).exclude(role__in=DEPARTMENT_ROLES)
                        .values_list("user_id", flat=True))
    return audience


# --- Delivery helpers (used by the tasks) --------------------------------------------------------


def absolute_url(path: str) -> str:
    """The link as someone outside the site sees it (email, webhook): ``SITE_URL`` + path."""
    if not path or path.startswith(("http://", "https://")) or not settings.SITE_URL:
        return path
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


def webhook_payload(hook: NotificationWebhook, notifications: list[Notification]) -> bytes:
    """The JSON body of one delivery: the message once, with the people it went to."""
    first = notifications[0]
    body = {
        "delivery": f"{hook.pk}-{first.pk}",  # the same on every retry: receivers drop repeats by it
        "kind": first.kind,
        "title": first.title,
        "body": first.body,
        "url": absolute_url(first.url),
        "created_at": first.created_at.isoformat(),
        "recipients": [
            {"username": n.recipient.username, "name": n.recipient.full_name or n.recipient.username}
            for n in notifications
        ],
    }
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# --- The inbox (reads and the reader's own writes) -----------------------------------------------


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def inbox_for(user) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first within each."""
    return Notification.objects.filter(recipient=user).annotate(
        is_read=Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("is_read", "-created_at", "-pk")


def get_notification_for_user(user, pk: int) -> Notification:
    """The user's own notification; 404 for one that is missing or someone else's."""
    return get_object_or_404(Notification, pk=pk, recipient=user)


@transaction.atomic
def notification_mark_read(*, user, pk: int) -> Notification:
    notification = get_notification_for_user(user, pk)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
