import datetime

from django import template

register = template.Library()


@register.filter
def minutes(value: datetime.timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lockout of 14 min 30 s reads "15 minutes")."""
    if not value:
        return 0
    return -(-int(value.total_seconds()) // 60)
