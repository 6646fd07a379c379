"""The roles people hold on the platform, and where each is held.

A role is held within a jurisdiction: an administrative unit (and everything under it) or a
department. Which of the two a role takes is fixed here, in one place.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    GRID_LEADER = "grid_leader", _("Grid leader")
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    STREET_OPERATOR = "street_operator", _("Street centre operator")
    DISTRICT_DISPATCHER = "district_dispatcher", _("District command-centre dispatcher")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    MEDIATOR = "mediator", _("Mediator")
    PETITION_OFFICER = "petition_officer", _("Petition officer")
    LEADER = "leader", _("Leader")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles held within a department rather than an administrative unit.
DEPARTMENT_ROLES = frozenset({Role.DEPARTMENT_HANDLER})

# Roles whose home page is the command-centre view of their jurisdiction.
COMMAND_ROLES = frozenset({Role.STREET_OPERATOR, Role.DISTRICT_DISPATCHER, Role.COMMUNITY_STAFF})
