"""The navigation bar: which sections each role sees. Apps add their sections here."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from governance.roles import COMMAND_ROLES, Role


@dataclass(frozen=True)
class NavItem:
    label: Promise
    url_name: str
    roles: frozenset[str] | None = None  # None: everyone signed in
    staff_only: bool = False  # the Django admin needs staff status, whatever the role

    def visible_for(self, roles: set[str], is_staff: bool) -> bool:
        if self.staff_only and not is_staff:
            return False
        return self.roles is None or bool(self.roles & roles)


ALL_BUT_GRID = frozenset(Role.values) - {Role.GRID_WORKER}
# Roles held within a unit whose work spans a unit tree (handlers work within a department).
UNIT_ROLES = ALL_BUT_GRID - {Role.DEPARTMENT_HANDLER}
# The case loop (dispatch): who runs the queue, who handles, who verifies and reports.
WORKBENCH_ROLES = COMMAND_ROLES | {Role.LEADER, Role.ADMINISTRATOR}
VERIFY_ROLES = frozenset({Role.GRID_WORKER, Role.GRID_LEADER})

NAV_ITEMS: list[NavItem] = [
    NavItem(_("My work"), "home"),
    NavItem(_("My grid"), "grids:my_grid", frozenset({Role.GRID_WORKER, Role.GRID_LEADER})),
    NavItem(_("Report"), "dispatch:report", COMMAND_ROLES | VERIFY_ROLES),
    NavItem(_("To verify"), "dispatch:verify_queue", VERIFY_ROLES),
    NavItem(_("Workbench"), "dispatch:workbench", WORKBENCH_ROLES),
    NavItem(_("Hotline"), "dispatch:hotline", COMMAND_ROLES),
    NavItem(_("My department's cases"), "dispatch:department_queue", frozenset({Role.DEPARTMENT_HANDLER})),
    NavItem(_("Units"), "governance:unit_list", UNIT_ROLES),
    NavItem(_("Grid map"), "grids:grid_map", ALL_BUT_GRID),
    NavItem(_("Departments"), "governance:department_list", ALL_BUT_GRID),
    NavItem(_("Administration"), "admin:index", staff_only=True),
]


def nav_for(roles: set[str], *, is_staff: bool, current_path: str) -> list[dict]:
    items = [
        {"label": item.label, "url": reverse(item.url_name), "active": False}
        for item in NAV_ITEMS
        if item.visible_for(roles, is_staff)
    ]
    # The section holding the page is the item with the longest matching address: /dispatch/ (the
    # workbench) also prefixes /dispatch/report/, which must mark "Report" alone.
    matching = [i for i in items if current_path == i["url"] or (i["url"] != "/" and current_path.startswith(i["url"]))]
    if matching:
        max(matching, key=lambda i: len(i["url"]))["active"] = True
    return items
