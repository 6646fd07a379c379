from functools import cache

from django.http import HttpRequest

from governance.navigation import nav_for
from governance.notifications import unread_count
from governance.selectors import roles_of


def navigation(request: HttpRequest) -> dict:
    """The top bar: the sections the user may open, and the unread count of the inbox (counted
    only if the page shows it)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "inbox_unread": 0}
    return {
        "nav_items": nav_for(roles_of(user), is_staff=user.is_staff, current_path=request.path),
        # A callable: templates call it when they use it, and it counts once per request.
        "inbox_unread": cache(lambda: unread_count(user)),
    }
