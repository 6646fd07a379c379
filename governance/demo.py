"""The labelled demo district: real division codes of 莲湖区 (Xi'an), synthetic everything else.

``load_demo`` runs ``load()`` here, then the ``demo.load(context)`` of every other app that has one
(grids adds demo grids, dispatch demo cases, …). Loading twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from governance.divisions import DATA_DIR, divisions_import
from governance.models import AdministrativeUnit, Department, DepartmentKind, RoleAssignment, User
from governance.roles import Role
from governance.services import role_assign

DEMO_DISTRICT_CODE = "610104000000"  # 莲湖区
DEMO_STREET_CODE = "610104001000"  # 青年路街道
DEMO_PASSWORD = "gridgov-demo-2026"
DEMO_SUFFIX = "（演示）"  # every demo person and department carries it

DISTRICT_DEPARTMENTS = [
    ("区城市管理和综合执法局", "城管局", DepartmentKind.BUREAU),
    ("区住房和城乡建设局", "住建局", DepartmentKind.BUREAU),
    ("区市场监督管理局", "市场监管局", DepartmentKind.BUREAU),
    ("区应急管理局", "应急局", DepartmentKind.BUREAU),
    ("区生态环境分局", "环保分局", DepartmentKind.BUREAU),
    ("区民政局", "民政局", DepartmentKind.BUREAU),
    ("区司法局", "司法局", DepartmentKind.BUREAU),
    ("区信访局", "信访局", DepartmentKind.BUREAU),
    ("区公安分局", "公安分局", DepartmentKind.BUREAU),
    ("区供水公司", "供水公司", DepartmentKind.UTILITY),
]


@dataclass
class DemoContext:
    district: AdministrativeUnit
    street: AdministrativeUnit
    community: AdministrativeUnit
    departments: dict[str, Department]
    users: dict[str, User]
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role label, where)


def _department(name: str, short: str, kind: str, unit: AdministrativeUnit, supervisor=None) -> Department:
    department, _ = Department.objects.update_or_create(
        unit=unit,
        name=name + DEMO_SUFFIX,
        defaults={"short_name": short, "kind": kind, "supervisor": supervisor, "is_synthetic": True},
    )
    return department


def _person(username: str, full_name: str, role: str, *, unit=None, department=None, **flags) -> User:
    user, created = User.objects.get_or_create(username=username, defaults={"full_name": full_name + DEMO_SUFFIX, **flags})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    if not RoleAssignment.objects.filter(user=user, role=role, unit=unit, department=department).exists():
        role_assign(user=user, role=role, unit=unit, department=department, actor=None)
    return user


@transaction.atomic
def load() -> DemoContext:
    result = divisions_import(path=DATA_DIR / "610104-lianhu.csv")
    if result.errors:
        raise ValueError("; ".join(result.errors))
    district = AdministrativeUnit.objects.get(code=DEMO_DISTRICT_CODE)
    street = AdministrativeUnit.objects.get(code=DEMO_STREET_CODE)
    community = street.children.order_by("code").first()

    departments = {short: _department(name, short, kind, district) for name, short, kind in DISTRICT_DEPARTMENTS}
    for s in district.children.order_by("code"):
        station = s.name.removesuffix("街道") + "派出所"
        departments[f"{s.code}:police"] = _department(
            station, station, DepartmentKind.POLICE_STATION, s, supervisor=departments["公安分局"]
        )
        departments[f"{s.code}:office"] = _department(
            s.name + "城管执法中队", "城管中队", DepartmentKind.STREET_OFFICE, s, supervisor=departments["城管局"]
        )

    people = [
        ("admin", "管理员", Role.ADMINISTRATOR, {"unit": district}, {"is_staff": True, "is_superuser": True}),
        ("leader", "李区长", Role.LEADER, {"unit": district}, {}),
        ("dispatcher", "王调度", Role.DISTRICT_DISPATCHER, {"unit": district}, {}),
        ("operator", "赵街道", Role.STREET_OPERATOR, {"unit": street}, {}),
        ("community", "孙社区", Role.COMMUNITY_STAFF, {"unit": community}, {}),
        ("gridleader", "周网格长", Role.GRID_LEADER, {"unit": community}, {}),
        ("gridworker", "张网格", Role.GRID_WORKER, {"unit": community}, {}),
        ("handler", "陈城管", Role.DEPARTMENT_HANDLER, {"department": departments["城管局"]}, {}),
        ("mediator", "吴调解", Role.MEDIATOR, {"unit": street}, {}),
        ("petitions", "郑信访", Role.PETITION_OFFICER, {"unit": district}, {}),
    ]
    context = DemoContext(district=district, street=street, community=community, departments=departments, users={})
    for username, name, role, where, flags in people:
        context.users[username] = _person(username, name, role, **where, **flags)
        place = where.get("unit") or where.get("department")
        context.logins.append((username, str(Role(role).label), place.name))
    return context
