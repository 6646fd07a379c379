"""Home-page panel of grid workers and grid leaders: their grid at a glance and follow-ups due."""

from __future__ import annotations

from django.utils import timezone

from governance.home import panel
from governance.models import RoleAssignment
from governance.roles import Role
from grids.selectors import follow_ups_due, my_grids, open_patrol_for


@panel(roles={Role.GRID_WORKER, Role.GRID_LEADER}, template="grids/panels/my_grid.html", order=10)
def my_grid_panel(user, assignments: list[RoleAssignment]) -> dict:
    return {
        "grids": my_grids(user),
        "open_patrol": open_patrol_for(user),
        "follow_ups": list(follow_ups_due(user)),
        "today": timezone.localdate(),
    }
