"""Routing: from a case's class and place to the department that handles it, and the centre that runs it."""

from __future__ import annotations

from django.db.models import Q

from dispatch.models import MinorClass, RoutingRule
from governance.models import AdministrativeUnit, Department, UnitLevel

# The level whose command centre runs a new case, by channel: the street (or township) centre for
# what the field and citizens report, the district (county) centre for the 12345 hotline.
CENTRE_LEVELS = (UnitLevel.TOWNSHIP, UnitLevel.COUNTY, UnitLevel.CITY, UnitLevel.PROVINCE)


def path_prefixes(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def route(minor: MinorClass | None, unit: AdministrativeUnit) -> Department | None:
    """The department for ``minor`` at ``unit``: the most specific routing rule (deepest unit, then
    minor over major over any class), else the class's lead department, else None (operator picks)."""
    if minor is None:
        return None
    rules = list(
        RoutingRule.objects.filter(unit__path__in=path_prefixes(unit.path), department__is_active=True)
        .filter(Q(minor=minor) | Q(minor__isnull=True, major=minor.major_id) | Q(minor__isnull=True, major__isnull=True))
        .select_related("unit", "department")
    )
    if rules:
        best = max(rules, key=lambda r: (len(r.unit.path), 2 if r.minor_id else 1 if r.major_id else 0, -r.pk))
        return best.department
    lead = minor.lead_department
    return lead if lead is not None and lead.is_active else None


def centre_unit(unit: AdministrativeUnit, *, level: str = UnitLevel.TOWNSHIP) -> AdministrativeUnit:
    """The unit at ``level`` above (or at) ``unit``; the unit itself if it lies above that level."""
    for ancestor in unit.lineage():  # the unit first, then upwards
        if ancestor.level == level:
            return ancestor
    return unit


def level_above(unit: AdministrativeUnit) -> AdministrativeUnit | None:
    return unit.parent
