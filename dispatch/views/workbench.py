"""Dispatch views: workbench (see dispatch/views/__init__.py).

The command centre's queue and map of open cases with bulk accept and dispatch, the department
handler's queue and the grid worker's list of cases to verify. Every list starts from
``selectors.events_visible_to``.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from dispatch import services
from dispatch.case_forms import BulkForm
from dispatch.display import clock_colour, clock_of
from dispatch.exports import EVENT_COLUMNS, event_row
from dispatch.filters import (
    DEFAULT_GROUP,
    GROUPS,
    GROUPS_BY_KEY,
    EventFilter,
    department_groups,
    group_counts,
    in_group,
    my_department_ids,
    queue_order,
    tab_order,
    to_verify_q,
)
from dispatch.models import LIVE_STATES, Event, MinorClass, State
from dispatch.selectors import events_visible_in_parts, events_visible_to
from dispatch.workflow import OPEN_STATES, WorkflowError
from governance.exports import page_export, requested_format
from governance.models import AdministrativeUnit
from governance.roles import COMMAND_ROLES, Role
from governance.selectors import active_assignments, roles_of
from grids.models import Grid

WORKBENCH_ROLES = COMMAND_ROLES | {Role.LEADER, Role.ADMINISTRATOR}
VERIFY_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER})
PAGE_SIZE = 50
MAP_POINTS_CAP = 5000


def with_row_relations(rows: QuerySet[Event]) -> QuerySet[Event]:
    """What a queue row shows: fetched for the rows of the page only, by key (joined, they would be joined
    to every case in the queue before its sort), and without the polygons it does not show."""
    return rows.prefetch_related(
        Prefetch("minor", queryset=MinorClass.objects.select_related("major")),
        Prefetch("unit", queryset=AdministrativeUnit.objects.defer("boundary")),
        Prefetch("grid", queryset=Grid.objects.defer("boundary")),
        "department",
    )


def require_roles(user, roles) -> None:
    if not (roles_of(user) & roles):
        raise PermissionDenied


def with_clocks(rows, now: datetime.datetime) -> list[Event]:
    rows = list(rows)
    for event in rows:
        event.clock = clock_of(event, now)
    return rows


def tab_links(request: HttpRequest, groups, counts: dict[str, int], current: str) -> list[dict]:
    """One tab per group, keeping the other filters of the current address."""
    tabs = []
    for key, label in groups:
        query = request.GET.copy()
        query.pop("page", None)
        query["group"] = key
        tabs.append({"key": key, "label": label, "count": counts.get(key), "active": key == current,
                     "url": f"?{query.urlencode()}"})
    return tabs


def export_cases(request: HttpRequest, fmt: str, rows: QuerySet[Event], *, list_name: str,
                 now: datetime.datetime) -> HttpResponse:
    """Every case of the queue under its current tab and filters (all pages) as a file."""
    return page_export(request, fmt=fmt, list_name=list_name, title=gettext_lazy("Cases"), objects=rows,
                       columns=EVENT_COLUMNS, row=event_row(now))


def page_of(request: HttpRequest, rows: QuerySet[Event], now: datetime.datetime, *, count: int | None = None):
    """The requested page of ``rows`` with their clocks; ``count``, when the caller already knows how
    many rows there are (the tab counts), spares the paginator counting them again."""
    paginator = Paginator(rows, PAGE_SIZE)
    if count is not None:
        paginator.count = count
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = with_clocks(page.object_list, now)
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


# --- The command-centre workbench ----------------------------------------------------------------


def workbench(request: HttpRequest) -> HttpResponse:
    require_roles(request.user, WORKBENCH_ROLES)
    now = timezone.now()
    filterset = EventFilter(request.GET or None, queryset=events_visible_to(request.user), request=request, now=now)
    events = filterset.qs
    group = request.GET.get("group") if request.GET.get("group") in GROUPS_BY_KEY else DEFAULT_GROUP
    rows = with_row_relations(tab_order(in_group(events, group, now), group))
    if fmt := requested_format(request):
        return export_cases(request, fmt, rows, list_name="dispatch.workbench", now=now)
    counts = group_counts([filterset.narrow(part) for part in events_visible_in_parts(request.user)], now)
    # The archive tab ("closed") is counted by its paginator, only when it is the tab open.
    page, query = page_of(request, rows, now, count=counts.get(group))
    counts[group] = page.paginator.count
    map_query = request.GET.copy()
    for name in ("group", "page"):
        map_query.pop(name, None)
    context = {
        "filterset": filterset,
        "tabs": tab_links(request, [(g.key, g.label) for g in GROUPS], counts, group),
        "group": GROUPS_BY_KEY[group],
        "page": page,
        "query": query,
        "bulk_form": BulkForm(),
        "next": request.get_full_path(),
        "map_config": {
            "tiles": settings.GRIDGOV_MAP_TILES,
            "center": list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"]),
            "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
            "pointsUrl": reverse("dispatch:map_points") + (f"?{map_query.urlencode()}" if map_query else ""),
            "caseUrl": reverse("dispatch:case", args=[0]),
        },
        "map_text": {
            "truncated": gettext("Showing the first %(n)s open cases; narrow the filters to see the rest."),
            "none": gettext("No open case with a location matches these filters."),
            "failed": gettext("The map could not load the cases."),
            "count": gettext("%(n)s open cases on the map"),
        },
    }
    return render(request, "dispatch/workbench.html", context)


def map_points(request: HttpRequest) -> JsonResponse:
    """Open cases in scope with a location, under the workbench filters, capped at MAP_POINTS_CAP.

    Rows as arrays (id, lon, lat, clock colour, number, title, state) to keep thousands of points small.
    """
    require_roles(request.user, WORKBENCH_ROLES)
    now = timezone.now()
    filterset = EventFilter(request.GET or None, queryset=events_visible_to(request.user), request=request, now=now)
    rows = (
        filterset.qs.filter(state__in=OPEN_STATES, lon__isnull=False, lat__isnull=False)
        .order_by("-created_at")
        .values_list("pk", "lon", "lat", "number", "title", "state", "step_due_at", "step_yellow_at", "alert",
                     "paused_at")[: MAP_POINTS_CAP + 1]
    )
    states = dict(State.choices)
    points = []
    for pk, lon, lat, number, title, state, due, yellow, alert, paused in rows:
        colour = clock_colour(SimpleNamespace(step_due_at=due, step_yellow_at=yellow, alert=alert, paused_at=paused),
                              now)
        points.append([pk, round(lon, 6), round(lat, 6), colour, number, title, str(states.get(state, state))])
    truncated = len(points) > MAP_POINTS_CAP
    return JsonResponse({"points": points[:MAP_POINTS_CAP], "truncated": truncated, "cap": MAP_POINTS_CAP})


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Accept or dispatch the ticked cases one by one; one failing never undoes the others.

    Each case goes through its own service call (its own transaction) with the version its row
    showed, so a case someone else changed meanwhile is refused and reported, the rest go ahead.
    """
    require_roles(request.user, WORKBENCH_ROLES)
    back = _safe_next(request, reverse("dispatch:workbench"))
    form = BulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    action, department = form.cleaned_data["action"], form.cleaned_data["department"]
    picked = form.cleaned_data["cases"]
    found = events_visible_to(request.user).select_related("minor", "unit").in_bulk([pk for pk, _v in picked])
    done: list[str] = []
    for pk, version in picked:
        event = found.get(pk)
        if event is None:
            messages.error(request, gettext("Case %(id)s: not found.") % {"id": pk})
            continue
        try:
            if action == BulkForm.ACCEPT:
                services.event_accept(event=event, actor=request.user, expected_version=version)
            else:
                services.event_dispatch(event=event, actor=request.user, department=department,
                                        expected_version=version)
        except ValidationError as error:
            messages.error(request, f"{event.number}: {' '.join(error.messages)}")
        except WorkflowError as error:
            messages.error(request, f"{event.number}: {error.message}")
        else:
            done.append(event.number)
    if done:
        text = (gettext("Accepted %(n)d cases: %(numbers)s") if action == BulkForm.ACCEPT
                else gettext("Dispatched %(n)d cases: %(numbers)s"))
        messages.success(request, text % {"n": len(done), "numbers": ", ".join(done)})
    return redirect(back)


# --- The department handler's queue --------------------------------------------------------------


def department_queue(request: HttpRequest) -> HttpResponse:
    """Cases the handler's departments lead, or help on with an open co-handling or summons."""
    department_ids = my_department_ids(request.user)
    if not department_ids:
        raise PermissionDenied
    now = timezone.now()
    groups = department_groups(department_ids, now)
    conditions = {key: condition for key, _label, condition in groups}
    group = request.GET.get("group") if request.GET.get("group") in conditions else "sign"
    events = events_visible_to(request.user)
    rows = with_row_relations(queue_order(events.filter(conditions[group])))
    if fmt := requested_format(request):
        return export_cases(request, fmt, rows, list_name="dispatch.department_queue", now=now)
    counts = events.filter(state__in=LIVE_STATES).aggregate(  # every tab lies within the live cases
        **{key: Count("pk", filter=condition) for key, condition in conditions.items()})
    page, query = page_of(request, rows, now, count=counts[group])
    departments = [a.department for a in active_assignments(request.user) if a.department_id in department_ids]
    return render(request, "dispatch/department_queue.html", {
        "tabs": tab_links(request, [(key, label) for key, label, _c in groups], counts, group),
        "page": page, "query": query, "departments": departments,
    })


# --- The grid worker's cases to verify -----------------------------------------------------------


def verify_queue(request: HttpRequest) -> HttpResponse:
    """Cases waiting for the grid worker's check on the spot, and his own recent reports."""
    require_roles(request.user, VERIFY_ROLES)
    now = timezone.now()
    user = request.user
    visible = events_visible_to(user)
    to_verify = with_row_relations(visible.filter(to_verify_q(user)))
    if fmt := requested_format(request):
        return export_cases(request, fmt, queue_order(to_verify), list_name="dispatch.verify_queue", now=now)
    reports = with_row_relations(visible.filter(reporter=user)).order_by("-created_at")[:20]
    return render(request, "dispatch/verify_queue.html", {
        "to_verify": with_clocks(queue_order(to_verify), now),
        "reports": with_clocks(reports, now),
    })


urlpatterns = [
    path("", workbench, name="workbench"),
    path("map.json", map_points, name="map_points"),
    path("bulk/", bulk, name="bulk"),
    path("department/", department_queue, name="department_queue"),
    path("verify/", verify_queue, name="verify_queue"),
]
