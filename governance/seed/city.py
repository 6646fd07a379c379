"""The synthetic city's core: the division tree, departments, command-centre staff and handlers.

Province 合成省 (99, a code GB/T 2260 does not use) → city 合成市 → districts 合成01区 … → streets
合成0101街道 … → communities 合成010101社区 …, with 12-digit codes built from their numbers
(district 9901DD, street SSS from 001, community CCC from 001: 街道 and 居委会 ranges). Every district
gets the bureaus the demo district has (``governance.demo.DISTRICT_DEPARTMENTS``), every street a
police station and a city-management squad, as in the demo. People: an administrator and a leader
for the city, a leader and dispatchers per district, operators per street, one community staff per
community, handlers per department, and two API accounts (an IoT platform and another system) that
file cases. Grid workers are added by ``grids.seed`` through ``people_add``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from guardian.models import UserObjectPermission

from governance.demo import DISTRICT_DEPARTMENTS
from governance.models import AdministrativeUnit, ApiClient, Department, DepartmentKind, RoleAssignment, UnitLevel, User
from governance.roles import DEPARTMENT_ROLES, Role
from governance.seed import (
    CITY_CODE,
    PASSWORD,
    PLACE_PREFIX,
    PROVINCE_CODE,
    SUFFIX,
    USERNAME_PREFIX,
    SeedContext,
    seeder,
)
from governance.selectors import DEPARTMENT_PERM, UNIT_PERM

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强海燕文婷晓东雪梅丹凤子涵浩然欣怡宇轩"


@dataclass
class Units:
    """The division tree, by level; ``*_of`` arrays give each unit's parent as an index one level up."""

    province: int
    city: int
    districts: np.ndarray
    streets: np.ndarray
    street_district: np.ndarray
    communities: np.ndarray
    community_street: np.ndarray
    path: dict[int, str] = field(default_factory=dict)
    name: dict[int, str] = field(default_factory=dict)
    code: dict[int, str] = field(default_factory=dict)
    parent: dict[int, int | None] = field(default_factory=dict)


@dataclass
class Departments:
    by_district: list[dict[str, int]]  # short name (城管局, 公安分局, …) → id, per district index
    street_police: np.ndarray  # per street index
    street_office: np.ndarray  # 城管执法中队, per street index
    name: dict[int, str] = field(default_factory=dict)
    label: dict[int, str] = field(default_factory=dict)  # for usernames: "d01-03", "s0102-police"
    handlers: dict[int, np.ndarray] = field(default_factory=dict)  # department id → handler user ids


@dataclass
class Staff:
    admin: int
    city_leader: int
    district_leaders: np.ndarray  # per district index
    dispatchers: list[np.ndarray]  # per district index
    operators: list[np.ndarray]  # per street index
    community_staff: np.ndarray  # per community index
    api_accounts: dict[str, int]  # "iot", "api" → user id


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """Plausible Chinese names, every one marked synthetic."""
    surnames = rng.integers(0, len(SURNAMES), n)
    first = rng.integers(0, len(GIVEN), n)
    second = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.6
    return [SURNAMES[s] + GIVEN[a] + (GIVEN[b] if t else "") + SUFFIX
            for s, a, b, t in zip(surnames.tolist(), first.tolist(), second.tolist(), two.tolist(), strict=True)]


def synthetic_phones(rng: np.random.Generator, n: int) -> list[str]:
    """Numbers no telephone can have (a leading 0000 is no area code and no mobile prefix)."""
    return [f"0000{x:07d}" for x in rng.integers(0, 10_000_000, n).tolist()]


def people_add(ctx: SeedContext, *, usernames: list[str], names: list[str], roles: list[str],
               units: list[int | None], departments: list[int | None], phones: list[str] | None = None,
               superuser: set[int] = frozenset()) -> np.ndarray:
    """Write people with one active role each: users, role assignments and the django-guardian
    object permissions ``governance.services.permissions_sync`` would derive from them (a view
    permission on the unit, or on the department for department roles). Returns the user ids."""
    writer = ctx.writer
    n = len(usernames)
    ids = writer.ids(User, n)
    joined = ctx.as_of - 400 * 86400
    started = (ctx.as_of_datetime.date() - datetime.timedelta(days=400)).isoformat()
    password = _password(ctx)
    phones = phones or [""] * n
    writer.write(User, ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
                        "is_staff", "is_active", "date_joined", "full_name", "phone"],
                 ((int(pk), password, None, i in superuser, usernames[i], "", "", "", i in superuser, True, joined,
                   names[i], phones[i]) for i, pk in enumerate(ids.tolist())))
    assignment_ids = writer.ids(RoleAssignment, n)
    writer.write(RoleAssignment, ["id", "user", "role", "unit", "department", "started_on", "ended_on"],
                 ((a, u, roles[i], units[i], departments[i], started, None)
                  for i, (a, u) in enumerate(zip(assignment_ids.tolist(), ids.tolist(), strict=True))))
    unit_type, unit_perm, department_type, department_perm = _permission_ids(ctx)
    permission_ids = writer.ids(UserObjectPermission, n)
    writer.write(UserObjectPermission, ["id", "object_pk", "content_type", "permission", "user"],
                 ((p, str(departments[i]), department_type, department_perm, u) if roles[i] in DEPARTMENT_ROLES
                  else (p, str(units[i]), unit_type, unit_perm, u)
                  for i, (p, u) in enumerate(zip(permission_ids.tolist(), ids.tolist(), strict=True))))
    return ids


def _password(ctx: SeedContext) -> str:
    """One hash of the shared password for every synthetic login (hashing 30,000 times would take hours)."""
    if "governance.password_hash" not in ctx.data:
        ctx.data["governance.password_hash"] = make_password(PASSWORD)
    return ctx.data["governance.password_hash"]


def _permission_ids(ctx: SeedContext) -> tuple[int, int, int, int]:
    cached = ctx.data.get("governance.permission_ids")
    if cached is None:
        def ids(perm: str, model) -> tuple[int, int]:
            content_type = ContentType.objects.get_for_model(model)
            codename = perm.split(".", 1)[1]
            return content_type.pk, Permission.objects.get(content_type=content_type, codename=codename).pk

        cached = ctx.data["governance.permission_ids"] = (*ids(UNIT_PERM, AdministrativeUnit),
                                                          *ids(DEPARTMENT_PERM, Department))
    return cached


# --- The step -----------------------------------------------------------------------------------


@seeder("governance.city", order=100)
def city(ctx: SeedContext) -> None:
    rng = ctx.rng("governance.city")
    units = _units(ctx)
    departments = _departments(ctx, units)
    ctx.data["governance.units"] = units
    ctx.data["governance.departments"] = departments
    ctx.data["governance.staff"] = _staff(ctx, rng, units, departments)


def _units(ctx: SeedContext) -> Units:
    scale = ctx.scale
    counts = scale.counts
    n = 2 + counts["districts"] + counts["streets"] + counts["communities"]
    ids = iter(ctx.writer.ids(AdministrativeUnit, n).tolist())
    rows: list[tuple] = []
    units = Units(province=0, city=0, districts=np.zeros(counts["districts"], np.int64),
                  streets=np.zeros(counts["streets"], np.int64), street_district=np.zeros(counts["streets"], np.int64),
                  communities=np.zeros(counts["communities"], np.int64),
                  community_street=np.zeros(counts["communities"], np.int64))

    def add(code: str, name: str, level: str, parent: int | None) -> int:
        pk = next(ids)
        path = (units.path[parent] if parent else "/") + f"{pk}/"
        units.path[pk], units.name[pk], units.code[pk], units.parent[pk] = path, name, code, parent
        rows.append((pk, code, name, level, parent, path, None, True))
        return pk

    units.province = add(PROVINCE_CODE, f"{PLACE_PREFIX}省", UnitLevel.PROVINCE, None)
    units.city = add(CITY_CODE, f"{PLACE_PREFIX}市", UnitLevel.CITY, units.province)
    per_district = scale.streets[0] * scale.streets[1]
    per_street = scale.communities[0] * scale.communities[1]
    for d in range(counts["districts"]):
        dn = d + 1
        units.districts[d] = district = add(f"9901{dn:02d}000000", f"{PLACE_PREFIX}{dn:02d}区", UnitLevel.COUNTY,
                                            units.city)
        for s in range(per_district):
            sn, si = s + 1, d * per_district + s
            units.streets[si] = street = add(f"9901{dn:02d}{sn:03d}000", f"{PLACE_PREFIX}{dn:02d}{sn:02d}街道",
                                             UnitLevel.TOWNSHIP, district)
            units.street_district[si] = d
            for c in range(per_street):
                cn, ci = c + 1, si * per_street + c
                units.communities[ci] = add(f"9901{dn:02d}{sn:03d}{cn:03d}",
                                            f"{PLACE_PREFIX}{dn:02d}{sn:02d}{cn:02d}社区", UnitLevel.VILLAGE, street)
                units.community_street[ci] = si
    ctx.writer.write(AdministrativeUnit, ["id", "code", "name", "level", "parent", "path", "boundary", "is_synthetic"],
                     rows)
    return units


def _departments(ctx: SeedContext, units: Units) -> Departments:
    rows: list[tuple] = []
    n = len(units.districts) * len(DISTRICT_DEPARTMENTS) + 2 * len(units.streets)
    ids = iter(ctx.writer.ids(Department, n).tolist())
    departments = Departments(by_district=[], street_police=np.zeros(len(units.streets), np.int64),
                              street_office=np.zeros(len(units.streets), np.int64))

    def add(name: str, short: str, kind: str, unit: int, supervisor: int | None, label: str) -> int:
        pk = next(ids)
        departments.name[pk], departments.label[pk] = name, label
        rows.append((pk, name, short, kind, unit, supervisor, "", True, True))
        return pk

    for d, district in enumerate(units.districts.tolist()):
        prefix = units.name[district]  # 合成01区 + 城市管理和综合执法局 (the demo's names begin with 区)
        departments.by_district.append(
            {short: add(prefix + name.removeprefix("区"), short, kind, district, None, f"d{d + 1:02d}-{j + 1:02d}")
             for j, (name, short, kind) in enumerate(DISTRICT_DEPARTMENTS)})
    for si, street in enumerate(units.streets.tolist()):
        bureaus = departments.by_district[units.street_district[si]]
        short = units.name[street].removesuffix("街道")
        code = units.code[street]
        departments.street_police[si] = add(f"{short}派出所", f"{short}派出所", DepartmentKind.POLICE_STATION, street,
                                            bureaus["公安分局"], f"s{code[4:6]}{code[7:9]}-police")
        departments.street_office[si] = add(f"{units.name[street]}城管执法中队", "城管中队",
                                            DepartmentKind.STREET_OFFICE, street, bureaus["城管局"],
                                            f"s{code[4:6]}{code[7:9]}-office")
    # Supervisors come first in the rows (district bureaus before street units), so one pass suffices
    # even with the foreign keys checked row by row.
    ctx.writer.write(Department, ["id", "name", "short_name", "kind", "unit", "supervisor", "phone", "is_active",
                                  "is_synthetic"], rows)
    return departments


def _staff(ctx: SeedContext, rng: np.random.Generator, units: Units, departments: Departments) -> Staff:
    scale = ctx.scale
    usernames: list[str] = []
    roles: list[str] = []
    where_unit: list[int | None] = []
    where_department: list[int | None] = []

    def add(username: str, role: str, *, unit: int | None = None, department: int | None = None) -> int:
        usernames.append(USERNAME_PREFIX + username)
        roles.append(role)
        where_unit.append(unit)
        where_department.append(department)
        return len(usernames) - 1

    admin = add("admin", Role.ADMINISTRATOR, unit=units.city)
    city_leader = add("leader-city", Role.LEADER, unit=units.city)
    district_leaders, dispatchers, operators, community_staff = [], [], [], []
    for d, district in enumerate(units.districts.tolist()):
        district_leaders.append(add(f"leader-d{d + 1:02d}", Role.LEADER, unit=district))
        dispatchers.append([add(f"dispatcher-d{d + 1:02d}-{k + 1}", Role.DISTRICT_DISPATCHER, unit=district)
                            for k in range(scale.dispatchers_per_district)])
    for si, street in enumerate(units.streets.tolist()):
        code = units.code[street]
        operators.append([add(f"operator-s{code[4:6]}{code[7:9]}-{k + 1}", Role.STREET_OPERATOR, unit=street)
                          for k in range(scale.operators_per_street)])
    for community in units.communities.tolist():
        code = units.code[community]
        community_staff.append(add(f"community-c{code[4:6]}{code[7:9]}{code[10:12]}", Role.COMMUNITY_STAFF,
                                   unit=community))
    handler_rows: dict[int, list[int]] = {}
    for department in sorted(departments.name):
        label = departments.label[department]
        handler_rows[department] = [add(f"handler-{label}-{k + 1}", Role.DEPARTMENT_HANDLER,
                                        department=department) for k in range(scale.handlers_per_department)]
    n = len(usernames)
    names = person_names(rng, n)
    names[admin] = f"{PLACE_PREFIX}市管理员{SUFFIX}"
    ids = people_add(ctx, usernames=usernames, names=names, roles=roles, units=where_unit,
                     departments=where_department, phones=synthetic_phones(rng, n), superuser={admin})
    for department, rows in handler_rows.items():
        departments.handlers[department] = ids[rows]
    api_accounts = _api_accounts(ctx)
    return Staff(admin=int(ids[admin]), city_leader=int(ids[city_leader]), district_leaders=ids[district_leaders],
                 dispatchers=[ids[rows] for rows in dispatchers], operators=[ids[rows] for rows in operators],
                 community_staff=ids[community_staff], api_accounts=api_accounts)


def _api_accounts(ctx: SeedContext) -> dict[str, int]:
    """Two other systems that file cases through the API (their accounts hold no role: a client
    sees the cases it filed)."""
    accounts = {"iot": ("api-iot", f"{PLACE_PREFIX}视频物联网平台"), "api": ("api-city", f"{PLACE_PREFIX}城市运行管理系统")}
    ids = ctx.writer.ids(User, len(accounts)).tolist()
    password = _password(ctx)
    ctx.writer.write(User, ["id", "password", "is_superuser", "username", "first_name", "last_name", "email",
                            "is_staff", "is_active", "date_joined", "full_name", "phone"],
                     [(pk, password, False, USERNAME_PREFIX + username, "", "", "", False, True,
                       ctx.as_of - 400 * 86400, name + SUFFIX, "")
                      for pk, (username, name) in zip(ids, accounts.values(), strict=True)])
    client_ids = ctx.writer.ids(ApiClient, len(accounts)).tolist()
    ctx.writer.write(ApiClient, ["id", "name", "account", "scopes", "rate_limit", "contact", "is_active", "created_at"],
                     [(cid, name + SUFFIX, pk, "[]", "", "", True, ctx.as_of - 400 * 86400)
                      for cid, pk, (_username, name) in zip(client_ids, ids, accounts.values(), strict=True)])
    return dict(zip(accounts, ids, strict=True))
