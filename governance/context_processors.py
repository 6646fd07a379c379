from django.http import HttpRequest

from governance.navigation import nav_for
from governance.selectors import roles_of


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    return {"nav_items": nav_for(roles_of(user), is_staff=user.is_staff, current_path=request.path)}
