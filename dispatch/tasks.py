"""Celery tasks of the dispatch loop. Each takes ids, returns quietly when its rows are gone, and is
safe to run twice; only named transient errors (the database briefly unavailable) are retried."""

from __future__ import annotations

import dataclasses
import datetime
import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone, translation

from dispatch import notify, sweep as deadline_sweep
from dispatch.models import Transition
from governance.params import get_param
from governance.queue import send_now

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError,)
RESEND_AFTER_S = 120  # a follow-up not done by then was never sent (or was lost): send it again
RESEND_BATCH = 500


@shared_task(name="dispatch.transition_follow_up", autoretry_for=TRANSIENT, retry_backoff=5, retry_backoff_max=300,
             retry_jitter=True, max_retries=8)
def transition_follow_up(transition_id: int) -> int:
    """Notify the people concerned by one history row (nothing if it is gone or already followed up)."""
    # Messages are written in the platform's language, whoever's request happened to send the task.
    with translation.override(settings.LANGUAGE_CODE):
        return notify.follow_up(transition_id)


@shared_task(name="dispatch.sweep", autoretry_for=TRANSIENT, retry_backoff=5, retry_backoff_max=60, max_retries=3)
def sweep() -> dict:
    with translation.override(settings.LANGUAGE_CODE):
        result = deadline_sweep.sweep()
    return dataclasses.asdict(result)


@shared_task(name="dispatch.follow_ups_resend", autoretry_for=TRANSIENT, retry_backoff=5, max_retries=3)
def follow_ups_resend(min_age_seconds: int = RESEND_AFTER_S) -> int:
    """Send again the follow-ups of history rows still not followed up ``min_age_seconds`` after they
    were written — their task never reached the broker (Redis down at the time) or was lost.

    Follow-ups are idempotent, so one still waiting in a busy queue is harmless to send twice. Rows
    older than the ``dispatch.follow_up_window_days`` parameter (7) are left alone: telling people
    about week-old steps helps nobody. Stops at the first send the broker refuses.
    """
    now = timezone.now()
    window = datetime.timedelta(days=float(get_param("dispatch.follow_up_window_days", 7)))
    pending = Transition.objects.filter(
        followed_up_at__isnull=True, at__lt=now - datetime.timedelta(seconds=min_age_seconds), at__gte=now - window
    ).order_by("pk").values_list("pk", flat=True)
    sent = 0
    last = None
    while True:
        batch = list((pending.filter(pk__gt=last) if last else pending)[:RESEND_BATCH])
        for pk in batch:
            if not send_now("dispatch.transition_follow_up", pk):
                logger.warning("follow-up re-send stopped after %s: the broker refuses tasks", sent)
                return sent
            sent += 1
        if len(batch) < RESEND_BATCH:
            return sent
        last = batch[-1]
