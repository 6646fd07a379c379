"""Reads of the core, scoped to what a user may see.

Jurisdiction comes from django-guardian object permissions on units and departments, which
``services.permissions_sync`` derives from a person's active role assignments. A permission on a
unit covers the unit and its whole subtree; a permission on a department covers that department.
Every list, map, export and API of every app narrows its rows through ``scope_q`` — there is no
second path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from governance.models import AdministrativeUnit, Department, RoleAssignment, User
from governance.roles import Role

UNIT_PERM = "governance.view_administrativeunit"
DEPARTMENT_PERM = "governance.view_department"


@dataclass(frozen=True)
class Scope:
    """What a user may see: everything, or the subtrees of some units plus some departments."""

    everything: bool = False
    unit_paths: tuple[str, ...] = ()
    department_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.unit_paths or self.department_ids)


def scope_for(user) -> Scope:
    """The user's scope, computed once per user object (i.e. once per request)."""
    cached = getattr(user, "_gridgov_scope", None)
    if cached is not None:
        return cached
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        scope = Scope()
    elif user.is_superuser:
        scope = Scope(everything=True)
    else:
        roots = get_objects_for_user(user, UNIT_PERM, accept_global_perms=False, with_superuser=False)
        paths = sorted(roots.values_list("path", flat=True))
        # Drop paths already covered by a shorter one, so the query has no redundant branches.
        minimal = tuple(p for p in paths if not any(p != q and p.startswith(q) for q in paths))
        departments = get_objects_for_user(user, DEPARTMENT_PERM, accept_global_perms=False, with_superuser=False)
        scope = Scope(unit_paths=minimal, department_ids=frozenset(departments.values_list("pk", flat=True)))
    user._gridgov_scope = scope
    return scope


def scope_q(user, *, unit_path: str | None = None, department: str | None = None) -> Q:
    """A filter for rows the user may see.

    ``unit_path`` is the lookup from the row to a unit's path (e.g. ``"grid__community__path"``),
    ``department`` the lookup to a department id (e.g. ``"department"``); a row is visible when
    either leads inside the user's scope. Returns a filter matching nothing for an empty scope.
    """
    scope = scope_for(user)
    if scope.everything:
        return Q()
    condition = Q(pk__in=[])
    if unit_path:
        for path in scope.unit_paths:
            condition |= Q(**{f"{unit_path}__startswith": path})
    if department and scope.department_ids:
        condition |= Q(**{f"{department}__in": scope.department_ids})
    return condition


def units_visible_to(user) -> QuerySet[AdministrativeUnit]:
    return AdministrativeUnit.objects.filter(scope_q(user, unit_path="path"))


def departments_visible_to(user) -> QuerySet[Department]:
    return Department.objects.filter(scope_q(user, unit_path="unit__path", department="pk")).select_related("unit")


def users_visible_to(user) -> QuerySet[User]:
    """People holding an active or past role inside the user's scope."""
    visible = RoleAssignment.objects.filter(scope_q(user, unit_path="unit__path", department="department"))
    return User.objects.filter(pk__in=visible.values("user_id"))


def get_unit_for_user(user, pk: int) -> AdministrativeUnit:
    """The unit, if the user may see it; 404 alike for missing and out of scope."""
    try:
        return units_visible_to(user).get(pk=pk)
    except (AdministrativeUnit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_department_for_user(user, pk: int) -> Department:
    try:
        return departments_visible_to(user).get(pk=pk)
    except (Department.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def active_assignments(user) -> list[RoleAssignment]:
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_gridgov_assignments", None)
    if cached is None:
        cached = list(
            RoleAssignment.objects.filter(user=user)
            .active()
            .select_related("unit", "department", "department__unit")
            .defer("unit__boundary", "department__unit__boundary")  # a district's polygon, on every request
            .order_by("role", "pk")
        )
        user._gridgov_assignments = cached
    return cached


def roles_of(user) -> set[str]:
    roles = {a.role for a in active_assignments(user)}
    if getattr(user, "is_superuser", False):
        roles.add(Role.ADMINISTRATOR)
    return roles


def unit_children_summary(unit: AdministrativeUnit) -> dict[str, int]:
    """How many units of each level lie under ``unit`` (for home pages and cards)."""
    rows = (
        AdministrativeUnit.objects.filter(path__startswith=unit.path)
        .exclude(pk=unit.pk)
        .values("level")
        .annotate(n=Count("pk"))
    )
    return {row["level"]: row["n"] for row in rows}
