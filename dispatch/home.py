"""Home-page panels for the people of the case loop (see governance.home).

Each panel is one aggregate over ``events_visible_to``, or one per part of the scope for the queue
counts (``filters.group_counts``), plus the scope's own queries, so the home page stays cheap however
many cases there are.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from dispatch.filters import GROUPS_BY_KEY, department_groups, group_counts, my_department_ids, to_verify_q
from dispatch.selectors import events_visible_in_parts, events_visible_to
from dispatch.workflow import OPEN_STATES
from governance.home import panel
from governance.models import RoleAssignment
from governance.roles import COMMAND_ROLES, Role

# The command centre's queue groups on its panel, in the order of the loop.
COMMAND_GROUPS = ("accept", "register", "dispatch", "returned", "extension", "departments", "verify", "callback",
                  "listed")


def _links(url_name: str, counts: dict[str, int], groups) -> list[dict]:
    base = reverse(url_name)
    return [{"key": key, "label": label, "count": counts[key], "url": f"{base}?group={key}"} for key, label in groups]


@panel(roles=COMMAND_ROLES, template="dispatch/panels/command.html", order=20)
def command_panel(user, assignments: list[RoleAssignment]) -> dict:
    counts = group_counts(events_visible_in_parts(user), timezone.now())
    return {
        "queues": _links("dispatch:workbench", counts, [(k, GROUPS_BY_KEY[k].label) for k in COMMAND_GROUPS]),
        "overdue": counts["overdue"],
        "overdue_url": f"{reverse('dispatch:workbench')}?group=overdue",
    }


@panel(roles={Role.DEPARTMENT_HANDLER}, template="dispatch/panels/department.html", order=20)
def department_panel(user, assignments: list[RoleAssignment]) -> dict | None:
    department_ids = my_department_ids(user)
    if not department_ids:
        return None
    groups = department_groups(department_ids, timezone.now())
    counts = events_visible_to(user).aggregate(**{key: Count("pk", filter=q) for key, _label, q in groups})
    return {"queues": _links("dispatch:department_queue", counts, [(key, label) for key, label, _q in groups])}


@panel(roles={Role.GRID_WORKER, Role.GRID_LEADER}, template="dispatch/panels/grid.html", order=15)
def grid_panel(user, assignments: list[RoleAssignment]) -> dict:
    return events_visible_to(user).aggregate(
        to_verify=Count("pk", filter=to_verify_q(user)),
        my_open=Count("pk", filter=Q(reporter=user, state__in=OPEN_STATES)),
    )


@panel(roles={Role.LEADER, Role.ADMINISTRATOR}, template="dispatch/panels/leader.html", order=20)
def leader_panel(user, assignments: list[RoleAssignment]) -> dict:
    counts = group_counts(events_visible_in_parts(user), timezone.now())
    base = reverse("dispatch:workbench")
    return {"listed": counts["listed"], "overdue": counts["overdue"], "open": counts["open"],
            "listed_url": f"{base}?group=listed", "overdue_url": f"{base}?group=overdue",
            "open_url": f"{base}?group=open"}
