"""Grids: HTML views."""

import json
import re
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from governance.exports import XLSX, page_export, requested_format
from governance.models import UnitLevel
from governance.selectors import get_unit_for_user, units_visible_to
from grids import imports, selectors, services
from grids.coords import CRS
from grids.fieldwork_forms import PatrolStartForm, VisitForm
from grids.models import GridType, PatrolStatus

# --- Grids, import/export, map


def _require_grid_editor(request) -> None:
    if not selectors.can_edit_grids(request.user):
        raise PermissionDenied


def grid_map(request):
    """The map: grids coloured by a measure, community boundaries, search, cards, boundary editing."""
    config = {
        "tiles": settings.GRIDGOV_MAP_TILES,
        "center": list(settings.LEAFLET_CONFIG["DEFAULT_CENTER"]),
        "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        "measures": [{"key": m.key, "label": str(m.label), "kind": m.kind} for m in selectors.MEASURES.values()],
        "canEdit": selectors.can_edit_grids(request.user),
        "focus": request.GET.get("grid", ""),
        "urls": {
            "grids": reverse("grids-api:grid_geojson"),
            "units": reverse("grids-api:unit_geojson"),
            "search": reverse("grids-api:grid_list"),
            "detail": reverse("grids-api:grid_detail", args=[0]),
            "page": reverse("grids:grid_detail", args=[0]),
            "boundary": reverse("grids:grid_boundary", args=[0]),
        },
    }
    labels = {
        "households": gettext("Households"), "residents": gettext("Residents"), "buildings": gettext("Buildings"),
        "businesses": gettext("Businesses"), "keyPlaces": gettext("Key places"), "community": gettext("Community"),
        "code": gettext("Grid code"), "team": gettext("Grid team"), "noTeam": gettext("No one is on this grid's team."),
        "open": gettext("Open the grid page"), "edit": gettext("Edit boundary"), "draw": gettext("Draw a new boundary"),
        "save": gettext("Save boundary"), "cancel": gettext("Cancel"), "saved": gettext("Boundary saved."),
        "noResults": gettext("No grids match."), "yes": gettext("yes"), "no": gettext("no"),
        "missing": gettext("no full-time grid worker"), "staffed": gettext("has a full-time grid worker"),
        "drawFirst": gettext("Draw the new boundary on the map, then save."), "failed": gettext("Could not save:"),
        "noBoundary": gettext("This grid has no boundary yet."),
    }
    return render(request, "grids/map.html", {"map_config": config, "labels": labels})


GRID_COLUMNS = [
    ("code", gettext_lazy("Grid code")),
    ("code_scheme", gettext_lazy("Code scheme")),
    ("name", gettext_lazy("Name")),
    ("grid_type", gettext_lazy("Type")),
    ("community_code", gettext_lazy("Community code")),
    ("community", gettext_lazy("Community")),
    ("households", gettext_lazy("Households")),
    ("residents", gettext_lazy("Residents")),
    ("buildings", gettext_lazy("Buildings")),
    ("businesses", gettext_lazy("Businesses")),
    ("key_places", gettext_lazy("Key places")),
    ("area_m2", gettext_lazy("Area (m²)")),
    ("centroid_lon", gettext_lazy("Centroid longitude")),
    ("centroid_lat", gettext_lazy("Centroid latitude")),
    ("has_full_time", gettext_lazy("Has a full-time grid worker")),
]


def grid_row(grid) -> dict:
    return {"code": grid.code, "code_scheme": grid.code_scheme, "name": grid.name,
            "grid_type": grid.get_grid_type_display(), "community_code": grid.community.code,
            "community": grid.community.name, "households": grid.households,
            "residents": grid.residents, "buildings": grid.buildings, "businesses": grid.businesses,
            "key_places": grid.key_places, "area_m2": grid.area_m2, "centroid_lon": grid.centroid_lon,
            "centroid_lat": grid.centroid_lat, "has_full_time": getattr(grid, "has_full_time", None)}


def _export_grids(request, fmt: str, grids, *, list_name: str, columns=GRID_COLUMNS):
    return page_export(request, fmt=fmt, list_name=list_name, title=gettext_lazy("Grids"), objects=grids,
                       columns=columns, row=grid_row)


def grid_list(request):
    unit = None
    if request.GET.get("unit"):
        unit = get_unit_for_user(request.user, request.GET["unit"])
    grids = selectors.grid_list(request.user, q=request.GET.get("q", "").strip(), unit=unit,
                           grid_type=request.GET.get("type", ""), missing_worker=request.GET.get("missing") == "1")
    if fmt := requested_format(request):
        return _export_grids(request, fmt, grids, list_name="grids.grids")
    page = Paginator(grids, 50).get_page(request.GET.get("page"))
    units = units_visible_to(request.user).filter(level__in=[UnitLevel.TOWNSHIP, UnitLevel.VILLAGE]).order_by("code")
    return render(request, "grids/grid_list.html", {
        "page": page, "units": units, "types": GridType.choices, "unit": unit,
        "can_edit": selectors.can_edit_grids(request.user)})


def grid_detail(request, pk: int):
    grid = selectors.get_grid_for_user(request.user, pk)
    return render(request, "grids/grid_detail.html", {
        "grid": grid, "chain": grid.community.lineage(), "team": selectors.grid_members(grid), "can_edit": selectors.can_edit_grids(request.user)})


@require_POST
def grid_boundary(request, pk: int):
    """Save a boundary drawn on the map: JSON {"geometry": {...}, "crs": "wgs84"|"gcj02"}."""
    grid = selectors.get_grid_for_user(request.user, pk)
    _require_grid_editor(request)
    try:
        body = json.loads(request.body)
        geometry, crs = body["geometry"], CRS(body.get("crs") or "wgs84")
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"ok": False, "errors": [gettext("Send a GeoJSON geometry.")]}, status=400)
    try:
        grid = services.grid_set_boundary(grid=grid, boundary=geometry, source_crs=crs, actor=request.user)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "errors": exc.messages}, status=400)
    return JsonResponse({"ok": True, "warnings": [w.message for w in grid.warnings], "area_m2": grid.area_m2})


_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _import_path(user, token: str) -> str:
    return f"grid-imports/{user.pk}/{token}.geojson"


def grid_import(request):
    """Upload → dry run (what would change, every invalid feature and why) → confirm."""
    _require_grid_editor(request)
    context = {"crs_choices": [(c.value, c.name) for c in CRS], "crs": CRS.WGS84.value}
    if request.method == "POST" and "confirm" in request.POST:
        token, crs = request.POST.get("token", ""), request.POST.get("crs", "wgs84")
        if not _TOKEN.match(token) or not default_storage.exists(_import_path(request.user, token)):
            messages.error(request, gettext("The uploaded file has expired; please upload it again."))
            return redirect("grids:grid_import")
        with default_storage.open(_import_path(request.user, token)) as f:
            data = f.read()
        try:
            plan = services.grids_import(data=data, crs=crs, actor=request.user,
                                     valid_only=request.POST.get("valid_only") == "1")
        except services.ImportRefused as exc:
            context.update(plan=exc.plan, token=token, crs=crs)
            messages.error(request, str(exc))
            return render(request, "grids/import.html", context)
        default_storage.delete(_import_path(request.user, token))
        messages.success(request, gettext("Imported: %(created)s created, %(updated)s updated, %(skipped)s skipped.")
                          % {"created": plan.count("create"), "updated": plan.count("update"),
                             "skipped": plan.count("invalid")})
        return redirect("grids:grid_map")
    if request.method == "POST":
        upload, crs = request.FILES.get("file"), request.POST.get("crs", "wgs84")
        context["crs"] = crs
        if upload is None:
            context["form_error"] = gettext("Choose a GeoJSON file.")
            return render(request, "grids/import.html", context)
        data = upload.read()
        token = uuid.uuid4().hex
        default_storage.save(_import_path(request.user, token), ContentFile(data))
        context.update(plan=imports.plan_import(data=data, crs=crs, user=request.user), token=token)
    return render(request, "grids/import.html", context)


def export_geojson(request):
    response = JsonResponse(selectors.grids_export_geojson(request.user), json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="grids.geojson"'
    return response


def export_xlsx(request):
    """Every grid in the user's scope as Excel (the map page's link): the grid list's export, unfiltered."""
    return _export_grids(request, XLSX, selectors.grids_for_export(request.user), list_name="grids.grids")


# --- Roster, my grid, patrols, visits


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _grid_map_data(grids) -> list[dict]:
    return [{"id": g.pk, "name": g.name, "boundary": g.boundary} for g in grids if g.boundary]


def my_grid(request: HttpRequest) -> HttpResponse:
    """A grid worker's own page: their grids, team, patrol and visits to follow up."""
    user = request.user
    memberships = selectors.my_memberships(user)
    grids = selectors.my_grids(user)
    teams = selectors.teams_of(grids)
    open_patrol = selectors.open_patrol_for(user)
    context = {
        "memberships": memberships,
        "grid_rows": [{"grid": g, "team": teams[g.pk]} for g in grids],
        "map_grids": _grid_map_data(grids),
        "open_patrol": open_patrol,
        "start_form": PatrolStartForm(grids=grids) if grids and not open_patrol else None,
        "recent_patrols": user.patrols.select_related("grid").order_by("-started_at")[:5],
        "follow_ups": selectors.follow_ups_due(user),
        "today": timezone.localdate(),
    }
    return render(request, "grids/my_grid.html", context)


def grid_team(request: HttpRequest, pk: int) -> HttpResponse:
    """The grid's roster by position, with who held each position when."""
    grid = selectors.get_grid_for_user(request.user, pk)
    return render(request, "grids/team.html", {"grid": grid, "roster": selectors.roster_for_grid(grid)})


def grids_without_worker(request: HttpRequest) -> HttpResponse:
    grids = selectors.grids_without_full_time_worker(request.user)
    if fmt := requested_format(request):
        return _export_grids(request, fmt, grids, list_name="grids.without_worker", columns=GRID_COLUMNS[:-1])
    return render(request, "grids/without_worker.html", {"grids": grids})


@require_POST
def patrol_start(request: HttpRequest) -> HttpResponse:
    form = PatrolStartForm(request.POST, grids=selectors.my_grids(request.user))
    if not form.is_valid():
        messages.error(request, gettext("Choose one of your grids to patrol."))
        return redirect("grids:my_grid")
    try:
        patrol = services.patrol_start(grid=form.cleaned_data["grid"], worker=request.user, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        open_patrol = selectors.open_patrol_for(request.user)
        return redirect("grids:patrol_detail", open_patrol.pk) if open_patrol else redirect("grids:my_grid")
    return redirect("grids:patrol_detail", patrol.pk)


# Strings patrol.js shows; lazy, so each request gets them in its own language.
PATROL_PAGE_TEXT = {
    "online": gettext_lazy("online"),
    "offline": gettext_lazy("offline"),
    "gpsOk": gettext_lazy("GPS fix, accuracy ±%s m"),
    "gpsError": gettext_lazy("GPS unavailable: %s"),
    "noGps": gettext_lazy("This browser cannot report its location."),
    "flushing": gettext_lazy("Sending the remaining points…"),
    "notSent": gettext_lazy("Some points could not be sent yet (no connection). End the patrol anyway? They will be lost."),
}


def patrol_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patrol = selectors.get_patrol_for_user(request.user, pk)
    fixes = services.patrol_fixes(patrol)
    recording = patrol.status == PatrolStatus.OPEN and patrol.worker_id == request.user.pk
    end = patrol.ended_at or timezone.now()
    context = {
        "patrol": patrol,
        "recording": recording,
        "duration_min": int((end - patrol.started_at).total_seconds() // 60),
        "point_count": patrol.points.count(),
        "coverage_pct": None if patrol.coverage is None else round(patrol.coverage * 100),
        "page_data": {
            "patrol": patrol.pk,
            "recording": recording,
            "boundary": patrol.grid.boundary,
            "track": [[f.lon, f.lat] for f in fixes],
            # patrol.js numbers new fixes above this, even if the phone's own counter was lost.
            "maxSeq": patrol.points.order_by("-seq").values_list("seq", flat=True).first() or 0,
            "pointsUrl": reverse("grids-api:patrol_points", args=[patrol.pk]),
            "text": PATROL_PAGE_TEXT,
        },
    }
    return render(request, "grids/patrol_detail.html", context)


@require_POST
def patrol_end(request: HttpRequest, pk: int) -> HttpResponse:
    patrol = selectors.get_patrol_for_user(request.user, pk)
    try:
        services.patrol_end(patrol=patrol, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, gettext("Patrol ended."))
    return redirect("grids:patrol_detail", patrol.pk)


VISIT_VIEWS = ("mine", "due", "all")
# Not the household (where a resident lives) nor the notes about them: personal data is never exported.
VISIT_COLUMNS = [
    ("visited_at", gettext_lazy("Visited at")),
    ("grid", gettext_lazy("Grid")),
    ("worker", gettext_lazy("Grid worker")),
    ("purpose", gettext_lazy("Purpose")),
    ("outcome", gettext_lazy("Outcome")),
    ("follow_up_on", gettext_lazy("Follow up on")),
    ("follow_up_done_at", gettext_lazy("Follow-up done at")),
]


def visit_row(visit) -> dict:
    return {"visited_at": visit.visited_at, "grid": visit.grid.name, "worker": str(visit.worker),
            "purpose": visit.get_purpose_display(), "outcome": visit.get_outcome_display(),
            "follow_up_on": visit.follow_up_on, "follow_up_done_at": visit.follow_up_done_at}


def visit_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show") if request.GET.get("show") in VISIT_VIEWS else "mine"
    if show == "due":
        visits = selectors.follow_ups_due(request.user)
    elif show == "mine":
        visits = selectors.visits_visible_to(request.user).filter(worker=request.user)
    else:
        visits = selectors.visits_visible_to(request.user)
    if fmt := requested_format(request):
        return page_export(request, fmt=fmt, list_name=f"grids.visits.{show}",
                           title=gettext_lazy("Household visits"), objects=visits.select_related("grid", "worker"),
                           columns=VISIT_COLUMNS, row=visit_row)
    context = {"visits": visits[:100], "show": show, "today": timezone.localdate()}
    return render(request, "grids/visit_list.html", context)


def visit_create(request: HttpRequest) -> HttpResponse:
    grids = selectors.my_grids(request.user)
    initial = {"grid": request.GET.get("grid")} if request.GET.get("grid") else None
    form = VisitForm(request.POST or None, grids=grids, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.visit_create(worker=request.user, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, gettext("Visit recorded."))
            return redirect("grids:visit_list")
    return render(request, "grids/visit_form.html", {"form": form, "has_grids": bool(grids)})


@require_POST
def visit_follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.get_visit_for_user(request.user, pk)
    try:
        services.visit_follow_up_done(visit=visit, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, gettext("Follow-up marked done."))
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(next_url)
    return redirect("grids:visit_list")
