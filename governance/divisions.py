"""Loading statistical division codes (the administrative unit tree) from CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from governance.audit import audit_log
from governance.models import AdministrativeUnit, UnitLevel

DATA_DIR = Path(__file__).resolve().parent / "data"
REQUIRED_COLUMNS = {"code", "name", "level", "parent_code"}


@dataclass
class DivisionImport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = REQUIRED_COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise ValidationError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        return list(reader)


def _validate(rows: list[dict[str, str]]) -> list[str]:
    errors = []
    codes = {row["code"] for row in rows}
    existing = set(AdministrativeUnit.objects.filter(code__in={r["parent_code"] for r in rows}).values_list("code", flat=True))
    for line, row in enumerate(rows, start=2):
        if not (len(row["code"]) == 12 and row["code"].isdigit()):
            errors.append(f"line {line}: code {row['code']!r} is not 12 digits")
        if row["level"] not in UnitLevel.values:
            errors.append(f"line {line}: level {row['level']!r} is not one of {', '.join(UnitLevel.values)}")
        if not row["name"].strip():
            errors.append(f"line {line}: name is empty")
        parent = row["parent_code"]
        if parent and parent not in codes and parent not in existing:
            errors.append(f"line {line}: parent {parent} is neither in the file nor in the database")
    return errors


@transaction.atomic
def divisions_import(*, path: Path, actor=None) -> DivisionImport:
    """Create or update units from a division CSV. All or nothing: any invalid row stops the import."""
    rows = _read_rows(path)
    result = DivisionImport(errors=_validate(rows))
    if result.errors:
        return result
    by_code = {u.code: u for u in AdministrativeUnit.objects.filter(code__in=[r["code"] for r in rows])}
    # Parents before children: sort by level depth.
    depth = {level: i for i, level in enumerate(UnitLevel.values)}
    for row in sorted(rows, key=lambda r: depth[r["level"]]):
        parent = by_code.get(row["parent_code"]) or (
            AdministrativeUnit.objects.filter(code=row["parent_code"]).first() if row["parent_code"] else None
        )
        unit = by_code.get(row["code"])
        if unit is None:
            unit = AdministrativeUnit(code=row["code"], name=row["name"], level=row["level"], parent=parent)
            unit.save()
            by_code[unit.code] = unit
            result.created += 1
        elif (unit.name, unit.level, unit.parent_id) != (row["name"], row["level"], parent.pk if parent else None):
            unit.name, unit.level, unit.parent = row["name"], row["level"], parent
            unit.save()
            result.updated += 1
        else:
            result.unchanged += 1
    audit_log(
        actor=actor,
        action="governance.unit.imported",
        data={"file": path.name, "created": result.created, "updated": result.updated},
    )
    return result
