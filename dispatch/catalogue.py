"""The default event catalogue (``dispatch/data/catalogue.csv``) and loading it.

One CSV row per minor class; its major class is named on the same row. Columns: ``kind`` (event,
component, governance), ``major_code``, ``major_name``, ``minor_code``, ``minor_name``,
``limit_amount``, ``limit_unit`` (minutes, hours, days, working_hours, working_days), ``urgency``
(normal, urgent), ``track`` (general, emergency, dispute), ``self_handling`` (true/false) and
``keywords`` (synonyms for the category search, separated by spaces). Departments are not in the
file: they belong to a deployment and are set by its administrator.

Loading is idempotent: a class is found by kind + major code, then major + minor code. By default
classes already in the database are left as an administrator edited them; ``update_existing``
resets their names, limits, urgency, track, self-handling and keywords to the file (departments,
automatic dispatch and whether a class is active are never touched).

The data migration calls ``catalogue_read`` and ``catalogue_apply`` with its historical models.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from django.db import transaction
from django.utils.translation import gettext

from dispatch.models import ClassKind, Track, Urgency
from governance.deadlines import LimitUnit

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "catalogue.csv"
COLUMNS = (
    "kind", "major_code", "major_name", "minor_code", "minor_name", "limit_amount", "limit_unit", "urgency",
    "track", "self_handling", "keywords",
)
CALENDAR_UNITS = (LimitUnit.MINUTES.value, LimitUnit.HOURS.value, LimitUnit.DAYS.value)
TRUE_WORDS = {"true", "yes", "1", "y"}
FALSE_WORDS = {"false", "no", "0", "n", ""}
# Fields the file sets on a minor class (and resets when updating).
MINOR_FIELDS = ("name", "limit_amount", "limit_unit", "urgency", "track", "self_handling", "keywords")


class CatalogueError(ValueError):
    """The file has bad rows; ``errors`` names each by its line. Nothing was loaded."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class CatalogueLoad(NamedTuple):
    created: int  # major and minor classes created
    updated: int  # existing classes whose fields were changed (only with update_existing)


@dataclass(frozen=True)
class Row:
    line: int
    kind: str
    major_code: str
    major_name: str
    minor_code: str
    minor_name: str
    limit_amount: int
    limit_unit: str
    urgency: str
    track: str
    self_handling: bool
    keywords: str

    def minor_values(self) -> dict:
        return {
            "name": self.minor_name, "limit_amount": self.limit_amount, "limit_unit": self.limit_unit,
            "urgency": self.urgency, "track": self.track, "self_handling": self.self_handling,
            "keywords": self.keywords,
        }


def class_rule_problems(*, urgency: str, track: str, limit_unit: str) -> list[str]:
    """The catalogue's own rules, shared by the file check and the admin form: urgent classes run on
    calendar time (the working calendar does not stop them), and emergencies are urgent."""
    problems = []
    if urgency == Urgency.URGENT and limit_unit not in CALENDAR_UNITS:
        problems.append(gettext("An urgent class runs on calendar time: give its limit in minutes, hours or days."))
    if track == Track.EMERGENCY and urgency != Urgency.URGENT:
        problems.append(gettext("An emergency class must be urgent."))
    return problems


def _code(value: str) -> bool:
    return len(value) == 2 and value.isdigit()


def _check_row(line: int, raw: dict[str, str]) -> tuple[Row | None, list[str]]:
    get = {name: (raw.get(name) or "").strip() for name in COLUMNS}
    errors: list[str] = []

    def bad(message: str, **values) -> None:
        problem = message % values if values else message
        errors.append(gettext("line %(line)d: %(problem)s") % {"line": line, "problem": problem})

    if get["kind"] not in ClassKind.values:
        bad(gettext("kind “%(value)s” is not one of %(allowed)s"), value=get["kind"],
            allowed=", ".join(ClassKind.values))
    for column in ("major_code", "minor_code"):
        if not _code(get[column]):
            bad(gettext("%(column)s “%(value)s” is not two digits"), column=column, value=get[column])
    for column in ("major_name", "minor_name"):
        if not get[column]:
            bad(gettext("%(column)s is empty"), column=column)
        elif len(get[column]) > 64:
            bad(gettext("%(column)s is longer than 64 characters"), column=column)
    amount = None
    try:
        amount = int(get["limit_amount"])
    except ValueError:
        pass
    if amount is None or amount <= 0:
        bad(gettext("limit_amount “%(value)s” is not a positive whole number"), value=get["limit_amount"])
    units = [u.value for u in LimitUnit]
    if get["limit_unit"] not in units:
        bad(gettext("limit_unit “%(value)s” is not one of %(allowed)s"), value=get["limit_unit"],
            allowed=", ".join(units))
    if get["urgency"] not in Urgency.values:
        bad(gettext("urgency “%(value)s” is not one of %(allowed)s"), value=get["urgency"],
            allowed=", ".join(Urgency.values))
    if get["track"] not in Track.values:
        bad(gettext("track “%(value)s” is not one of %(allowed)s"), value=get["track"],
            allowed=", ".join(Track.values))
    flag = get["self_handling"].lower()
    if flag not in TRUE_WORDS | FALSE_WORDS:
        bad(gettext("self_handling “%(value)s” is not true or false"), value=get["self_handling"])
    if len(get["keywords"]) > 255:
        bad(gettext("keywords are longer than 255 characters"))
    if not errors:
        for problem in class_rule_problems(urgency=get["urgency"], track=get["track"], limit_unit=get["limit_unit"]):
            bad(problem)
    if errors:
        return None, errors
    return Row(
        line=line, kind=get["kind"], major_code=get["major_code"], major_name=get["major_name"],
        minor_code=get["minor_code"], minor_name=get["minor_name"], limit_amount=amount,
        limit_unit=get["limit_unit"], urgency=get["urgency"], track=get["track"],
        self_handling=flag in TRUE_WORDS, keywords=" ".join(get["keywords"].split()),
    ), []


def catalogue_read(path: Path | str = DEFAULT_PATH) -> list[Row]:
    """Read and check the whole file; raise ``CatalogueError`` naming every bad line."""
    path = Path(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CatalogueError([gettext("%(file)s: missing columns: %(columns)s")
                                  % {"file": path.name, "columns": ", ".join(missing)}])
        raws = list(reader)
    rows, errors = [], []
    majors: dict[tuple[str, str], tuple[str, int]] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for line, raw in enumerate(raws, start=2):  # line 1 is the header
        row, problems = _check_row(line, raw)
        errors += problems
        if row is None:
            continue
        name, first = majors.setdefault((row.kind, row.major_code), (row.major_name, line))
        if name != row.major_name:
            errors.append(gettext("line %(line)d: major class %(kind)s %(code)s is named “%(name)s” on line "
                                  "%(first)d and “%(other)s” here")
                          % {"line": line, "kind": row.kind, "code": row.major_code, "name": name, "first": first,
                             "other": row.major_name})
        key = (row.kind, row.major_code, row.minor_code)
        if key in seen:
            errors.append(gettext("line %(line)d: minor class %(kind)s %(code)s is already on line %(first)d")
                          % {"line": line, "kind": row.kind, "code": row.major_code + row.minor_code,
                             "first": seen[key]})
        seen.setdefault(key, line)
        rows.append(row)
    if errors:
        raise CatalogueError(errors)
    return rows


def catalogue_apply(rows: list[Row], *, major_model, minor_model, update_existing: bool = False) -> CatalogueLoad:
    """Create (or with ``update_existing`` also reset) the classes of ``rows``. Takes the model
    classes so that the data migration can pass its historical ones. Call inside a transaction."""
    created = updated = 0
    majors = {(m.kind, m.code): m for m in major_model.objects.all()}
    minors = {(m.major_id, m.code): m for m in minor_model.objects.all()}
    for row in rows:
        major = majors.get((row.kind, row.major_code))
        if major is None:
            major = major_model.objects.create(kind=row.kind, code=row.major_code, name=row.major_name)
            majors[(row.kind, row.major_code)] = major
            created += 1
        elif update_existing and major.name != row.major_name:
            major.name = row.major_name
            major.save(update_fields=["name"])
            updated += 1
        minor = minors.get((major.pk, row.minor_code))
        values = row.minor_values()
        if minor is None:
            minors[(major.pk, row.minor_code)] = minor_model.objects.create(major=major, code=row.minor_code, **values)
            created += 1
        elif update_existing:
            changed = [name for name, value in values.items() if getattr(minor, name) != value]
            if changed:
                for name in changed:
                    setattr(minor, name, values[name])
                minor.save(update_fields=changed)
                updated += 1
    return CatalogueLoad(created, updated)


def catalogue_load(path: Path | str = DEFAULT_PATH, *, update_existing: bool = False) -> CatalogueLoad:
    """Load the catalogue file (the shipped default unless ``path`` is given). All or nothing:
    a bad row raises ``CatalogueError`` and nothing is written."""
    from dispatch.models import MajorClass, MinorClass

    from governance.audit import audit_log

    rows = catalogue_read(path)
    with transaction.atomic():
        result = catalogue_apply(rows, major_model=MajorClass, minor_model=MinorClass,
                                 update_existing=update_existing)
        if result.created or result.updated:
            audit_log(actor=None, action="dispatch.catalogue.loaded",
                      data={"file": Path(path).name, "created": result.created, "updated": result.updated})
    return result
