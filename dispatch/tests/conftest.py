"""Fixtures for dispatch tests: a place with a grid, a small catalogue, and the people of the loop."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.utils import translation

from dispatch.models import ClassKind, MajorClass, MinorClass, Urgency
from governance.roles import Role
from grids.models import GridRole
from grids.services import membership_start
from grids.tests.gridmaps import community_with_boundary, grid, lonlat, rect


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in their English source, in code and in pages (a browser that asks
    for Chinese still gets Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@dataclass
class Loop:
    tree: object
    grid: object
    inside: tuple[float, float]  # a point in the grid (lon, lat)
    outside: tuple[float, float]  # a point in no grid
    rubbish: MinorClass  # 4 working hours, lead department = tree.bureau
    manhole: MinorClass  # urgent, 2 hours calendar time, self-handling not allowed
    litter: MinorClass  # may be handled on the spot
    worker: object  # grid worker on the grid's team
    operator: object  # street A centre operator
    dispatcher: object  # district dispatcher
    handler: object  # handler in tree.bureau
    outsider: object  # operator of street B


@pytest.fixture
def loop(tree, persona) -> Loop:
    community_with_boundary(tree.community_a, 0, 0, 1000)
    the_grid = grid(tree.community_a, rect(0, 0, 500, 500), name="甲一网格")
    # The loop runs on its own small catalogue: the default one the migration loads is set aside
    # (nothing refers to it yet in a fresh test database); dispatch/tests/test_catalogue.py tests it.
    MinorClass.objects.all().delete()
    MajorClass.objects.all().delete()
    major = MajorClass.objects.create(kind=ClassKind.EVENT, code="01", name="市容环境")
    rubbish = MinorClass.objects.create(major=major, code="02", name="暴露垃圾", lead_department=tree.bureau,
                                        limit_amount=4, limit_unit="working_hours")
    manhole = MinorClass.objects.create(major=major, code="09", name="井盖缺失", lead_department=tree.bureau,
                                        limit_amount=2, limit_unit="hours", urgency=Urgency.URGENT)
    litter = MinorClass.objects.create(major=major, code="05", name="散落垃圾", lead_department=tree.bureau,
                                       limit_amount=2, limit_unit="working_hours", self_handling=True)
    worker = persona(Role.GRID_WORKER, unit=tree.community_a)
    membership_start(grid=the_grid, user=worker, grid_role=GridRole.FULL_TIME, actor=None)
    return Loop(
        tree=tree, grid=the_grid, inside=tuple(lonlat(100, 100)), outside=tuple(lonlat(5000, 5000)),
        rubbish=rubbish, manhole=manhole, litter=litter, worker=worker,
        operator=persona(Role.STREET_OPERATOR, unit=tree.street_a),
        dispatcher=persona(Role.DISTRICT_DISPATCHER, unit=tree.district),
        handler=persona(Role.DEPARTMENT_HANDLER, department=tree.bureau),
        outsider=persona(Role.STREET_OPERATOR, unit=tree.street_b),
    )


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded photos go to a scratch folder, never to the developer's var/media."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def crew(loop, persona):
    """The loop's personas plus a leader (district) and a handler of the street B office."""
    return SimpleNamespace(
        **vars(loop),
        leader=persona(Role.LEADER),
        handler_b=persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b),
    )
