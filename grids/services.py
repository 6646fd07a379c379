"""Grids: services (see /work/shared/style.md)."""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from shapely.geometry import shape

from governance.audit import audit_log, field_changes, snapshot
from governance.models import AdministrativeUnit, RoleAssignment, UnitLevel
from governance.params import get_param
from governance.roles import Role
from governance.services import role_assign
from grids import geometry, selectors, tracks
from grids.codes import GridCodeScheme, generate_grid_code
from grids.coords import CRS, convert_geometry, validate_lonlat
from grids.models import (
    Grid,
    GridMembership,
    GridRole,
    GridType,
    Patrol,
    PatrolPoint,
    PatrolStatus,
    Visit,
    VisitOutcome,
    VisitPurpose,
)

# --- Grids, import/export, locating


HOUSEHOLD_RANGE_PARAM = "grids.household_range"
HOUSEHOLD_RANGE_DEFAULT = (300, 500)
COUNT_FIELDS = ("households", "residents", "buildings", "businesses", "key_places")
# Fields grid_update may change; the boundary goes through the same checks as grid_set_boundary.
_UPDATABLE = {"name", "grid_type", "dedicated_kind", "department", "is_active", "sequence", "code_scheme",
              "object_class", "boundary", *COUNT_FIELDS}
# The boundary is audited by its area, not by thousands of coordinates.
_AUDITED = ["name", "grid_type", "dedicated_kind", "department_id", "is_active", "sequence", "code", "code_scheme",
            *COUNT_FIELDS]


@dataclass(frozen=True)
class GridWarning:
    """Something to show the person saving a grid, which does not stop the save."""

    kind: str  # "overlap" | "households"
    message: str
    data: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


def household_range() -> tuple[int, int]:
    """The usual households per basic grid [practice]; Parameter "grids.household_range" = [min, max]."""
    value = get_param(HOUSEHOLD_RANGE_PARAM, list(HOUSEHOLD_RANGE_DEFAULT))
    try:
        low, high = int(value[0]), int(value[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return HOUSEHOLD_RANGE_DEFAULT
    return (low, high) if 0 <= low <= high else HOUSEHOLD_RANGE_DEFAULT


def _household_warnings(grid) -> list[GridWarning]:
    # Only basic grids are sized by households; 0 means "not counted yet", not "empty".
    if grid.grid_type != GridType.BASIC or not grid.households:
        return []
    low, high = household_range()
    if low <= grid.households <= high:
        return []
    return [GridWarning("households", gettext("%(code)s has %(n)s households, outside the usual %(low)s–%(high)s.")
                        % {"code": grid.code, "n": grid.households, "low": low, "high": high},
                        {"households": grid.households, "range": [low, high]})]


def unit_shape(unit):
    """The unit's boundary as a shapely geometry, or None when it has none we can use."""
    if not unit.boundary:
        return None
    try:
        geom = shape(unit.boundary)
    except Exception:  # noqa: BLE001 - a broken stored boundary must not block grid edits
        return None
    if geom.is_empty:
        return None
    return geom if geom.is_valid else geom.buffer(0)


def _parse_boundary(boundary, source_crs) -> object:
    try:
        if source_crs and CRS(source_crs) is not CRS.WGS84:
            boundary = convert_geometry(boundary, source=CRS(source_crs), target=CRS.WGS84)
        return geometry.parse_boundary(boundary)
    except ValueError as exc:  # GeometryError is a ValueError; so are bad coordinates in conversion
        raise ValidationError({"boundary": str(exc)}) from None


def check_containment(geom, community, community_geom=None) -> None:
    """Refuse a boundary that leaves its community (when the community has a boundary)."""
    container = community_geom if community_geom is not None else unit_shape(community)
    if container is None:
        return
    outside = geometry.outside_area_m2(geom, container)
    if outside > 0.5:
        raise ValidationError({"boundary": gettext(
            "The boundary extends %(area)s m² outside its community %(community)s."
        ) % {"area": f"{outside:,.0f}", "community": community.name}})


def overlap_warnings(geom, others) -> list[GridWarning]:
    """Warnings for each (code, geometry) in ``others`` that ``geom`` overlaps by more than a sliver."""
    warnings = []
    for code, other in others:
        area = geometry.overlap_m2(geom, other)
        if area >= geometry.OVERLAP_MIN_M2:
            warnings.append(GridWarning("overlap", gettext("Overlaps grid %(code)s by %(area)s m².")
                                        % {"code": code, "area": f"{area:,.0f}"},
                                        {"other_code": code, "area_m2": round(area, 1)}))
    return warnings


def _sibling_shapes(community, geom, exclude_pk=None) -> list[tuple[str, object]]:
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    siblings = (
        Grid.objects.filter(community=community, is_active=True, min_lon__lte=max_lon, max_lon__gte=min_lon,
                             min_lat__lte=max_lat, max_lat__gte=min_lat)
        .exclude(pk=exclude_pk)
        .order_by("code")
        .values_list("code", "boundary")
    )
    result = []
    for code, boundary in siblings:
        try:
            other = shape(boundary)
        except Exception:  # noqa: BLE001
            continue
        result.append((code, other if other.is_valid else other.buffer(0)))
    return result


def _apply_boundary(grid, boundary, *, source_crs=CRS.WGS84) -> list[GridWarning]:
    """Check and set the boundary and its derived fields (bbox, centroid, area); returns warnings."""
    if boundary is None:
        grid.boundary = None
        for name in ("min_lon", "min_lat", "max_lon", "max_lat", "centroid_lon", "centroid_lat", "area_m2"):
            setattr(grid, name, None)
        return []
    geom = _parse_boundary(boundary, source_crs)
    check_containment(geom, grid.community)
    grid.boundary = geometry.to_geojson(geom)
    for name, value in geometry.derive(geom).as_fields().items():
        setattr(grid, name, value)
    return overlap_warnings(geom, _sibling_shapes(grid.community, geom, exclude_pk=grid.pk))


def _check_community(community) -> None:
    if community is None or community.level != UnitLevel.VILLAGE:
        raise ValidationError({"community": gettext(
            "A grid belongs to a community or village; %(name)s is a %(level)s."
        ) % {"name": community, "level": community.get_level_display() if community else "-"}})


def next_free_sequence(community, taken=()) -> int:
    used = set(Grid.objects.filter(community=community).values_list("sequence", flat=True)) | set(taken)
    n = 1
    while n in used:
        n += 1
    return n


def _assign_code(grid, *, object_class: str = "") -> None:
    """Generate the grid's code from its community, sequence and scheme; refuse clashes."""
    try:
        scheme = GridCodeScheme(grid.code_scheme)
        grid.code = generate_grid_code(scheme=scheme, community_code=grid.community.code, sequence=grid.sequence,
                                   object_class=object_class)
    except ValueError as exc:
        raise ValidationError({"sequence": str(exc)}) from None
    clash = Grid.objects.filter(community=grid.community, sequence=grid.sequence).exclude(pk=grid.pk).first()
    if clash is not None:
        raise ValidationError({"sequence": gettext("Sequence %(n)s is already used in this community by %(grid)s.")
                                % {"n": grid.sequence, "grid": clash}})
    if Grid.objects.filter(code=grid.code).exclude(pk=grid.pk).exists():
        raise ValidationError({"code": gettext("Grid code %(code)s is already in use.") % {"code": grid.code}})


def _check_counts(values: dict) -> None:
    errors = {}
    for name in COUNT_FIELDS:
        value = values.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors[name] = gettext("Must be a whole number of at least 0.")
    if errors:
        raise ValidationError(errors)


def _full_clean(grid) -> None:
    # Model-level checks (lengths, choices) the explicit ones above do not cover.
    grid.full_clean(exclude=["code", "boundary"], validate_unique=False, validate_constraints=False)


@transaction.atomic
def grid_create(
    *,
    community,
    name: str,
    grid_type: str = GridType.BASIC,
    boundary: dict | None = None,
    code_scheme: str = GridCodeScheme.CJT213,
    sequence: int | None = None,
    object_class: str = "",
    dedicated_kind: str = "",
    department=None,
    households: int = 0,
    residents: int = 0,
    buildings: int = 0,
    businesses: int = 0,
    key_places: int = 0,
    is_synthetic: bool = False,
    source_crs: str = CRS.WGS84,
    actor,
):
    """Create a grid; its code is generated from community + sequence with ``code_scheme``.

    Raises ValidationError keyed by field. The returned grid carries ``.warnings`` (list of
    GridWarning): overlaps with sibling grids and a household count outside the usual range.
    """
    _check_community(community)
    # Serialise sequence allocation within the community (a no-op on SQLite, which locks the database).
    community = AdministrativeUnit.objects.select_for_update().get(pk=community.pk)
    counts = {"households": households, "residents": residents, "buildings": buildings,
              "businesses": businesses, "key_places": key_places}
    _check_counts(counts)
    if not (name or "").strip():
        raise ValidationError({"name": gettext("A grid needs a name.")})
    grid = Grid(community=community, name=name.strip(), grid_type=grid_type, dedicated_kind=dedicated_kind,
                 department=department, code_scheme=GridCodeScheme(code_scheme).value, is_synthetic=is_synthetic,
                 sequence=sequence if sequence is not None else next_free_sequence(community), **counts)
    _assign_code(grid, object_class=object_class)
    warnings = _apply_boundary(grid, boundary, source_crs=source_crs)
    _full_clean(grid)
    grid.save()
    warnings += _household_warnings(grid)
    audit_log(actor=actor, action="grids.grid.created", obj=grid,
               data={"code": grid.code, "scheme": grid.code_scheme, "area_m2": grid.area_m2,
                     "warnings": [w.message for w in warnings]})
    grid.warnings = warnings
    return grid


@transaction.atomic
def grid_update(*, grid, actor, source_crs: str = CRS.WGS84, **fields):
    """Change some of a grid's fields; a new sequence or scheme regenerates the code.

    ``boundary`` may be among the fields (checked as in grid_set_boundary). Returns the grid with
    ``.warnings``.
    """
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise TypeError(f"grid_update cannot change {', '.join(sorted(unknown))}")
    grid = Grid.objects.select_for_update().select_related("community").get(pk=grid.pk)
    before = snapshot(grid, _AUDITED)
    old_area = grid.area_m2
    _check_counts({name: fields.get(name, getattr(grid, name)) for name in COUNT_FIELDS})
    object_class = fields.pop("object_class", None)
    if object_class is None and grid.code_scheme == GridCodeScheme.CJT349:
        object_class = grid.code[:6]
    for name, value in fields.items():
        if name != "boundary":
            setattr(grid, name, value.strip() if name == "name" and isinstance(value, str) else value)
    if not grid.name:
        raise ValidationError({"name": gettext("A grid needs a name.")})
    is_349 = grid.code_scheme == GridCodeScheme.CJT349
    if {"sequence", "code_scheme"} & set(fields) or (is_349 and object_class and not grid.code.startswith(object_class)):
        _assign_code(grid, object_class=(object_class or "") if is_349 else "")
    warnings = []
    if "boundary" in fields:
        warnings = _apply_boundary(grid, fields["boundary"], source_crs=source_crs)
    _full_clean(grid)
    grid.save()
    warnings += _household_warnings(grid)
    changes = field_changes(before, snapshot(grid, _AUDITED))
    data = {"warnings": [w.message for w in warnings]}
    if "boundary" in fields:
        data["area_m2"] = [old_area, grid.area_m2]
    audit_log(actor=actor, action="grids.grid.updated", obj=grid, changes=changes, data=data)
    grid.warnings = warnings
    return grid


@transaction.atomic
def grid_set_boundary(*, grid, boundary: dict | None, actor, source_crs: str = CRS.WGS84):
    """Replace a grid's boundary (drawn on the map or imported), converting from ``source_crs``.

    Refuses an invalid polygon or one that leaves the community; reports overlaps in ``.warnings``.
    """
    grid = Grid.objects.select_for_update().select_related("community").get(pk=grid.pk)
    old_area = grid.area_m2
    warnings = _apply_boundary(grid, boundary, source_crs=source_crs)
    grid.save()
    audit_log(actor=actor, action="grids.grid.boundary_set", obj=grid,
               data={"area_m2": [old_area, grid.area_m2], "source_crs": str(CRS(source_crs).value),
                     "warnings": [w.message for w in warnings]})
    grid.warnings = warnings
    return grid


@transaction.atomic
def unit_set_boundary(*, unit, boundary: dict | None, actor, source_crs: str = CRS.WGS84):
    """Set an administrative unit's boundary (village boundaries come in through the grid import)."""
    unit = AdministrativeUnit.objects.select_for_update().get(pk=unit.pk)
    old = bool(unit.boundary)
    if boundary is None:
        unit.boundary = None
        area = None
    else:
        geom = _parse_boundary(boundary, source_crs)
        unit.boundary = geometry.to_geojson(geom)
        area = round(geometry.area_m2(geom), 1)
    unit.save(update_fields=["boundary"])
    audit_log(actor=actor, action="grids.unit.boundary_set", obj=unit,
               data={"had_boundary": old, "area_m2": area, "source_crs": str(CRS(source_crs).value)})
    return unit


class ImportRefused(Exception):
    """The import has invalid features and the person did not choose to import the valid part."""

    def __init__(self, plan):
        super().__init__(gettext("The file has invalid features; nothing was imported."))
        self.plan = plan


@transaction.atomic
def grids_import(*, data, crs: str, actor, valid_only: bool = False):
    """Import grids and unit boundaries from GeoJSON ``data`` (bytes, str or dict) drawn in ``crs``.

    Plans first (grids.imports.plan_import, the same dry run the person saw), then writes every valid
    row through grid_create / grid_update / unit_set_boundary in one transaction. Unless
    ``valid_only``, any invalid row refuses the whole file (ImportRefused). Returns the plan, its rows
    marked ``done``.
    """
    from grids.imports import plan_import  # imports depends on this module's checks

    plan = plan_import(data=data, crs=crs, user=actor)
    if not plan.is_valid and (not valid_only or plan.file_errors):
        raise ImportRefused(plan)
    for row in plan.rows:  # the plan lists unit rows first, so grids are checked against new boundaries
        if row.errors:
            continue
        if row.kind == "unit":
            unit_set_boundary(unit=row.unit, boundary=row.geometry, actor=actor)
        elif row.action == "create":
            row.grid = grid_create(actor=actor, community=row.community, boundary=row.geometry,
                                   code_scheme=row.scheme, sequence=row.sequence,
                                   object_class=row.object_class, **row.fields)
        else:
            row.grid = grid_update(grid=row.grid, actor=actor, boundary=row.geometry, **row.fields)
        row.done = True
    audit_log(actor=actor, action="grids.import.applied", data={
        "crs": plan.crs, "created": plan.count("create"), "updated": plan.count("update"),
        "skipped_invalid": plan.count("invalid")})
    return plan


# --- Roster, patrols, visits


# Positions whose holders lead the team get the grid-leader role; everyone else the grid-worker role.
LEADER_POSITIONS = frozenset({GridRole.LEADER})
# One upload of patrol points; a phone offline for hours sends its queue in several batches.
MAX_POINTS_PER_BATCH = 500


def _membership_role_ensure(*, user, grid: Grid, grid_role: str, actor) -> None:
    """Give a new team member the platform role that lets them see their grid.

    Decision: being on a grid's roster *is* the reason a person works in that grid, so the roster
    drives the role scope rather than asking an administrator to keep two lists in step. A role is
    added only when the person holds no active grid-worker/grid-leader role whose unit covers the
    grid's community (a community-wide assignment already covers every grid in it). Ending a
    membership does not end the role: the person may still serve other grids of the community, and
    taking a jurisdiction away stays an explicit act (governance.services.role_end).
    """
    community = grid.community
    covering_units = [int(pk) for pk in community.path.strip("/").split("/") if pk]
    covered = (
        RoleAssignment.objects.filter(user=user, role__in=[Role.GRID_WORKER, Role.GRID_LEADER], unit_id__in=covering_units)
        .active()
        .exists()
    )
    if not covered:
        role = Role.GRID_LEADER if grid_role in LEADER_POSITIONS else Role.GRID_WORKER
        role_assign(user=user, role=role, unit=community, actor=actor)


@transaction.atomic
def membership_start(
    *, grid: Grid, user, grid_role: str, actor, phone: str = "", started_on: datetime.date | None = None
) -> GridMembership:
    """Put ``user`` on ``grid``'s roster in position ``grid_role`` from ``started_on`` (today)."""
    if grid_role not in GridRole.values:
        raise ValidationError({"grid_role": gettext("Unknown position “%(role)s”.") % {"role": grid_role}})
    if GridMembership.objects.filter(grid=grid, user=user, grid_role=grid_role, ended_on__isnull=True).exists():
        raise ValidationError({"grid_role": gettext("This person already holds this position in this grid.")})
    membership = GridMembership.objects.create(
        grid=grid, user=user, grid_role=grid_role, phone=phone, started_on=started_on or timezone.localdate()
    )
    _membership_role_ensure(user=user, grid=grid, grid_role=grid_role, actor=actor)
    audit_log(
        actor=actor,
        action="grids.membership.started",
        obj=membership,
        data={"grid": grid.pk, "user": user.pk, "grid_role": grid_role, "started_on": membership.started_on},
    )
    return membership


@transaction.atomic
def membership_end(*, membership: GridMembership, actor, ended_on: datetime.date | None = None) -> GridMembership:
    """Close a roster row; the row stays as history of who held the position when."""
    membership = GridMembership.objects.select_for_update().get(pk=membership.pk)
    if membership.ended_on is not None:
        raise ValidationError({"ended_on": gettext("This assignment has already ended.")})
    ended_on = ended_on or timezone.localdate()
    if ended_on < membership.started_on:
        raise ValidationError({"ended_on": gettext("An assignment cannot end before it starts.")})
    membership.ended_on = ended_on
    membership.save(update_fields=["ended_on"])
    audit_log(
        actor=actor,
        action="grids.membership.ended",
        obj=membership,
        changes=field_changes({"ended_on": None}, {"ended_on": ended_on}),
    )
    return membership


@transaction.atomic
def patrol_start(*, grid: Grid, worker, actor, notes: str = "") -> Patrol:
    """Open a patrol of ``grid`` for ``worker``, who must be on its roster and have no open patrol."""
    if not selectors.is_on_team(grid, worker):
        raise ValidationError(gettext("You can only patrol a grid whose team you are on."))
    if Patrol.objects.filter(worker=worker, status=PatrolStatus.OPEN).exists():
        raise ValidationError(gettext("You already have a patrol in progress: end it before starting another."))
    try:
        # The partial unique constraint is the real guard against two taps racing each other.
        with transaction.atomic():
            patrol = Patrol.objects.create(grid=grid, worker=worker, notes=notes)
    except IntegrityError:
        raise ValidationError(gettext("You already have a patrol in progress: end it before starting another.")) from None
    audit_log(actor=actor, action="grids.patrol.started", obj=patrol, data={"grid": grid.pk})
    return patrol


def _point_from_payload(item, index: int) -> PatrolPoint:
    """One validated, unsaved point; ValidationError with a message naming the item otherwise."""
    where = gettext("Point %(n)s") % {"n": index + 1}
    if not isinstance(item, dict):
        raise ValidationError(gettext("%(where)s: expected an object.") % {"where": where})
    seq = item.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= 2_147_483_647:
        raise ValidationError(gettext("%(where)s: “seq” must be a whole number ≥ 0.") % {"where": where})
    lon, lat = item.get("lon"), item.get("lat")
    if isinstance(lon, bool) or isinstance(lat, bool):
        lon = lat = None
    try:
        validate_lonlat(lon, lat)
    except ValueError:
        raise ValidationError(
            gettext("%(where)s: coordinates out of range (longitude −180…180, latitude −90…90): lon=%(lon)s, lat=%(lat)s.")
            % {"where": where, "lon": lon, "lat": lat}
        ) from None
    accuracy = item.get("accuracy")
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or accuracy < 0):
        raise ValidationError(gettext("%(where)s: “accuracy” must be a number of metres ≥ 0.") % {"where": where})
    recorded_at = parse_datetime(item["recorded_at"]) if isinstance(item.get("recorded_at"), str) else None
    if recorded_at is None:
        raise ValidationError(gettext("%(where)s: “recorded_at” must be an ISO 8601 date and time.") % {"where": where})
    if timezone.is_naive(recorded_at):
        recorded_at = timezone.make_aware(recorded_at)
    return PatrolPoint(seq=seq, lon=float(lon), lat=float(lat), accuracy_m=accuracy, recorded_at=recorded_at)


def patrol_points_add(*, patrol: Patrol, points: list, actor) -> tuple[int, int]:
    """Store a batch of GPS fixes; returns (highest ``seq`` stored, number of points stored).

    Idempotent: the phone re-sends a batch whenever it did not see the answer, so a (patrol, seq)
    already stored is skipped, not duplicated. The whole batch is validated before anything is
    written. Not audited per batch (the patrol's start and end are): points are telemetry.
    """
    if actor != patrol.worker:
        raise PermissionDenied(gettext("Only the grid worker on this patrol can add points to it."))
    if patrol.status != PatrolStatus.OPEN:
        raise ValidationError(gettext("This patrol has ended; no more points can be added."), code="patrol_ended")
    if not isinstance(points, list):
        raise ValidationError(gettext("Expected a list of points."))
    if len(points) > MAX_POINTS_PER_BATCH:
        raise ValidationError(gettext("At most %(n)s points per request.") % {"n": MAX_POINTS_PER_BATCH})
    rows = [_point_from_payload(item, i) for i, item in enumerate(points)]
    for row in rows:
        row.patrol = patrol
    with transaction.atomic():
        PatrolPoint.objects.bulk_create(rows, ignore_conflicts=True)
    stored = PatrolPoint.objects.filter(patrol=patrol).aggregate(max_seq=Max("seq"), count=Count("pk"))
    return stored["max_seq"] or 0, stored["count"]


def patrol_fixes(patrol: Patrol) -> list:
    """The patrol's usable fixes in seq order (see grids.tracks.usable)."""
    points = patrol.points.order_by("seq").values_list("seq", "lon", "lat", "accuracy_m")
    return tracks.usable(tracks.Fix(*p) for p in points)


@transaction.atomic
def patrol_end(*, patrol: Patrol, actor, notes: str | None = None) -> Patrol:
    """Close the patrol and compute its distance and the share of the grid it covered."""
    patrol = Patrol.objects.select_for_update().select_related("grid").get(pk=patrol.pk)
    if actor != patrol.worker:
        raise PermissionDenied(gettext("Only the grid worker on this patrol can end it."))
    if patrol.status != PatrolStatus.OPEN:
        raise ValidationError(gettext("This patrol has already ended."))
    fixes = patrol_fixes(patrol)
    patrol.status = PatrolStatus.FINISHED
    patrol.ended_at = timezone.now()
    patrol.distance_m = round(tracks.track_distance_m(fixes), 1)
    patrol.coverage = tracks.track_coverage(patrol.grid.boundary, fixes)
    fields = ["status", "ended_at", "distance_m", "coverage"]
    if notes is not None:
        patrol.notes = notes
        fields.append("notes")
    patrol.save(update_fields=fields)
    audit_log(
        actor=actor,
        action="grids.patrol.ended",
        obj=patrol,
        data={
            "points": len(fixes),
            "distance_m": patrol.distance_m,
            "coverage": patrol.coverage,
            "duration_s": int((patrol.ended_at - patrol.started_at).total_seconds()),
        },
    )
    return patrol


@transaction.atomic
def visit_create(
    *,
    grid: Grid,
    worker,
    household: str,
    purpose: str,
    outcome: str,
    actor,
    notes: str = "",
    follow_up_on: datetime.date | None = None,
    visited_at: datetime.datetime | None = None,
    is_synthetic: bool = False,
) -> Visit:
    """Record a household visit by a member of ``grid``'s team."""
    if not selectors.is_on_team(grid, worker):
        raise ValidationError({"grid": gettext("You can only record visits in a grid whose team you are on.")})
    if purpose not in VisitPurpose.values:
        raise ValidationError({"purpose": gettext("Unknown purpose.")})
    if outcome not in VisitOutcome.values:
        raise ValidationError({"outcome": gettext("Unknown outcome.")})
    visit = Visit.objects.create(
        grid=grid,
        worker=worker,
        household=household,
        purpose=purpose,
        outcome=outcome,
        notes=notes,
        follow_up_on=follow_up_on,
        visited_at=visited_at or timezone.now(),
        is_synthetic=is_synthetic,
    )
    audit_log(
        actor=actor,
        action="grids.visit.created",
        obj=visit,
        data={"grid": grid.pk, "purpose": purpose, "outcome": outcome, "follow_up_on": follow_up_on},
    )
    return visit


@transaction.atomic
def visit_follow_up_done(*, visit: Visit, actor) -> Visit:
    """Mark a visit's follow-up as done (by its worker or a current member of the grid's team)."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if actor != visit.worker and not selectors.is_on_team(visit.grid_id, actor):
        raise PermissionDenied(gettext("Only the grid's team can mark this follow-up done."))
    if visit.follow_up_on is None:
        raise ValidationError(gettext("This visit has no follow-up."))
    if visit.follow_up_done_at is not None:
        return visit
    visit.follow_up_done_at = timezone.now()
    visit.save(update_fields=["follow_up_done_at"])
    audit_log(
        actor=actor,
        action="grids.visit.follow_up_done",
        obj=visit,
        changes=field_changes({"follow_up_done_at": None}, {"follow_up_done_at": visit.follow_up_done_at}),
    )
    return visit
