"""Writes of the core. Each takes the acting user, writes an audit row, and runs in a transaction."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from governance.audit import audit_log, field_changes
from governance.models import AdministrativeUnit, Department, RoleAssignment, UnitCodeChange, User
from governance.roles import DEPARTMENT_ROLES, Role
from governance.selectors import DEPARTMENT_PERM, UNIT_PERM


def permissions_sync(*, user: User) -> None:
    """Make the user's object permissions match their active role assignments exactly.

    Permissions are derived data: recomputing them from the assignments (rather than adding and
    removing one at a time) keeps them right when assignments overlap or lapse by date.
    """
    active = RoleAssignment.objects.filter(user=user).active()
    wanted_units = set(active.exclude(unit=None).values_list("unit_id", flat=True))
    wanted_departments = set(active.exclude(department=None).values_list("department_id", flat=True))
    _sync(user, UNIT_PERM, AdministrativeUnit, wanted_units)
    _sync(user, DEPARTMENT_PERM, Department, wanted_departments)
    for attr in ("_gridgov_scope", "_gridgov_assignments", "_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(attr, None)


def _sync(user: User, perm: str, model, wanted: set[int]) -> None:
    held = set(
        get_objects_for_user(user, perm, accept_global_perms=False, with_superuser=False).values_list("pk", flat=True)
    )
    for obj in model.objects.filter(pk__in=wanted - held):
        assign_perm(perm, user, obj)
    for obj in model.objects.filter(pk__in=held - wanted):
        remove_perm(perm, user, obj)


def _check_jurisdiction(role: str, unit: AdministrativeUnit | None, department: Department | None) -> None:
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role “%(role)s”.") % {"role": role}})
    if role in DEPARTMENT_ROLES and (department is None or unit is not None):
        raise ValidationError({"department": _("This role is held within a department.")})
    if role not in DEPARTMENT_ROLES and (unit is None or department is not None):
        raise ValidationError({"unit": _("This role is held within an administrative unit.")})


@transaction.atomic
def role_assign(
    *,
    user: User,
    role: str,
    actor: User | None,
    unit: AdministrativeUnit | None = None,
    department: Department | None = None,
    started_on: datetime.date | None = None,
) -> RoleAssignment:
    _check_jurisdiction(role, unit, department)
    assignment = RoleAssignment.objects.create(
        user=user, role=role, unit=unit, department=department, started_on=started_on or timezone.localdate()
    )
    permissions_sync(user=user)
    audit_log(
        actor=actor,
        action="governance.role.assigned",
        obj=assignment,
        data={"user": user.pk, "role": role, "unit": unit, "department": department},
    )
    return assignment


@transaction.atomic
def role_end(*, assignment: RoleAssignment, actor: User | None, ended_on: datetime.date | None = None) -> RoleAssignment:
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    before = {"ended_on": assignment.ended_on}
    assignment.ended_on = ended_on or timezone.localdate()
    if assignment.ended_on < assignment.started_on:
        raise ValidationError({"ended_on": _("An assignment cannot end before it starts.")})
    assignment.save(update_fields=["ended_on"])
    permissions_sync(user=assignment.user)
    audit_log(
        actor=actor,
        action="governance.role.ended",
        obj=assignment,
        changes=field_changes(before, {"ended_on": assignment.ended_on}),
    )
    return assignment


@transaction.atomic
def unit_change_code(*, unit: AdministrativeUnit, new_code: str, actor: User | None, reason: str = "") -> AdministrativeUnit:
    """Revise a unit's statistical code, keeping the old one in its history."""
    unit = AdministrativeUnit.objects.select_for_update().get(pk=unit.pk)
    if new_code == unit.code:
        return unit
    if not (len(new_code) == 12 and new_code.isdigit()):
        raise ValidationError({"code": _("A division code has exactly 12 digits.")})
    if AdministrativeUnit.objects.filter(code=new_code).exists():
        raise ValidationError({"code": _("Another unit already has the code %(code)s.") % {"code": new_code}})
    old_code = unit.code
    unit.code = new_code
    unit.save(update_fields=["code"])
    UnitCodeChange.objects.create(unit=unit, old_code=old_code, new_code=new_code, changed_by=actor, reason=reason)
    audit_log(
        actor=actor,
        action="governance.unit.code_changed",
        obj=unit,
        changes={"code": [old_code, new_code]},
        data={"reason": reason},
    )
    return unit
