"""Who may act on a case, by the part they play in it.

Seeing a case is ``dispatch.selectors.events_visible_to``; acting on it needs a part:
- the command centre (综治/指挥中心) that owns the case: command roles held over its owner unit;
- the handler: a department handler of the lead department; an assignee: of a co-handling or
  summoned department whose assignment waits to be signed (the lead signs with ``sign``);
- the verifier: the named verifier, a grid worker or leader on the case's grid team, or the centre;
- a supervisor: the centre, or a leader, over the case's unit; a leader alone lists for supervision;
- the reporter: the grid worker who reported it (handling it on the spot);
- the citizen: whoever holds the receipt code, with no user (``Who.CITIZEN``, rating the outcome).
"""

from __future__ import annotations

from enum import Enum

from governance.roles import COMMAND_ROLES, Role
from governance.selectors import active_assignments


class Who(str, Enum):
    CENTRE = "centre"
    HANDLER = "handler"
    ASSIGNEE = "assignee"
    VERIFIER = "verifier"
    SUPERVISOR = "supervisor"
    LEADER = "leader"
    REPORTER = "reporter"
    CITIZEN = "citizen"  # acts only without a user, through the receipt code
    SYSTEM = "system"


def holds_over(user, roles, path: str) -> bool:
    """Whether ``user`` holds one of ``roles`` in a unit whose subtree contains ``path``."""
    if getattr(user, "is_superuser", False):
        return True
    return any(a.role in roles and a.unit_id and path.startswith(a.unit.path) for a in active_assignments(user))


def handles_for(user, department_id: int | None) -> bool:
    if department_id is None:
        return False
    return any(
        a.role == Role.DEPARTMENT_HANDLER and a.department_id == department_id for a in active_assignments(user)
    )


def is_centre(user, event) -> bool:
    return holds_over(user, COMMAND_ROLES, event.owner_path)


def may_act(user, who: frozenset[str], event) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if Who.CENTRE in who and is_centre(user, event):
        return True
    if Who.HANDLER in who and handles_for(user, event.department_id):
        return True
    if Who.ASSIGNEE in who and any(
        handles_for(user, a.department_id)
        for a in event.assignments.filter(status="pending", role__in=["co", "summoned"])
    ):
        return True
    if Who.VERIFIER in who and (event.verifier_id == user.pk or _on_grid_team(user, event) or is_centre(user, event)):
        return True
    if Who.SUPERVISOR in who and (
        is_centre(user, event) or holds_over(user, {Role.LEADER, *COMMAND_ROLES}, event.unit_path)
    ):
        return True
    if Who.LEADER in who and holds_over(user, {Role.LEADER}, event.unit_path):
        return True
    if Who.REPORTER in who and event.reporter_id == user.pk:
        return True
    return False


def _on_grid_team(user, event) -> bool:
    if event.grid_id is None:
        return False
    from grids.selectors import is_on_team  # grids imports dispatch measures; keep the cycle lazy

    return is_on_team(event.grid, user)
