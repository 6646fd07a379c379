from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from governance import notifications
from governance.exports import page_export, requested_format
from governance.health import health_report
from governance.home import home_panels
from governance.models import UnitLevel
from governance.selectors import (
    departments_visible_to,
    get_department_for_user,
    get_unit_for_user,
    units_visible_to,
)


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, body = health_report()
    return JsonResponse(body, status=200 if healthy else 503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/home.html", {"panels": home_panels(request.user)})


def _tree_order(units) -> list:
    return sorted(units, key=lambda u: [int(p) for p in u.path.strip("/").split("/")])


UNIT_COLUMNS = [
    ("code", _("Division code")),
    ("name", _("Name")),
    ("kind", _("Kind")),
    ("level", _("Level")),
    ("parent", _("Parent unit")),
]


def unit_row(unit) -> dict:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind_label, "level": unit.get_level_display(),
            "parent": unit.parent.name if unit.parent else ""}


def unit_list(request: HttpRequest) -> HttpResponse:
    """The units in the user's jurisdiction, as an indented tree (communities folded under streets)."""
    units = units_visible_to(request.user).exclude(level__in=[UnitLevel.PROVINCE]).order_by("path")
    if fmt := requested_format(request):
        return page_export(request, fmt=fmt, list_name="governance.units", title=_("Units"),
                           objects=_tree_order(units.select_related("parent")), columns=UNIT_COLUMNS, row=unit_row)
    units = _tree_order(units)
    top_depth = min((u.path.count("/") for u in units), default=0)
    rows = [{"unit": u, "indent": u.path.count("/") - top_depth} for u in units]
    return render(request, "governance/unit_list.html", {"rows": rows})


def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_unit_for_user(request.user, pk)
    ancestors = unit.ancestors()
    # Breadcrumbs link only to units the user may open; the rest show as plain names.
    openable = set(units_visible_to(request.user).filter(pk__in=[a.pk for a in ancestors]).values_list("pk", flat=True))
    context = {
        "unit": unit,
        "ancestors": [(a, a.pk in openable) for a in ancestors],
        "children": unit.children.order_by("code"),
        "departments": unit.departments.order_by("name"),
        "assignments": unit.assignments.active().select_related("user").order_by("role"),
        "code_changes": unit.code_changes.all()[:20],
    }
    return render(request, "governance/unit_detail.html", context)


DEPARTMENT_COLUMNS = [
    ("name", _("Name")),
    ("short_name", _("Short name")),
    ("kind", _("Kind")),
    ("unit", _("Unit")),
    ("supervisor", _("Supervising department")),
    ("is_active", _("Active")),
]


def department_row(department) -> dict:
    return {"name": department.name, "short_name": department.short_name, "kind": department.get_kind_display(),
            "unit": department.unit.name, "supervisor": department.supervisor.name if department.supervisor else "",
            "is_active": department.is_active}


def department_list(request: HttpRequest) -> HttpResponse:
    departments = departments_visible_to(request.user).select_related("unit", "supervisor")
    if fmt := requested_format(request):
        return page_export(request, fmt=fmt, list_name="governance.departments", title=_("Departments"),
                           objects=departments, columns=DEPARTMENT_COLUMNS, row=department_row)
    return render(request, "governance/department_list.html", {"departments": departments})


def department_detail(request: HttpRequest, pk: int) -> HttpResponse:
    department = get_department_for_user(request.user, pk)
    assignments = department.assignments.active().select_related("user")
    return render(request, "governance/department_detail.html", {"department": department, "assignments": assignments})


INBOX_PAGE_SIZE = 30


def inbox(request: HttpRequest) -> HttpResponse:
    """The user's notifications, unread first."""
    page = Paginator(notifications.inbox_for(request.user), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "governance/inbox.html", {"page": page})


def inbox_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way (the inbox if it has none)."""
    notification = notifications.notification_mark_read(user=request.user, pk=pk)
    target = notification.url
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("governance:inbox")


@require_POST
def inbox_mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    notifications.notification_mark_read(user=request.user, pk=pk)
    return redirect("governance:inbox")


@require_POST
def inbox_mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications.notification_mark_all_read(user=request.user)
    return redirect("governance:inbox")
