"""Periodic upkeep of the core."""

import datetime

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from governance.models import RoleAssignment, User
from governance.services import permissions_sync


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
