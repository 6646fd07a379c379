"""factory_boy factories for the core, and a small tree of units for permission tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import factory

from governance.models import AdministrativeUnit, Department, DepartmentKind, UnitLevel, User
from governance.roles import Role
from governance.services import role_assign

_codes = itertools.count(1)

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


def make_unit(name: str, level: str, parent: AdministrativeUnit | None = None) -> AdministrativeUnit:
    n = next(_codes)
    prefix = parent.code if parent else "990000000000"
    depth = {UnitLevel.CITY: 4, UnitLevel.COUNTY: 6, UnitLevel.TOWNSHIP: 9, UnitLevel.VILLAGE: 12}.get(level, 2)
    width = {4: 2, 6: 2, 9: 3, 12: 3}.get(depth, 2)
    code = (prefix[: depth - width] + str(n % (10**width - 1) + 1).zfill(width)).ljust(12, "0")
    return AdministrativeUnit.objects.create(code=code, name=name, level=level, parent=parent, is_synthetic=True)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"测试部门{n}")
    kind = DepartmentKind.BUREAU


def person(role: str, *, unit=None, department=None, **fields) -> User:
    user = UserFactory(**fields)
    role_assign(user=user, role=role, unit=unit, department=department, actor=None)
    return user


@dataclass
class Tree:
    """A district with streets A and B, one community under each, and a bureau."""

    district: AdministrativeUnit
    street_a: AdministrativeUnit
    street_b: AdministrativeUnit
    community_a: AdministrativeUnit
    community_b: AdministrativeUnit
    bureau: Department
    office_b: Department


def build_tree() -> Tree:
    city = make_unit("测试市", UnitLevel.CITY)
    district = make_unit("测试区", UnitLevel.COUNTY, city)
    street_a = make_unit("甲街道", UnitLevel.TOWNSHIP, district)
    street_b = make_unit("乙街道", UnitLevel.TOWNSHIP, district)
    community_a = make_unit("甲一社区", UnitLevel.VILLAGE, street_a)
    community_b = make_unit("乙一社区", UnitLevel.VILLAGE, street_b)
    bureau = DepartmentFactory(name="测试城管局", unit=district)
    office_b = DepartmentFactory(name="乙街道城管中队", unit=street_b, kind=DepartmentKind.STREET_OFFICE)
    return Tree(district, street_a, street_b, community_a, community_b, bureau, office_b)


ROLE_UNIT = {
    Role.DISTRICT_DISPATCHER: "district",
    Role.LEADER: "district",
    Role.PETITION_OFFICER: "district",
    Role.ADMINISTRATOR: "district",
    Role.STREET_OPERATOR: "street_a",
    Role.MEDIATOR: "street_a",
    Role.COMMUNITY_STAFF: "community_a",
    Role.GRID_LEADER: "community_a",
    Role.GRID_WORKER: "community_a",
}
