"""The home page ("my work"): panels chosen by the roles a person holds.

Each app contributes panels for the roles whose work it carries (grids: a grid worker's grid,
dispatch: a handler's queue …) by decorating a function with ``@panel``; the function receives the
user and the assignments of the matching roles, and returns the template context or None to skip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from governance.models import RoleAssignment, UnitLevel
from governance.roles import COMMAND_ROLES, Role
from governance.selectors import (
    active_assignments,
    departments_visible_to,
    unit_children_summary,
    users_visible_to,
)


@dataclass(frozen=True)
class Panel:
    roles: frozenset[str] | None  # None: every signed-in user
    template: str
    order: int
    build: Callable[..., dict | None]


PANELS: list[Panel] = []


def panel(*, roles: set[str] | None, template: str, order: int = 50):
    def register(func):
        PANELS.append(Panel(frozenset(roles) if roles is not None else None, template, order, func))
        return func

    return register


def home_panels(user) -> list[dict]:
    assignments = active_assignments(user)
    held = {a.role for a in assignments}
    if user.is_superuser:
        held.add(Role.ADMINISTRATOR)
    rendered = []
    for p in sorted(PANELS, key=lambda p: p.order):
        if p.roles is not None and not (p.roles & held):
            continue
        mine = [a for a in assignments if p.roles is None or a.role in p.roles]
        context = p.build(user, mine)
        if context is not None:
            rendered.append({"template": p.template, **context})
    return rendered


@panel(roles=None, template="governance/panels/roles.html", order=0)
def roles_panel(user, assignments: list[RoleAssignment]) -> dict:
    return {"assignments": assignments}


LEVEL_ORDER = [UnitLevel.TOWNSHIP, UnitLevel.VILLAGE]


@panel(roles=COMMAND_ROLES | {Role.LEADER, Role.ADMINISTRATOR}, template="governance/panels/jurisdiction.html", order=90)
def jurisdiction_panel(user, assignments: list[RoleAssignment]) -> dict | None:
    units = []
    for assignment in assignments:
        if assignment.unit is None or any(u["unit"] == assignment.unit for u in units):
            continue
        summary = unit_children_summary(assignment.unit)
        units.append(
            {
                "unit": assignment.unit,
                "counts": [(UnitLevel(level).label, summary[level]) for level in UnitLevel.values if level in summary],
            }
        )
    if not units and not user.is_superuser:
        return None
    return {
        "units": units,
        "department_count": departments_visible_to(user).count(),
        "people_count": users_visible_to(user).count(),
    }


@panel(roles={Role.DEPARTMENT_HANDLER}, template="governance/panels/department.html", order=90)
def department_panel(user, assignments: list[RoleAssignment]) -> dict:
    departments = [a.department for a in assignments]
    colleagues: dict[int, set] = {d.pk: set() for d in departments}
    for other in RoleAssignment.objects.filter(department__in=departments).active().select_related("user"):
        if other.user != user:
            colleagues[other.department_id].add(other.user)
    return {"departments": [(d, sorted(colleagues[d.pk], key=str)) for d in departments]}


@panel(roles={Role.ADMINISTRATOR}, template="governance/panels/administration.html", order=95)
def administration_panel(user, assignments: list[RoleAssignment]) -> dict | None:
    return {} if user.is_staff else None
