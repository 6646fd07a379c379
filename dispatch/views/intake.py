"""Dispatch views: intake (see dispatch/views/__init__.py).

The grid worker's report from a phone (photos, GPS or a map pick, category search, handling on the
spot), the hotline operator's call record, and the photos of cases as staff see them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext, gettext_lazy

from dispatch import selectors, services
from dispatch.clock import limit_label
from dispatch.exports import HOTLINE_COLUMNS, hotline_row
from dispatch.forms import REASON_SCRIPTS, HotlineForm, ReportForm, add_service_errors, point_error
from dispatch.models import Attachment, Channel, HotlineCall
from dispatch.views.public import photo_limits, receipt_display, serve_file
from governance.deadlines import TimeLimit
from governance.exports import page_export, requested_format
from governance.models import UnitLevel
from governance.roles import COMMAND_ROLES, Role
from governance.selectors import roles_of, units_visible_to
from grids.selectors import locate_point, my_grids

REPORT_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER, *COMMAND_ROLES})
HOTLINE_ROLES = COMMAND_ROLES


def _require_role(user, roles) -> None:
    if not (user.is_superuser or roles_of(user) & roles):
        raise PermissionDenied


def _case_url(pk: int) -> str:
    """The case page (built in dispatch.views.case); empty until that page exists."""
    try:
        return reverse("dispatch:case", args=[pk])
    except NoReverseMatch:
        return ""


def _map_config(grids) -> dict:
    """What the pick map draws: the worker's grids, and tiles when they are WGS-84 (a GCJ-02 layer
    would put a GPS fix hundreds of metres off, so then the map shows the boundaries alone)."""
    tiles = settings.GRIDGOV_MAP_TILES
    return {
        "tiles": tiles["layers"] if tiles["crs"] == "wgs84" else [],
        "subdomains": tiles["subdomains"],
        "attribution": tiles["attribution"],
        "center": list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"]),
        "grids": [{"name": g.name, "boundary": g.boundary} for g in grids if g.boundary],
    }


# Strings report_form.js shows; lazy, so each request gets them in its own language.
REPORT_PAGE_TEXT = {
    "locating": gettext_lazy("Finding your position…"),
    "gpsOk": gettext_lazy("Position found, accuracy ±%s m."),
    "gpsPoor": gettext_lazy("Position found, but only to ±%s m. Move into the open or pick the spot on the map."),
    "gpsError": gettext_lazy("No position: %s. Pick the spot on the map or choose the community."),
    "noGps": gettext_lazy("This browser cannot report its location. Pick the spot on the map."),
    "picked": gettext_lazy("Spot picked on the map."),
    "inGrid": gettext_lazy("In grid %(grid)s (%(community)s)."),
    "outside": gettext_lazy("This point is in no grid. The report is accepted; the command centre will route it."),
    "search": gettext_lazy("Search categories"),
    "noMatch": gettext_lazy("No category matches."),
    "selfOk": gettext_lazy("May be handled on the spot"),
    "urgent": gettext_lazy("Urgent"),
    "limit": gettext_lazy("Time limit"),
    "removePhoto": gettext_lazy("Remove"),
    "sending": gettext_lazy("Sending…"),
}


# --- The grid worker's report ----------------------------------------------------------------------


def _reporting_units(user) -> QuerySet:
    return (units_visible_to(user).filter(level__in=[UnitLevel.VILLAGE, UnitLevel.TOWNSHIP])
            .select_related("parent").defer("boundary", "parent__boundary").order_by("path"))


def report(request: HttpRequest) -> HttpResponse:
    """A grid worker (or centre staff) files a case from the street."""
    _require_role(request.user, REPORT_ROLES)
    grids = my_grids(request.user)
    form = ReportForm(request.POST or None, request.FILES or None, units=_reporting_units(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                event = _file_report(request.user, form)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return redirect("dispatch:report_done", event.pk)
        status = 400
    context = {
        "form": form,
        "grids": grids,
        "page_data": {
            "map": _map_config(grids),
            "searchUrl": reverse("dispatch:catalogue_search"),
            "locateUrl": reverse("dispatch:locate"),
            "text": REPORT_PAGE_TEXT,
        },
        **photo_limits(),
    }
    return render(request, "dispatch/report_form.html", context, status=status)


def _file_report(user, form: ReportForm):
    data = form.cleaned_data
    common = {"title": data["title"], "description": data["description"], "lon": data["lon"], "lat": data["lat"],
              "unit": data["unit"], "address": data["address"], "idempotency_key": form.idempotency_key}
    if data["self_handled"]:
        return services.event_self_handle(reporter=user, minor=data["category"], before_photos=data["photos"],
                                          after_photos=data["after_photos"], note=data["note"], **common)
    event, _created = services.event_report(channel=Channel.GRID, minor=data["category"], reporter=user,
                                            photos=data["photos"], **common)
    return event


def report_done(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.get_event_for_user(request.user, pk)
    return render(request, "dispatch/report_done.html", {
        "event": event, "case_url": _case_url(event.pk), "photo_count": event.attachments.count(),
    })


def catalogue_search(request: HttpRequest) -> JsonResponse:
    """The category picker's search: by name, keyword, major class or four-digit code."""
    _require_role(request.user, REPORT_ROLES | HOTLINE_ROLES)
    rows = selectors.catalogue_search(request.GET.get("q", "").strip()[:100])
    return JsonResponse({"results": [
        {
            "id": m.pk, "code": m.full_code, "name": m.name, "major": m.major.name,
            "self_handling": m.self_handling, "urgency": m.urgency, "urgency_label": m.get_urgency_display(),
            "limit": limit_label(TimeLimit(m.limit_amount, m.limit_unit)),
        }
        for m in rows
    ]})


def locate(request: HttpRequest) -> JsonResponse:
    """Which grid a point falls in, for the report page to show before the report is sent."""
    _require_role(request.user, REPORT_ROLES | HOTLINE_ROLES)
    try:
        lon, lat = float(request.GET["lon"]), float(request.GET["lat"])
    except (KeyError, ValueError):
        return JsonResponse({"error": gettext("Give a longitude and a latitude.")}, status=400)
    problem = point_error(lon, lat)
    if problem:
        return JsonResponse({"error": problem}, status=400)
    found = locate_point(lon, lat)
    if found.grid is None:
        return JsonResponse({"grid": None})
    return JsonResponse({"grid": found.grid.name, "community": found.grid.community.name})


# --- The hotline -----------------------------------------------------------------------------------


def hotline(request: HttpRequest) -> HttpResponse:
    """The operator records a 12345 call while on the line."""
    _require_role(request.user, HOTLINE_ROLES)
    form = HotlineForm(request.POST or None, units=_reporting_units(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                call = services.hotline_call_record(
                    operator=request.user, caller_name=data["caller_name"], caller_phone=data["caller_phone"],
                    request_type=data["request_type"], summary=data["summary"], outcome=data["outcome"],
                    answer=data["answer"], not_taken_reason=data["not_taken_reason"], minor=data["category"],
                    lon=data["lon"], lat=data["lat"], unit=data["unit"], address=data["address"],
                    idempotency_key=form.idempotency_key,
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, gettext("Call recorded."))
                return redirect("dispatch:hotline_call", call.pk)
        status = 400
    context = {
        "form": form,
        "page_data": {"map": _map_config([]), "searchUrl": reverse("dispatch:catalogue_search"),
                      "locateUrl": reverse("dispatch:locate"), "text": REPORT_PAGE_TEXT},
    }
    return render(request, "dispatch/hotline_form.html", context, status=status)


def hotline_call(request: HttpRequest, pk: int) -> HttpResponse:
    """One recorded call: what to tell the caller now (the receipt code, or the reason)."""
    _require_role(request.user, HOTLINE_ROLES)
    try:
        call = selectors.hotline_calls_visible_to(request.user).get(pk=pk)
    except (HotlineCall.DoesNotExist, ValueError):
        raise Http404 from None
    event = call.event
    return render(request, "dispatch/hotline_call.html", {
        "call": call,
        "script": REASON_SCRIPTS.get(call.not_taken_reason, ""),
        "receipt": receipt_display(event.receipt_code) if event else "",
        "case_url": _case_url(event.pk) if event else "",
    })


HOTLINE_LIST_SIZE = 100


def hotline_list(request: HttpRequest) -> HttpResponse:
    """The latest calls on the page; the export holds every call the operator may see."""
    _require_role(request.user, HOTLINE_ROLES)
    calls = selectors.hotline_calls_visible_to(request.user).order_by("-created_at", "-pk")
    if fmt := requested_format(request):
        return page_export(request, fmt=fmt, list_name="dispatch.hotline_calls", title=gettext_lazy("Hotline calls"),
                           objects=calls, columns=HOTLINE_COLUMNS, row=hotline_row)
    return render(request, "dispatch/hotline_list.html", {"calls": calls[:HOTLINE_LIST_SIZE]})


# --- Photos ----------------------------------------------------------------------------------------

PHOTO_KINDS = ("thumb", "display", "original")


def photo(request: HttpRequest, pk: int, kind: str) -> FileResponse:
    """A case photo for staff who may see the case. The original (with its metadata, e.g. GPS) is
    evidence: signed-in staff only, never on a public page; the public gets re-encoded copies."""
    if kind not in PHOTO_KINDS:
        raise Http404
    attachment = Attachment.objects.filter(pk=pk).first()
    if attachment is None:
        raise Http404
    selectors.get_event_for_user(request.user, attachment.event_id)  # 404 unless the case is visible
    if kind == "original":
        if not roles_of(request.user):
            raise Http404
        return serve_file(attachment.image, attachment.content_type)
    return serve_file(attachment.display if kind == "display" else attachment.thumbnail, "image/jpeg")


urlpatterns = [
    path("report/", report, name="report"),
    path("report/<int:pk>/done/", report_done, name="report_done"),
    path("catalogue/search/", catalogue_search, name="catalogue_search"),
    path("locate/", locate, name="locate"),
    path("hotline/", hotline, name="hotline"),
    path("hotline/calls/", hotline_list, name="hotline_list"),
    path("hotline/calls/<int:pk>/", hotline_call, name="hotline_call"),
    path("photos/<int:pk>/<str:kind>/", photo, name="photo"),
]
