"""Planning a GeoJSON import of grids and unit boundaries: the dry run.

``plan_import`` reads a FeatureCollection, converts each geometry from the chosen CRS to WGS-84 and
says, feature by feature, what would be created or updated, or why the feature is invalid. It writes
nothing; ``grids.services.grids_import`` runs the same plan and then writes the valid rows.

Feature properties: ``code`` (a grid code of any scheme, or a 12-digit division code to set that
unit's boundary), ``name``, ``parent`` (the community's 12-digit code), ``type`` (basic, dedicated,
specialised) and the counts (households, residents, buildings, businesses, key_places). A feature
without a code gets the next free sequence in its ``parent`` community, coded CJ/T 213.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from shapely.geometry import shape

from governance.models import AdministrativeUnit, UnitLevel
from governance.selectors import units_visible_to
from grids import geometry as geo
from grids import services
from grids.codes import GridCodeScheme, generate_grid_code, parse_grid_code
from grids.coords import CRS, convert_geometry
from grids.models import Grid, GridType
from grids.selectors import grids_visible_to

DEFAULT_SCHEME = GridCodeScheme.CJT213
SCHEME_BY_LENGTH = {14: GridCodeScheme.CJT213, 15: GridCodeScheme.DB11, 20: GridCodeScheme.CJT349}
TYPE_ALIASES = {
    **{t.value: t.value for t in GridType},
    "基础网格": GridType.BASIC, "专属网格": GridType.DEDICATED, "专业网格": GridType.SPECIALISED,
}


@dataclass
class ImportRow:
    index: int  # 1-based feature number in the file
    kind: str = "grid"  # "grid" | "unit"
    action: str = "invalid"  # "create" | "update" | "invalid"
    code: str = ""
    name: str = ""
    community: AdministrativeUnit | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What the write needs (not shown):
    unit: AdministrativeUnit | None = None
    grid: Grid | None = None
    geometry: dict | None = None
    shape: Any = None
    scheme: str = DEFAULT_SCHEME.value
    sequence: int | None = None
    object_class: str = ""
    fields: dict = field(default_factory=dict)
    done: bool = False


@dataclass
class ImportPlan:
    crs: str
    rows: list[ImportRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.file_errors and all(not row.errors for row in self.rows)

    @property
    def has_valid_rows(self) -> bool:
        return not self.file_errors and any(not row.errors for row in self.rows)

    @property
    def summary(self) -> dict[str, int]:
        return {action: self.count(action) for action in ("create", "update", "invalid")}

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


def _load(data) -> Any:
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8-sig")
    if isinstance(data, str):
        return json.loads(data)
    return data


def _code_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return str(value).strip()


def _count(props: dict, name: str, errors: list[str]) -> int | None:
    if name not in props or props[name] in (None, ""):
        return None
    value = props[name]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        errors.append(_("%(field)s must be a whole number of at least 0, got %(value)r.") % {"field": name, "value": props[name]})
        return None
    return value


def _geometry(feature: dict, crs: CRS, row: ImportRow) -> None:
    raw = feature.get("geometry")
    if not raw:
        row.errors.append(_("The feature has no geometry."))
        return
    try:
        converted = convert_geometry(raw, source=crs, target=CRS.WGS84) if isinstance(raw, dict) else raw
        row.shape = geo.parse_boundary(converted)
    except ValueError as exc:
        row.errors.append(str(exc))
        return
    row.geometry = geo.to_geojson(row.shape)


def plan_import(*, data, crs: str, user) -> ImportPlan:
    """The dry run: what importing ``data`` (GeoJSON drawn in ``crs``) as ``user`` would do."""
    try:
        crs = CRS(crs)
    except ValueError:
        return ImportPlan(crs=str(crs), file_errors=[_("Unknown coordinate system %(crs)r.") % {"crs": crs}])
    plan = ImportPlan(crs=crs.value)
    try:
        collection = _load(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        plan.file_errors.append(_("The file is not valid GeoJSON (JSON): %(error)s") % {"error": exc})
        return plan
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        plan.file_errors.append(_("The file must be a GeoJSON FeatureCollection."))
        return plan
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        plan.file_errors.append(_("The FeatureCollection has no features."))
        return plan

    # Everything the rows refer to, in a few queries: visible units by code, grids by code.
    props_list = [f.get("properties") if isinstance(f, dict) and isinstance(f.get("properties"), dict) else {}
                  for f in features]
    codes = {_code_text(p.get("code")) for p in props_list} - {""}
    unit_codes = {c for c in codes if len(c) == 12}
    unit_codes |= {_code_text(p.get("parent")) for p in props_list} - {""}
    for code in codes:
        if len(code) in SCHEME_BY_LENGTH:
            unit_codes.add(code[-14:-2] if len(code) != 15 else code[:12])
    units = {u.code: u for u in units_visible_to(user).filter(code__in=unit_codes)}
    grids = {g.code: g for g in Grid.objects.filter(code__in=codes).select_related("community")}
    visible_grid_ids = set(grids_visible_to(user).filter(code__in=codes).values_list("pk", flat=True))

    unit_rows, grid_rows, seen = [], [], set()
    for index, (feature, props) in enumerate(zip(features, props_list), start=1):
        row = ImportRow(index=index)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            row.errors.append(_("Not a GeoJSON Feature."))
            grid_rows.append(row)
            continue
        row.code = _code_text(props.get("code"))
        row.name = str(props.get("name") or "").strip()
        if row.code and row.code in seen:
            row.errors.append(_("Code %(code)s appears more than once in the file.") % {"code": row.code})
        seen.add(row.code)
        _geometry(feature, crs, row)
        if len(row.code) == 12:
            _plan_unit(row, units)
            unit_rows.append(row)
        else:
            _plan_grid(row, props, units, grids, visible_grid_ids)
            grid_rows.append(row)
        if row.errors:
            row.action = "invalid"

    _check_grid_shapes(grid_rows, unit_rows)
    plan.rows = unit_rows + grid_rows
    return plan


def _plan_unit(row: ImportRow, units: dict) -> None:
    row.kind = "unit"
    unit = units.get(row.code)
    if unit is None:
        row.errors.append(_("No unit with code %(code)s in your jurisdiction.") % {"code": row.code})
        return
    row.unit, row.name, row.action = unit, row.name or unit.name, "update"


def _plan_grid(row: ImportRow, props: dict, units: dict, grids: dict, visible_grid_ids: set) -> None:
    errors = row.errors
    parent_code = _code_text(props.get("parent"))
    grid_type = TYPE_ALIASES.get(str(props.get("type") or "basic").strip())
    if grid_type is None:
        errors.append(_("Unknown grid type %(type)r (basic, dedicated or specialised).") % {"type": props.get("type")})
    fields: dict = {"grid_type": grid_type} if grid_type else {}
    for name in services.COUNT_FIELDS:
        value = _count(props, name, errors)
        if value is not None:
            fields[name] = value
    if row.name:
        fields["name"] = row.name

    existing = grids.get(row.code) if row.code else None
    if existing is not None:
        if existing.pk not in visible_grid_ids:
            errors.append(_("Grid code %(code)s is already in use outside your jurisdiction.") % {"code": row.code})
            return
        if parent_code and parent_code != existing.community.code:
            errors.append(_("Grid %(code)s belongs to %(community)s, not to parent %(parent)s.")
                          % {"code": row.code, "community": existing.community.code, "parent": parent_code})
        row.grid, row.community, row.action = existing, existing.community, "update"
        row.name = row.name or existing.name
        row.fields = fields
        return

    if row.code:
        scheme = SCHEME_BY_LENGTH.get(len(row.code))
        if scheme is None:
            errors.append(_("Code %(code)s is neither a 12-digit division code nor a grid code of 14, 15 or 20 digits.")
                          % {"code": row.code})
            return
        try:
            parts = parse_grid_code(row.code, scheme)
        except ValueError as exc:
            errors.append(str(exc))
            return
        if parent_code and parent_code != parts["community_code"]:
            errors.append(_("Code %(code)s names community %(community)s, but parent is %(parent)s.")
                          % {"code": row.code, "community": parts["community_code"], "parent": parent_code})
        parent_code = parts["community_code"]
        row.scheme, row.sequence, row.object_class = scheme.value, parts["sequence"], parts["object_class"]
    elif not parent_code:
        errors.append(_("A feature needs a code, or a parent community code to number it in."))
        return

    community = units.get(parent_code)
    if community is None:
        errors.append(_("No community with code %(code)s in your jurisdiction.") % {"code": parent_code})
        return
    if community.level != UnitLevel.VILLAGE:
        errors.append(_("%(name)s is not a community or village; grids belong to one.") % {"name": community.name})
        return
    row.community = community
    if not row.name:
        errors.append(_("A new grid needs a name."))
    row.action, row.fields = "create", fields


def _check_grid_shapes(grid_rows: list[ImportRow], unit_rows: list[ImportRow]) -> None:
    """Containment in the community (new boundaries from the file win), sequences, and overlaps."""
    new_unit_shapes = {row.unit.pk: row.shape for row in unit_rows if not row.errors}
    rows = [row for row in grid_rows if row.community is not None and not row.errors]
    communities = {row.community.pk: row.community for row in rows}
    updated = {row.grid.pk for row in rows if row.grid is not None}
    # The community's grids as they will be: the stored ones, replaced or joined by the file's.
    planned: dict[int, list[tuple[int | None, str, Any]]] = {pk: [] for pk in communities}
    used_sequences: dict[int, set[int]] = {pk: set() for pk in communities}
    for pk, community_id, code, sequence, boundary in Grid.objects.filter(community__in=communities).values_list(
        "pk", "community_id", "code", "sequence", "boundary"
    ):
        used_sequences[community_id].add(sequence)
        if pk in updated or not boundary:
            continue
        try:
            planned[community_id].append((pk, code, shape(boundary)))
        except Exception:  # noqa: BLE001 - a broken stored grid must not block the import
            continue
    for row in rows:
        if row.action == "create":
            taken = used_sequences[row.community.pk]
            if row.sequence is None:
                row.sequence = services.next_free_sequence(row.community, taken)
                row.code = generate_grid_code(scheme=DEFAULT_SCHEME, community_code=row.community.code,
                                              sequence=row.sequence)
            elif row.sequence in taken:
                row.errors.append(_("Sequence %(n)s is already used in %(community)s.")
                                  % {"n": row.sequence, "community": row.community.name})
            taken.add(row.sequence)
        container = new_unit_shapes.get(row.community.pk)
        try:
            services.check_containment(row.shape, row.community, container)
        except ValidationError as exc:
            row.errors.extend(exc.message_dict.get("boundary", exc.messages))
        if not row.errors:
            planned[row.community.pk].append((row.grid.pk if row.grid else None, row.code, row.shape))
        else:
            row.action = "invalid"
    for row in rows:
        if row.errors:
            continue
        others = [(code, other) for _pk, code, other in planned[row.community.pk] if code != row.code]
        row.warnings.extend(w.message for w in services.overlap_warnings(row.shape, others))
        if row.fields.get("grid_type", GridType.BASIC) == GridType.BASIC and row.fields.get("households"):
            probe = Grid(code=row.code, grid_type=GridType.BASIC, households=row.fields["households"])
            row.warnings.extend(w.message for w in services._household_warnings(probe))
