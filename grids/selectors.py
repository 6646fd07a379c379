"""Grids: selectors (see /work/shared/style.md)."""

import datetime
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy
from shapely.geometry import shape

from governance.models import UnitLevel
from governance.roles import Role
from governance.selectors import roles_of, scope_for, scope_q, units_visible_to
from grids import geometry
from grids.coords import CRS, convert_geometry
from grids.locator import GridLocator
from grids.models import (
    Grid,
    GridMembership,
    GridRole,
    Patrol,
    PatrolPoint,
    PatrolStatus,
    Visit,
)

# --- Grids, import/export, locating


def _grid_scope(user, prefix: str = "") -> Q:
    """Rows whose grid lies in the user's jurisdiction (its community's subtree, or its department).

    ``prefix`` leads from the row to its grid ("grid__" for patrols, visits and memberships).
    """
    return scope_q(user, unit_path=f"{prefix}community__path", department=f"{prefix}department")


def grids_visible_to(user) -> QuerySet:
    """THE scoped grid list: grids in the user's units' subtrees, or run by the user's departments."""
    return Grid.objects.filter(_grid_scope(user))


def get_grid_for_user(user, pk) -> Grid:
    """The grid, if the user may see it; 404 alike for missing and out of scope."""
    try:
        return grids_visible_to(user).select_related("community", "department").get(pk=pk)
    except (Grid.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def can_edit_grids(user) -> bool:
    """Drawing boundaries and importing: administrators (the role, or a superuser)."""
    return bool(getattr(user, "is_authenticated", False)) and Role.ADMINISTRATOR in roles_of(user)


def _open_full_time():
    return GridMembership.objects.filter(grid=OuterRef("pk"), grid_role=GridRole.FULL_TIME, ended_on__isnull=True)


def grid_list(user, *, q: str = "", unit=None, grid_type: str = "", missing_worker: bool = False) -> QuerySet:
    """Grids for the list page and search, filtered; each with ``has_full_time`` annotated."""
    grids = grids_visible_to(user).select_related("community").annotate(has_full_time=Exists(_open_full_time()))
    if q:
        grids = grids.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(community__name__icontains=q))
    if unit is not None:
        grids = grids.filter(community__path__startswith=unit.path)
    if grid_type:
        grids = grids.filter(grid_type=grid_type)
    if missing_worker:
        grids = grids.filter(has_full_time=False)
    return grids.order_by("code")


def grid_members(grid, *, include_ended: bool = False) -> QuerySet[GridMembership]:
    """The grid's team (current members, or with ``include_ended`` its whole history) by position."""
    rows = grid.memberships.select_related("user").order_by("grid_role", "started_on", "pk")
    return rows if include_ended else rows.filter(ended_on__isnull=True)


def teams_of(grids) -> dict[int, list[GridMembership]]:
    """Current team of each grid, in one query: {grid id: [membership, …]}."""
    teams: dict[int, list[GridMembership]] = {grid.pk: [] for grid in grids}
    rows = GridMembership.objects.filter(grid__in=grids, ended_on__isnull=True).select_related("user")
    for member in rows.order_by("grid_role", "started_on", "pk"):
        teams[member.grid_id].append(member)
    return teams


def is_on_team(grid, user) -> bool:
    """Whether ``user`` is a current member of ``grid``'s team (patrols and visits need it)."""
    return GridMembership.objects.filter(grid=grid, user=user, ended_on__isnull=True).exists()


# --- Version stamp and locating ------------------------------------------------------------------


# How long a process trusts the version stamp it last read. Locating a report must not cost a scan of
# every grid (10,000 in a city) each time; a grid edited in another process is seen here within this.
VERSION_RECHECK_SECONDS = 2.0


class _VersionMemo:
    lock = threading.Lock()
    value: str | None = None
    read_at = float("-inf")


def grids_version() -> str:
    """Changes whenever any grid is created, changed or deleted, in any process.

    Every grid write goes through ``save()``, which bumps ``updated_at`` (auto_now); a deletion lowers
    the count. Read from the database, not a per-process cache, so that every worker agrees; each process
    reads it at most every ``VERSION_RECHECK_SECONDS``, and at once after a grid write of its own
    (``forget_grids_version``, connected to Grid's save and delete in ``grids.apps``).
    """
    with _VersionMemo.lock:
        if _VersionMemo.value is not None and time.monotonic() - _VersionMemo.read_at < VERSION_RECHECK_SECONDS:
            return _VersionMemo.value
    stamp = Grid.objects.aggregate(n=Count("pk"), last=Max("updated_at"))
    last = stamp["last"].timestamp() if stamp["last"] else 0
    value = f"{stamp['n']}-{last:.6f}"
    with _VersionMemo.lock:
        _VersionMemo.value, _VersionMemo.read_at = value, time.monotonic()
    return value


def forget_grids_version(**_kwargs) -> None:
    """Make this process read the version stamp again: now, and when the writing transaction commits."""
    def forget():
        with _VersionMemo.lock:
            _VersionMemo.value = None

    forget()
    transaction.on_commit(forget)


class _LocatorCache:
    lock = threading.Lock()
    version: str | None = None
    locator: GridLocator | None = None


def grid_locator() -> GridLocator:
    """The process-wide GridLocator, rebuilt when ``grids_version`` changes."""
    version = grids_version()
    with _LocatorCache.lock:
        if _LocatorCache.version != version or _LocatorCache.locator is None:
            pairs = []
            rows = Grid.objects.filter(is_active=True, min_lon__isnull=False).values_list("pk", "boundary")
            for pk, boundary in rows.iterator(chunk_size=2000):
                try:
                    geom = shape(boundary)
                except Exception:  # noqa: BLE001 - one broken grid must not stop the city's index
                    continue
                if not geom.is_empty and geom.geom_type in ("Polygon", "MultiPolygon"):
                    pairs.append((pk, geom))
            _LocatorCache.locator, _LocatorCache.version = GridLocator(pairs), version
        return _LocatorCache.locator


@dataclass(frozen=True)
class LocateResult:
    """Where a WGS-84 point lies: its grid and the chain of units above it (community first).

    Outside every grid: ``grid`` is None, ``nearest_grid`` and ``distance_m`` say how far the
    closest one is. Not scoped: callers decide what the person may see of it.
    """

    grid: Grid | None
    units: list = field(default_factory=list)
    nearest_grid: Grid | None = None
    distance_m: float | None = None

    @property
    def found(self) -> bool:
        return self.grid is not None


def locate_point(lon: float, lat: float) -> LocateResult:
    """The grid holding (lon, lat), deterministic on shared edges (smallest grid id wins)."""
    hit = grid_locator().locate(lon, lat)
    if hit.nearest_grid_id is None:
        return LocateResult(grid=None)
    grid = Grid.objects.select_related("community").defer("boundary", "community__boundary").get(pk=hit.nearest_grid_id)
    if hit.grid_id is None:
        return LocateResult(grid=None, nearest_grid=grid, distance_m=hit.distance_m)
    return LocateResult(grid=grid, units=grid.community.lineage(), nearest_grid=grid, distance_m=0.0)


# --- Map measures and GeoJSON --------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """Something the map colours grids by. ``annotate`` adds what ``value`` reads from a values() row.

    kind "count" is coloured on a ramp, "flag" in two colours. Other apps register theirs
    (dispatch: open events) with ``register_measure``.
    """

    key: str
    label: object
    kind: str
    value: Callable[[dict], object]
    annotate: Callable[[], dict] = dict


MEASURES: dict[str, Measure] = {}


def register_measure(measure: Measure) -> None:
    MEASURES[measure.key] = measure


register_measure(Measure("households", gettext_lazy("Households"), "count", lambda row: row["households"]))
register_measure(Measure(
    "missing_worker", gettext_lazy("No full-time grid worker"), "flag", lambda row: not row["has_full_time"],
    annotate=lambda: {"has_full_time": Exists(_open_full_time())},
))

GEOJSON_PROPERTIES = ("pk", "code", "name", "grid_type", "community__name", "community__code", "households",
                      "residents", "buildings", "businesses", "key_places")


def _scope_key(user) -> str:
    scope = scope_for(user)
    if scope.everything:
        return "all"
    text = "|".join(scope.unit_paths) + "#" + ",".join(map(str, sorted(scope.department_ids)))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _clean_zoom(zoom) -> int | None:
    try:
        return None if zoom in (None, "") else max(0, min(int(zoom), 22))
    except (TypeError, ValueError):
        return None


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """"minlon,minlat,maxlon,maxlat" → a tuple, or None when absent or malformed."""
    if not text:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        return None
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        return None
    return parts[0], parts[1], parts[2], parts[3]


def _geometry_json(boundary: dict, zoom: int | None, crs: CRS) -> str | None:
    try:
        geom = shape(boundary)
    except Exception:  # noqa: BLE001
        return None
    data = geometry.to_geojson(geometry.simplified(geom, zoom))
    if crs is not CRS.WGS84:
        data = convert_geometry(data, source=CRS.WGS84, target=crs)
    return json.dumps(data, separators=(",", ":"))


GEOMETRY_CACHE_SECONDS = 24 * 3600


def _grid_geometries(user, zoom: int | None, crs: CRS, version: str) -> dict[int, str]:
    """Simplified GeoJSON geometry text of every grid in scope, cached per (scope, zoom, crs, version)."""
    key = f"grids:geom:{_scope_key(user)}:{zoom}:{crs.value}:{version}"
    geometries = cache.get(key)
    if geometries is None:
        rows = grids_visible_to(user).filter(is_active=True, min_lon__isnull=False).values_list("pk", "boundary")
        geometries = {}
        for pk, boundary in rows.iterator(chunk_size=2000):
            text = _geometry_json(boundary, zoom, crs)
            if text is not None:
                geometries[pk] = text
        cache.set(key, geometries, GEOMETRY_CACHE_SECONDS)
    return geometries


def grids_geojson(user, *, bbox=None, zoom=None, unit=None, crs: str = CRS.WGS84) -> str:
    """A FeatureCollection (as JSON text) of the grids in scope, simplified for ``zoom``.

    Geometry comes from the cache; properties and measures are read fresh (they change without the
    boundary changing, e.g. a new grid worker). Three queries plus the scope's own.
    """
    zoom, crs = _clean_zoom(zoom), CRS(crs)
    version = grids_version()
    grids = grids_visible_to(user).filter(is_active=True, min_lon__isnull=False)
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        grids = grids.filter(min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat)
    if unit is not None:
        grids = grids.filter(community__path__startswith=unit.path)
    annotations = {}
    for measure in MEASURES.values():
        annotations.update(measure.annotate())
    rows = list(grids.annotate(**annotations).values(*GEOJSON_PROPERTIES, *annotations).order_by("pk"))
    geometries = _grid_geometries(user, zoom, crs, version)
    features = []
    for row in rows:
        geometry = geometries.get(row["pk"])
        if geometry is None:
            continue
        props = {"id": row["pk"], "code": row["code"], "name": row["name"], "type": row["grid_type"],
                 "community": row["community__name"], "parent": row["community__code"],
                 **{name: row[name] for name in ("households", "residents", "buildings", "businesses", "key_places")},
                 "measures": {key: m.value(row) for key, m in MEASURES.items()}}
        features.append(f'{{"type":"Feature","id":{row["pk"]},"geometry":{geometry},'
                        f'"properties":{json.dumps(props, ensure_ascii=False, separators=(",", ":"))}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def units_geojson(user, *, level: str = UnitLevel.VILLAGE, zoom=None, crs: str = CRS.WGS84) -> dict:
    """Boundaries of the units in scope at ``level`` (community boundaries on the map)."""
    zoom, crs = _clean_zoom(zoom), CRS(crs)
    features = []
    units = units_visible_to(user).filter(level=level, boundary__isnull=False).order_by("code")
    for unit in units.only("pk", "code", "name", "level", "boundary"):
        text = _geometry_json(unit.boundary, zoom, crs) if unit.boundary else None
        if text is not None:
            features.append({"type": "Feature", "id": unit.pk, "geometry": json.loads(text),
                             "properties": {"id": unit.pk, "code": unit.code, "name": unit.name, "level": unit.level}})
    return {"type": "FeatureCollection", "features": features}


# --- Export --------------------------------------------------------------------------------------

EXPORT_COLUMNS = ("code", "code_scheme", "name", "grid_type", "community_code", "community", "households",
                  "residents", "buildings", "businesses", "key_places", "area_m2", "centroid_lon", "centroid_lat",
                  "has_full_time")


def grids_for_export(user) -> QuerySet:
    return (grids_visible_to(user).select_related("community")
            .annotate(has_full_time=Exists(_open_full_time())).order_by("code"))


def grids_export_geojson(user) -> dict:
    """The user's grids as a FeatureCollection in the import's format (WGS-84), so it round-trips."""
    features = []
    for grid in grids_for_export(user):
        features.append({"type": "Feature", "geometry": grid.boundary, "properties": {
            "code": grid.code, "name": grid.name, "parent": grid.community.code, "type": grid.grid_type,
            "households": grid.households, "residents": grid.residents, "buildings": grid.buildings,
            "businesses": grid.businesses, "key_places": grid.key_places, "code_scheme": grid.code_scheme}})
    return {"type": "FeatureCollection", "features": features}


def grids_export_rows(user):
    for grid in grids_for_export(user):
        yield [grid.code, grid.code_scheme, grid.name, grid.get_grid_type_display(), grid.community.code,
               grid.community.name, grid.households, grid.residents, grid.buildings, grid.businesses,
               grid.key_places, grid.area_m2, grid.centroid_lon, grid.centroid_lat, grid.has_full_time]


# --- Roster, patrols, visits


def memberships_visible_to(user) -> QuerySet[GridMembership]:
    return GridMembership.objects.filter(_grid_scope(user, "grid__")).select_related("grid", "user")


def roster_for_grid(grid: Grid, *, include_ended: bool = True) -> list[dict]:
    """The grid's team by position (3 + 2 + N, then the 一长五员 positions), each with its history."""
    rows = grid.memberships.select_related("user").order_by("started_on", "pk")
    if not include_ended:
        rows = rows.filter(ended_on__isnull=True)
    by_role: dict[str, list[GridMembership]] = {role: [] for role in GridRole.values}
    for membership in rows:
        by_role[membership.grid_role].append(membership)
    return [
        {
            "role": role,
            "label": GridRole(role).label,
            "current": [m for m in members if m.ended_on is None],
            "past": [m for m in members if m.ended_on is not None],
        }
        for role, members in by_role.items()
        if members or role in (GridRole.LEADER, GridRole.POLICE, GridRole.FULL_TIME)
    ]


def grids_without_full_time_worker(user) -> QuerySet[Grid]:
    """Active grids in the user's scope with no open full-time membership ("一格一员" not met)."""
    return (
        grids_visible_to(user)
        .filter(is_active=True)
        .exclude(Exists(_open_full_time()))
        .select_related("community")
        .order_by("community__code", "sequence")
    )


def my_memberships(user) -> list[GridMembership]:
    """The user's current places on grid teams, with their grids."""
    return list(
        GridMembership.objects.filter(user=user, ended_on__isnull=True)
        .select_related("grid", "grid__community")
        .order_by("grid__code", "grid_role")
    )


def my_grids(user) -> list[Grid]:
    seen: dict[int, Grid] = {}
    for membership in my_memberships(user):
        seen.setdefault(membership.grid_id, membership.grid)
    return list(seen.values())


def _in_scope_or_own(user) -> Q:
    """In the user's jurisdiction, or the user's own record (a worker always reaches their own patrol)."""
    condition = _grid_scope(user, "grid__")
    # An empty Q means "everything" (superusers); OR-ing it would narrow it to the own rows only.
    return condition | Q(worker=user) if condition else condition


def patrols_visible_to(user) -> QuerySet[Patrol]:
    return Patrol.objects.filter(_grid_scope(user, "grid__")).select_related("grid", "worker")


def get_patrol_for_user(user, pk) -> Patrol:
    """The patrol, if it is in the user's jurisdiction or their own; 404 alike for missing and out of scope."""
    try:
        return Patrol.objects.filter(_in_scope_or_own(user)).select_related("grid", "worker").get(pk=pk)
    except (Patrol.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def open_patrol_for(user) -> Patrol | None:
    return Patrol.objects.filter(worker=user, status=PatrolStatus.OPEN).select_related("grid").first()


def patrols_with_points(queryset: QuerySet[Patrol]) -> QuerySet[Patrol]:
    """Patrols with their points prefetched in seq order (one extra query for the whole list)."""
    return queryset.prefetch_related(Prefetch("points", queryset=PatrolPoint.objects.order_by("seq")))


def visits_visible_to(user) -> QuerySet[Visit]:
    return Visit.objects.filter(_grid_scope(user, "grid__")).select_related("grid", "worker")


def get_visit_for_user(user, pk) -> Visit:
    try:
        return Visit.objects.filter(_in_scope_or_own(user)).select_related("grid", "worker").get(pk=pk)
    except (Visit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def follow_ups_due(user, *, on: datetime.date | None = None) -> QuerySet[Visit]:
    """The user's own visits whose follow-up falls on or before ``on`` (today) and is not yet done."""
    on = on or timezone.localdate()
    return (
        Visit.objects.filter(worker=user, follow_up_on__lte=on, follow_up_done_at__isnull=True)
        .select_related("grid")
        .order_by("follow_up_on", "pk")
    )
