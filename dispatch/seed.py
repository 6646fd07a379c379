"""The synthetic city's cases (``manage.py seed_city``; see governance.seed and docs/seed.md).

``dispatch.routing`` gives every district the routing of the demo district (``dispatch.demo
.CLASS_DEPARTMENTS``: each class to a district bureau, street order to the street's squad and
public-security hazards to its police station) as routing rules, leaving the shipped catalogue
untouched. ``dispatch.events`` files a year of cases and lives each one through the loop the way
``dispatch.services`` would have: every step's history row with its actor, the step clock started
on the working calendar at each step (``governance.seed.workclock``, the engine's arithmetic), and
the deadline sweep's own rows — yellow warning, overdue with its escalation order — wherever a
step ran past them before it ended, the sweep running every minute. What a case looks like now
(state, clock, alert, assignments) is what that history leaves at the seeding instant.

Shape of the year: channels (grid workers most, then the 12345 hotline, citizens, other systems,
video/IoT, walk-ins), each with its own daily rhythm and a quieter weekend; categories skewed so
that a few dominate (暴露垃圾, 占道经营, 小广告 …); places weighted by households and shops. Most
cases are closed and called back; recent ones are on their way; about one in ten is stuck somewhere
(in handling above all, on the backlog list, waiting for signature …), most of those overdue.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from django.utils.translation import gettext

from dispatch import clock
from dispatch.demo import CLASS_DEPARTMENTS
from dispatch.journal import JOURNAL
from dispatch.models import (
    Assignment,
    Channel,
    Event,
    HotlineCall,
    MajorClass,
    MinorClass,
    Reporter,
    RoutingRule,
    State,
    SupervisionOrder,
    Transition,
    Urgency,
)
from dispatch.services import RECEIPT_ALPHABET
from dispatch.workflow import ACTIONS
from governance.calendar import current_calendar
from governance.deadlines import TimeLimit
from governance.models import ChangeRecord
from governance.seed import SUFFIX, SeedContext, seeder
from governance.seed.city import SURNAMES, Departments, Staff, Units, synthetic_phones
from governance.seed.bulk import Coded
from governance.seed.workclock import UNIT_CODES, VectorClock, WorkClock

S = State
CHUNK = 100_000  # cases simulated and written per round

# --- Routing ---------------------------------------------------------------------------------------


@dataclass
class Routing:
    minors: list[MinorClass]  # the active catalogue, with major loaded
    lead: np.ndarray  # (minor index, street index) → department id (0: nobody, the operator chooses)
    co: dict[tuple[int, int], tuple[int, ...]]  # (minor index, district index) → co-handling departments


STREET_RULES = {("event", "05"): "office", ("governance", "02"): "police"}  # → the street's department


@seeder("dispatch.routing", order=300)
def routing_rules(ctx: SeedContext) -> None:
    units: Units = ctx.data["governance.units"]
    departments: Departments = ctx.data["governance.departments"]
    majors = {(m.kind, m.code): m.pk for m in MajorClass.objects.all()}
    minors = list(MinorClass.objects.filter(is_active=True, major__is_active=True).select_related("major")
                  .order_by("major__kind", "major__code", "code"))
    minor_ids = {(m.major.kind, m.major.code, m.code): m for m in minors}
    rows = []
    for d, district in enumerate(units.districts.tolist()):
        for key, (lead, _co) in CLASS_DEPARTMENTS.items():
            major = majors.get(key[:2])
            minor = minor_ids.get(key) if len(key) == 3 else None
            if major is None or (len(key) == 3 and minor is None):
                continue
            rows.append((district, major, minor.pk if minor else None, departments.by_district[d][lead],
                         f"{'小类' if minor else '大类'}默认承办部门{SUFFIX}"))
    for si, street in enumerate(units.streets.tolist()):
        for (kind, code), which in STREET_RULES.items():
            if (kind, code) in majors:
                department = departments.street_office[si] if which == "office" else departments.street_police[si]
                rows.append((street, majors[(kind, code)], None, int(department),
                             ("街面秩序由街道城管执法中队办理" if which == "office" else "治安隐患由属地派出所办理") + SUFFIX))
    ids = ctx.writer.ids(RoutingRule, len(rows)).tolist()
    ctx.writer.write(RoutingRule, ["id", "unit", "major", "minor", "department", "note"],
                     [(pk, *row) for pk, row in zip(ids, rows, strict=True)])

    # The same decision as dispatch.routing.route, for every (class, street): deepest unit first,
    # then minor over major.
    lead = np.zeros((len(minors), len(units.streets)), np.int64)
    co: dict[tuple[int, int], tuple[int, ...]] = {}
    for m, minor in enumerate(minors):
        key = (minor.major.kind, minor.major.code, minor.code)
        found = CLASS_DEPARTMENTS.get(key) or CLASS_DEPARTMENTS.get(key[:2])
        street_rule = STREET_RULES.get(key[:2])
        for d in range(len(units.districts)):
            if found is not None:
                co[(m, d)] = tuple(departments.by_district[d][name] for name in found[1])
        for si in range(len(units.streets)):
            if street_rule == "office":
                lead[m, si] = departments.street_office[si]
            elif street_rule == "police":
                lead[m, si] = departments.street_police[si]
            elif found is not None:
                lead[m, si] = departments.by_district[units.street_district[si]][found[0]]
    ctx.data["dispatch.routing"] = Routing(minors, lead, co)


# --- The shape of the year -----------------------------------------------------------------------

CHANNELS = [Channel.GRID, Channel.HOTLINE, Channel.CITIZEN, Channel.API, Channel.IOT, Channel.WALK_IN]
CHANNEL_SHARE = [0.52, 0.22, 0.12, 0.07, 0.05, 0.02]
# Reports per hour of the day (local), by channel.
HOURS = {
    Channel.GRID: [0, 0, 0, 0, 0, 0, 1, 4, 9, 12, 12, 10, 5, 4, 9, 11, 11, 9, 4, 2, 1, 0, 0, 0],
    Channel.HOTLINE: [1, 0, 0, 0, 0, 1, 2, 5, 9, 11, 10, 8, 6, 7, 9, 9, 8, 7, 6, 7, 7, 5, 3, 2],
    Channel.CITIZEN: [1, 1, 0, 0, 0, 0, 1, 3, 5, 6, 6, 5, 5, 5, 5, 5, 5, 6, 7, 9, 10, 9, 6, 3],
    Channel.API: [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 7, 6, 6, 7, 8, 8, 7, 5, 4, 4, 3, 3, 2],
    Channel.IOT: [5, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5],
    Channel.WALK_IN: [0, 0, 0, 0, 0, 0, 0, 0, 3, 10, 10, 6, 1, 1, 6, 9, 8, 3, 0, 0, 0, 0, 0, 0],
}
WEEKEND = {Channel.GRID: 0.35, Channel.HOTLINE: 0.8, Channel.CITIZEN: 1.15, Channel.API: 0.7, Channel.IOT: 1.0,
           Channel.WALK_IN: 0.1}
# The categories that dominate, most frequent first (kind, major, minor); the rest follow in the
# catalogue's order. Weight of rank r: 1 / r.
TOP_CLASSES = [
    ("event", "01", "02"), ("event", "05", "02"), ("event", "02", "01"), ("event", "05", "04"), ("event", "05", "05"),
    ("event", "05", "06"), ("event", "01", "04"), ("event", "05", "03"), ("event", "01", "06"),
    ("governance", "06", "01"), ("event", "05", "01"), ("event", "01", "05"), ("event", "01", "01"),
    ("event", "03", "01"), ("governance", "06", "03"), ("component", "01", "02"), ("component", "01", "04"),
    ("governance", "01", "01"), ("governance", "03", "02"), ("component", "02", "01"),
]
# How much each channel reports of each kind of class (kind or (kind, major)).
AFFINITY = {
    Channel.GRID: {"governance": 0.8, ("governance", "01"): 0.6},
    Channel.HOTLINE: {"event": 0.6, "component": 0.8, ("event", "03"): 3.0, ("governance", "01"): 4.0,
                      ("governance", "05"): 4.0, ("governance", "07"): 8.0, ("governance", "06"): 2.5},
    Channel.CITIZEN: {"component": 1.5, ("event", "03"): 3.0, ("governance", "06"): 2.0, ("governance", "01"): 2.0},
    Channel.WALK_IN: {("governance", "01"): 6.0, ("governance", "05"): 5.0, ("governance", "07"): 5.0},
    Channel.API: {"governance": 0.3, "component": 1.5},
    Channel.IOT: {"governance": 0.0, "component": 0.4, ("event", "02"): 0.2, ("event", "03"): 0.3, ("event", "06"): 0.0,
                  ("governance", "03"): 1.0, ("event", "04"): 3.0},
}
REQUEST_TYPES = {"complaint": 45, "help": 25, "report": 15, "suggestion": 5, "enquiry": 10}
DUPLICATE_SHARE = 0.015
REJECT = {Channel.GRID: 0.01, Channel.CITIZEN: 0.05, Channel.HOTLINE: 0.04, Channel.WALK_IN: 0.03,
          Channel.IOT: 0.06, Channel.API: 0.02}
NOT_REGISTER = 0.01
SELF_HANDLE = 0.4  # of grid workers' reports in classes they may handle themselves
ESCALATE = 0.03  # street cases taken to the district before dispatch
RETURN = 0.03
EXTENSION = 0.03
SUSPEND = 0.01
REWORK = 0.04
CITIZEN_RATES = 0.3  # of citizens' and callers' closed cases rated through the receipt code
SATISFACTION = [("satisfied", 0.78), ("basically", 0.15), ("dissatisfied", 0.07)]
REOPEN = 0.4  # of dissatisfied call-backs
# Cases that stop at one step and stay there (open now whatever their age), per case.
STUCK = {"accept": 0.002, "register": 0.002, "dispatch": 0.003, "returned": 0.002, "sign": 0.008, "signed": 0.003,
         "handle": 0.04, "extension": 0.003, "suspended": 0.004, "backlog": 0.012, "verify": 0.004,
         "rework": 0.003, "callback": 0.01}
REMIND, SUPERVISE, LIST = 0.2, 0.05, 0.05  # of cases stuck overdue

NOTES = {
    "reject": ["经核实，反映情况不属实。", "经现场核查，未发现所述问题。", "不属于本平台受理范围，已告知反映人。"],
    "not_register": ["不属于城市管理事项，已告知相关渠道。", "事项已由责任单位自行处置完毕，不予立案。"],
    "escalate": ["需区级部门协调处置，提请区级指挥中心。", "涉及多个部门职责，请区级统筹。"],
    "return": ["该事项不属于本单位职责，请重新派遣。", "经核实，责任主体为其他单位，申请退回。"],
    "handle": ["已安排人员处置完毕，现场已恢复。", "已清理完毕。", "已责令当事人整改到位。", "已维修完毕，恢复正常使用。",
               "已协调相关单位处理完毕。"],
    "verify_pass": ["现场核查，已处置到位。", "核查属实，问题已解决。"],
    "rework": ["现场核查未处置到位，请继续处理。", "问题仍然存在，请返工。"],
    "request_extension": ["需协调多个部门，申请延期。", "备件调货需要时间，申请延期。"],
    "suspend": ["已下达限期整改通知书，待期限届满后复查。", "受天气影响暂缓施工。"],
    "backlog": ["涉及历史遗留问题，短期内无法解决，已书面说明并列入挂账。", "需纳入年度改造计划统一解决，列入挂账。"],
    "reopen": ["回访不满意，重新办理。", "来电人不满意：问题未解决，重新办理。"],
    "remind": ["请抓紧办理。", "群众再次反映，请尽快处置。"],
    "supervise": ["超期未办结，请于两个工作日内办结并报告结果。"],
    "respond": ["已加派人员，正在加紧办理。"],
    "list_supervision": ["群众反映强烈，挂牌督办。"],
    "self_handle": ["已现场劝导整改。", "已自行清理完毕。", "已现场处置，恢复原状。"],
    "merge": ["同一事项，合并办理。"],
    "rate": ["处理很及时，谢谢！", "问题已解决。", "还可以。"],
}
DESCRIPTIONS = ["请尽快处理", "影响居民出行", "已拍照取证", "群众反映强烈", "存在安全隐患", "已持续多日"]
TITLES = {Channel.GRID: "{}", Channel.HOTLINE: "来电反映{}", Channel.CITIZEN: "市民反映{}", Channel.WALK_IN: "来访反映{}",
          Channel.IOT: "智能感知告警：{}", Channel.API: "{}（系统推送）"}
HOTLINE_ANSWERS = [("咨询居住证办理材料", "已告知：身份证、居住证明及近期照片，到社区或派出所办理。"),
                   ("咨询公积金提取条件", "已告知提取条件及办理渠道。"), ("咨询垃圾分类投放时间", "已告知本小区投放时段。")]
NOT_TAKEN = [("来电称家中厨房起火", "emergency"), ("反映已进入诉讼程序的合同纠纷", "statutory"),
             ("重复反映已办结事项，无新情况", "repeat"), ("反映事项不属于任何单位职责", "outside_remit")]

EVENT_FIELDS = [
    "id", "number", "receipt_code", "channel", "request_type", "minor", "title", "description", "address", "lon",
    "lat", "grid", "unit", "unit_path", "outside_grids", "owner_unit", "owner_path", "state", "version", "urgency",
    "track", "department", "reporter", "contact_name", "contact_phone", "attributes", "idempotency_key",
    "self_handled", "merged_into", "verifier", "step", "step_started_at", "step_limit_amount", "step_limit_unit",
    "step_yellow_at", "step_due_at", "step_rule", "paused_at", "alert", "escalated_at", "handling_due_at",
    "listed_supervision", "rework_count", "callback_contacted", "callback_solved", "satisfaction", "rating_comment",
    "created_at", "updated_at", "dispatched_at", "handled_at", "closed_at",
]
TRANSITION_FIELDS = ["id", "event", "action", "from_state", "to_state", "actor", "actor_label", "note", "data", "at",
                     "followed_up_at"]
ASSIGNMENT_FIELDS = ["id", "event", "department", "role", "status", "assigned_at", "sign_due_at", "signed_at",
                     "signed_by", "note"]
REPORTER_FIELDS = ["id", "event", "source_event", "user", "name", "phone", "channel", "reported_at", "notified_at"]
SUPERVISION_FIELDS = ["id", "event", "kind", "issued_by", "issued_at", "to_unit", "department", "note", "due_at",
                      "responded_at", "response"]
CHANGE_FIELDS = ["id", "model", "object_id", "op", "at", "unit_path", "owner_path", "department_id"]
HOTLINE_FIELDS = ["id", "operator", "caller_name", "caller_phone", "request_type", "summary", "outcome", "answer",
                  "not_taken_reason", "event", "created_at"]


def _local_day_start(t: int, offset: int) -> int:
    return (t + offset) // 86400 * 86400 - offset


def _year_of_reports(ctx: SeedContext, rng: np.random.Generator, channel: np.ndarray, offset: int) -> np.ndarray:
    """Report instants over the year before ``ctx.as_of``: each channel's hours, quieter weekends,
    a busier summer and a quiet Spring Festival week."""
    today = _local_day_start(ctx.as_of, offset)
    days = today - np.arange(365, -1, -1) * 86400  # local midnights, the last one today
    day_numbers = (days + offset) // 86400
    weekday = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday
    day_of_year = np.array([datetime.date.fromordinal(719163 + int(d)).timetuple().tm_yday for d in day_numbers])
    season = 1 + 0.15 * np.sin((day_of_year - 100) / 365 * 2 * np.pi)
    festival = np.where((day_of_year >= 28) & (day_of_year <= 36), 0.55, 1.0)  # about late January–early February
    created = np.zeros(len(channel), np.int64)
    for c, name in enumerate(CHANNELS):
        mask = channel == c
        n = int(mask.sum())
        if not n:
            continue
        weight = season * festival * np.where(weekday >= 5, WEEKEND[name], 1.0)
        day = rng.choice(len(days), n, p=weight / weight.sum())
        hours = np.asarray(HOURS[name], float)
        hour = rng.choice(24, n, p=hours / hours.sum())
        created[mask] = days[day] + hour * 3600 + rng.integers(0, 3600, n)
    late = created > ctx.as_of - 60  # today's later hours have not come yet: a week earlier instead
    created[late] -= 7 * 86400
    return created


def _class_weights(minors: Sequence[MinorClass], lead: np.ndarray) -> np.ndarray:
    """(channel, minor) weights: 1/rank, times how much the channel reports of that kind of class;
    classes nobody is routed (the operator would choose) are left out."""
    rank = {key: r + 1 for r, key in enumerate(TOP_CLASSES)}
    keys = [(m.major.kind, m.major.code, m.code) for m in minors]
    extra = len(TOP_CLASSES) + 1
    base = np.zeros(len(minors))
    for k, key in enumerate(keys):
        if key in rank:
            base[k] = 1 / rank[key]
        else:
            base[k] = 1 / extra
            extra += 1
    routable = (lead > 0).all(axis=1)
    weights = np.zeros((len(CHANNELS), len(minors)))
    for c, name in enumerate(CHANNELS):
        table = AFFINITY.get(name, {})
        factor = np.array([table.get(key[:2], table.get(key[0], 1.0)) for key in keys])
        weights[c] = base * factor * routable
    return weights / weights.sum(axis=1, keepdims=True)


@dataclass
class Skeleton:
    """Who reports what, where and when: the whole year, ordered by report time (= by id)."""

    ids: np.ndarray
    created: np.ndarray
    channel: np.ndarray
    minor: np.ndarray
    grid: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    duplicate_of: np.ndarray  # index of the case this one repeats, or -1
    merge_at: np.ndarray  # when the duplicate is merged (0: not a duplicate)
    duplicate_by_original: np.ndarray  # index of the duplicate of a case, or -1
    is_original: np.ndarray  # someone reported it again


def _skeleton(ctx: SeedContext, rng: np.random.Generator, routing: Routing, vc: VectorClock) -> Skeleton:
    layout = ctx.data["grids.layout"]
    n = ctx.events
    n_dup = int(n * DUPLICATE_SHARE) if n >= 100 else 0
    n0 = n - n_dup
    channel = rng.choice(len(CHANNELS), n0, p=CHANNEL_SHARE)
    created = _year_of_reports(ctx, rng, channel, vc.c.offset)
    weights = _class_weights(routing.minors, routing.lead)
    minor = np.zeros(n0, np.int64)
    for c in range(len(CHANNELS)):
        mask = channel == c
        minor[mask] = rng.choice(weights.shape[1], int(mask.sum()), p=weights[c])
    grid_weight = layout.households + 8 * layout.businesses + 50.0
    grid = rng.choice(len(layout.grid_ids), n0, p=grid_weight / grid_weight.sum())

    # Duplicates: a citizen or caller reports again, within hours, what someone reported nearby.
    originals = rng.choice(np.flatnonzero(created < ctx.as_of - 6 * 3600), n_dup, replace=False) if n_dup else \
        np.zeros(0, np.int64)
    dup_created = created[originals] + np.minimum(rng.exponential(4 * 3600, n_dup).astype(np.int64) + 600, 70 * 3600)
    dup_created = np.minimum(dup_created, ctx.as_of - 60)
    channel = np.concatenate([channel, np.where(rng.random(n_dup) < 0.6, CHANNELS.index(Channel.CITIZEN),
                                                CHANNELS.index(Channel.HOTLINE))])
    created = np.concatenate([created, dup_created])
    minor = np.concatenate([minor, minor[originals]])
    grid = np.concatenate([grid, grid[originals]])
    duplicate_of = np.concatenate([np.full(n0, -1), originals])

    # Where: a point well inside the cell (bilinear between its corners), checked against the polygon.
    cells = layout.grid_cells[grid]
    c = layout.corners
    u, v = rng.uniform(0.2, 0.8, len(grid))[:, None], rng.uniform(0.2, 0.8, len(grid))[:, None]
    i, j = cells[:, 0], cells[:, 1]
    point = ((1 - u) * (1 - v) * c[i, j] + u * (1 - v) * c[i + 1, j]
             + (1 - u) * v * c[i, j + 1] + u * v * c[i + 1, j + 1])
    # A duplicate is a few metres from what it repeats.
    point[n0:] = point[originals] + rng.normal(0, 8e-5, (n_dup, 2))
    polygons = np.array(layout.polygons, dtype=object)[grid]
    outside = ~shapely.contains_xy(polygons, point[:, 0], point[:, 1])
    if outside.any():
        point[outside] = [list(p.representative_point().coords[0]) for p in polygons[outside]]
    point = point.round(7)

    order = np.argsort(created, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    duplicate_of = np.where(duplicate_of >= 0, rank[np.maximum(duplicate_of, 0)], -1)[order]
    skeleton = Skeleton(ctx.writer.ids(Event, len(order)), created[order], channel[order], minor[order], grid[order],
                        point[order, 0], point[order, 1], duplicate_of, np.zeros(len(order), np.int64),
                        np.full(len(order), NONE, np.int64), np.zeros(len(order), bool))
    dups = np.flatnonzero(duplicate_of >= 0)
    # Merged by the centre ten minutes or so into its working time after the duplicate came in.
    skeleton.merge_at[dups] = vc.next_working_moment(skeleton.created[dups]) + \
        (600 * np.exp(0.7 * rng.standard_normal(len(dups)))).astype(np.int64)
    skeleton.duplicate_by_original[duplicate_of[dups]] = dups
    skeleton.is_original[duplicate_of[dups]] = True
    return skeleton


# --- The loop, lived by all cases at once ---------------------------------------------------------
#
# Cases are simulated a chunk at a time with numpy: each stage of the loop (accept, register, …) is
# applied to every case of the chunk that reaches it, at the instant its step clock says, and only
# if that instant has come (``<= as_of``); a case that is not there yet stays in the state it is in.
# ``Cohort.act`` is ``workflow.transition`` on arrays: the sweep first looks at the running clock up
# to the action, then the history row, then the clock of the next step starts.

STATES = [s.value for s in State]
SC = {name: i for i, name in enumerate(STATES)}
STEPS = ["", "accept", "register", "dispatch", "sign", "handle", "verify", "callback"]
STEP_OF = np.array([STEPS.index(clock.STEP_OF_STATE.get(s, "")) for s in STATES], np.int8)
HANDLE = STEPS.index("handle")
ACTION_NAMES = ["report", *ACTIONS, "warned_yellow", "overdue", "unsigned_overdue", "supervision_overdue"]
AC = {name: i for i, name in enumerate(ACTION_NAMES)}
WORKFLOW = np.array([name in ACTIONS for name in ACTION_NAMES])
UNITS = list(UNIT_CODES)
FATES = ["normal", "self_handle", "merged", "reject", "not_register", "escalated", "sent_back", "extended", "paused"]
FC = {name: i for i, name in enumerate(FATES)}
STUCK_NAMES = ["", *STUCK]
KC = {name: i for i, name in enumerate(STUCK_NAMES)}
ASSIGNMENT_STATUS = ["pending", "signed", "returned", "done", "withdrawn"]
NONE = -1  # "no value" in integer arrays (ids are positive)


def _next_ticks(t: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """The first sweep at or after each instant (the sweep runs every minute, at second ``phase``)."""
    base = t - (t - phase) % 60
    return np.where(base >= t, base, base + 60)


def _lognormal(median: float, sigma: float, z: np.ndarray) -> np.ndarray:
    return median * np.exp(sigma * z)


class Texts:
    """The distinct strings of a chunk's history rows (labels, notes, data): rows hold codes, and
    each string is encoded once when the rows are written."""

    def __init__(self):
        self.table: list[str] = [""]
        self.index: dict[str, int] = {"": 0}

    def code(self, value: str) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.table)
            self.table.append(value)
        return found

    def codes(self, values, n: int) -> np.ndarray:
        if isinstance(values, str):
            return np.full(n, self.code(values), np.int64)
        if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
            return values.astype(np.int64, copy=False)
        values = values.tolist() if isinstance(values, np.ndarray) else list(values)
        return np.fromiter(map(self.code, values), np.int64, n)


class Rows:
    """History rows of a chunk, column by column, in batches (one per stage)."""

    def __init__(self):
        self.batches: list[tuple] = []
        self.seq = 0
        self.texts = Texts()

    def add(self, ev, action: int, at, frm, to, actor, label, note, data) -> None:
        n = len(ev)
        if not n:
            return

        def full(value):
            return value.astype(np.int64, copy=False) if isinstance(value, np.ndarray) else np.full(n, value, np.int64)

        texts = self.texts
        self.batches.append((ev.copy(), np.full(n, action, np.int16), np.asarray(at, np.int64).copy(),
                             full(frm).astype(np.int16), full(to).astype(np.int16), full(actor),
                             texts.codes(label, n), texts.codes(note, n), texts.codes(data, n),
                             np.arange(self.seq, self.seq + n)))
        self.seq += n

    def columns(self) -> list[np.ndarray]:
        if not self.batches:
            return [np.zeros(0, np.int64)] * 10
        return [np.concatenate(c) for c in zip(*self.batches, strict=True)]


class Cohort:
    """A chunk of cases ``[start, stop)`` of the skeleton, and everything they become."""

    def __init__(self, sim: Simulation, start: int, stop: int):
        self.sim = sim
        sk, rng = sim.skeleton, sim.rng
        n = self.n = stop - start
        self.start = start
        self.pk = sk.ids[start:stop]
        self.created = sk.created[start:stop]
        self.channel = sk.channel[start:stop].copy()
        self.minor = sk.minor[start:stop]
        self.grid = sk.grid[start:stop]
        community = sim.grid_community[self.grid]
        self.street = sim.units.community_street[community]
        self.district = sim.units.street_district[self.street]
        self.unit = sim.units.communities[community]
        self.district_id = sim.units.districts[self.district]
        self.street_id = sim.units.streets[self.street]
        self.urgent = sim.minor_urgent[self.minor]
        self.auto = sim.minor_auto[self.minor]
        self.u = rng.random((n, 44))
        self.z = rng.standard_normal((n, 21))
        self.phase = (self.u[:, 0] * 60).astype(np.int64)
        # What the case is now.
        self.state = np.full(n, SC[S.REPORTED], np.int16)
        self.version = np.zeros(n, np.int64)
        self.updated = self.created.copy()
        self.last = self.created.copy()
        self.hotline = self.channel == CHANNELS.index(Channel.HOTLINE)
        self.owner = np.where(self.hotline, self.district_id, self.street_id)
        self.department = np.full(n, NONE, np.int64)
        self.verifier = np.full(n, NONE, np.int64)
        self.dispatched = np.full(n, NONE, np.int64)
        self.handled = np.full(n, NONE, np.int64)
        self.closed = np.full(n, NONE, np.int64)
        self.rework = np.zeros(n, np.int64)
        self.listed = np.zeros(n, bool)
        self.self_handled = np.zeros(n, bool)
        self.merged_into = np.full(n, NONE, np.int64)
        self.contacted = np.full(n, NONE, np.int64)  # -1 none, 0/1
        self.solved = np.full(n, NONE, np.int64)
        self.satisfaction = np.full(n, NONE, np.int64)
        self.comment = np.full(n, "", object)
        self.handling_due = np.full(n, NONE, np.int64)
        # The running step clock.
        self.step = np.zeros(n, np.int8)
        self.c_start = np.full(n, NONE, np.int64)
        self.c_amount = np.full(n, NONE, np.int64)
        self.c_unit = np.zeros(n, np.int8)
        self.c_rule = np.zeros(n, np.int64)  # index into sim.rules
        self.c_due = np.full(n, NONE, np.int64)
        self.c_yellow = np.full(n, NONE, np.int64)
        self.c_alert = np.zeros(n, np.int64)
        self.c_escalated = np.full(n, NONE, np.int64)
        self.c_swept = np.zeros(n, np.int64)
        self.c_paused = np.full(n, NONE, np.int64)
        self.c_ws = np.full(n, NONE, np.int64)
        self.c_wd = np.full(n, NONE, np.int64)
        # Department assignments: the current lead one per case; finished ones and co-handlers as rows.
        self.lead_id = np.full(n, NONE, np.int64)
        self.lead_dept = np.full(n, NONE, np.int64)
        self.lead_status = np.zeros(n, np.int64)
        self.lead_assigned = np.full(n, NONE, np.int64)
        self.lead_sign_due = np.full(n, NONE, np.int64)
        self.lead_signed_at = np.full(n, NONE, np.int64)
        self.lead_signed_by = np.full(n, NONE, np.int64)
        self.lead_note = np.full(n, "", object)
        self.assignment_rows: list[tuple] = []  # (id, ev, dept, role, status, assigned, sign_due, signed, by, note)
        self.co: list[tuple] = []  # co-handling rows to settle at the end: (ev, dept, assigned, sign_due, sign_at)
        self.returned_at = np.full(n, NONE, np.int64)
        # Supervision rows: (ids, ev, kind, by, at, to_unit, dept, note, due, responded_at, response).
        self.orders: list[tuple] = []
        self.rows = Rows()

    # --- mechanics ------------------------------------------------------------------------------------

    def step_now(self, idx: np.ndarray) -> np.ndarray:
        step = STEP_OF[self.state[idx]]
        return np.where(self.self_handled[idx] & (self.state[idx] == SC[S.CLOSED]), 0, step)

    def start_clock(self, idx: np.ndarray, t: np.ndarray) -> None:
        """``clock.start_step``: the clock of the step each case's state is in, from ``t``."""
        sim = self.sim
        step = self.step_now(idx)
        self.step[idx] = step
        off = step == 0
        gone = idx[off]
        for array in (self.c_start, self.c_amount, self.c_due, self.c_yellow, self.c_escalated, self.c_paused,
                      self.c_ws, self.c_wd):
            array[gone] = NONE
        self.c_alert[gone] = 0
        idx, t, step = idx[~off], t[~off], step[~off]
        if not len(idx):
            return
        handle = step == HANDLE
        urgent = self.urgent[idx].astype(np.int64)
        minor = self.minor[idx]
        amount = np.where(handle, sim.minor_amount[minor], sim.step_amount[step, urgent])
        unit = np.where(handle, sim.minor_unit[minor], sim.step_unit[step, urgent])
        due = sim.vc.due(t, amount, unit)
        self.c_start[idx], self.c_amount[idx], self.c_unit[idx] = t, amount, unit
        self.c_rule[idx] = np.where(handle, sim.minor_rule[minor], sim.step_rule[step, urgent])
        self.c_due[idx], self.c_yellow[idx] = due, sim.vc.yellow(t, due, unit, sim.share)
        self.c_alert[idx], self.c_escalated[idx], self.c_swept[idx], self.c_paused[idx] = 0, NONE, t, NONE
        working = unit >= UNIT_CODES["working_hours"]
        self.c_ws[idx] = NONE
        self.c_wd[idx] = NONE
        if working.any():
            self.c_ws[idx[working]] = sim.vc.clock(t[working])
            self.c_wd[idx[working]] = sim.vc.clock(due[working])
        self.handling_due[idx[handle]] = due[handle]

    def at_share(self, idx: np.ndarray, share: np.ndarray) -> np.ndarray:
        """When each clock has used ``share`` of its limit (in working time for working-time limits)."""
        start, due = self.c_start[idx], self.c_due[idx]
        out = start + (share * (due - start)).astype(np.int64)
        working = self.c_ws[idx] >= 0
        if working.any():
            ws, wd = self.c_ws[idx[working]], self.c_wd[idx[working]]
            moved = self.sim.vc.at_clock(ws + share[working] * (wd - ws)).astype(np.int64)
            out[working] = np.where(wd > ws, moved, start[working])
        return out

    def when(self, idx: np.ndarray, median: float, sigma: float, z: int, after: np.ndarray | None = None):
        """The instant each case's running clock has used a lognormal share of its limit."""
        t = self.at_share(idx, _lognormal(median, sigma, self.z[idx, z]))
        return np.maximum(t, (self.c_start[idx] if after is None else after) + 30)

    def happened(self, idx: np.ndarray, t: np.ndarray, *more: np.ndarray):
        keep = t <= self.sim.as_of
        return (idx[keep], t[keep], *(m[keep] for m in more))

    def sweep(self, idx: np.ndarray, end: np.ndarray) -> None:
        """The deadline sweep's rows for the running clocks, from where it last looked until ``end``."""
        sim = self.sim
        running = (self.step[idx] != 0) & (self.c_paused[idx] == NONE)
        idx, end = idx[running], np.minimum(end[running], sim.as_of + 1)
        go = self.c_swept[idx] < end
        idx, end = idx[go], end[go]
        if not len(idx):
            return
        phase = self.phase[idx]
        due = self.c_due[idx]
        tick = _next_ticks(np.maximum(self.c_yellow[idx], self.c_swept[idx]), phase)
        ok = (self.c_alert[idx] < 1) & (tick < end) & (tick <= due)
        if ok.any():
            ev = idx[ok]
            self.rows.add(ev, AC["warned_yellow"], tick[ok], self.state[ev], self.state[ev], NONE, sim.platform, "",
                          sim.due_data(self.step[ev], due[ok]))
            self.c_alert[ev] = 1
        tick = _next_ticks(np.maximum(due + 1, self.c_swept[idx]), phase)
        ok = (self.c_alert[idx] < 2) & (tick < end)
        if ok.any():
            ev, at = idx[ok], tick[ok]
            above = sim.parent_of(self.owner[ev])
            self.rows.add(ev, AC["overdue"], at, self.state[ev], self.state[ev], NONE, sim.platform, "",
                          sim.due_data(self.step[ev], due[ok], above))
            ids = sim.writer.ids(SupervisionOrder, len(ev))
            self.orders.append((ids, ev, "escalation", np.full(len(ev), NONE), at, above, self.department[ev].copy(),
                                sim.escalation_note, due[ok], None, ""))
            self.c_alert[ev], self.c_escalated[ev] = 2, at
        self.c_swept[idx] = end

    def act(self, idx: np.ndarray, t: np.ndarray, action: str, to_state: str | None = None, actor=NONE,
            label="", note="", data="{}") -> None:
        """``workflow.transition`` for many cases at once."""
        if not len(idx):
            return
        self.sweep(idx, t)
        old_step = self.step[idx].copy()
        frm = self.state[idx].copy()
        to = frm if to_state is None else SC[to_state]
        self.rows.add(idx, AC[action], t, frm, to, actor, label, note, data)
        if WORKFLOW[AC[action]]:
            self.version[idx] += 1
            self.updated[idx] = np.maximum(self.updated[idx], t)
        self.last[idx] = t
        if to_state is not None:
            self.state[idx] = SC[to_state]
            changed = self.step_now(idx) != old_step
            self.start_clock(idx[changed], t[changed])
        elif ACTIONS[action].restarts_clock:
            self.start_clock(idx, t)

    # --- people ---------------------------------------------------------------------------------------

    def centre(self, idx: np.ndarray, col: int) -> np.ndarray:
        """An operator of the centre running each case: the street's, or the district's dispatchers."""
        sim = self.sim
        x = self.u[idx, col]
        at_district = self.owner[idx] == self.district_id[idx]
        street = sim.operators[self.street[idx], (x * sim.operators.shape[1]).astype(np.int64)]
        district = sim.dispatchers[self.district[idx], (x * sim.dispatchers.shape[1]).astype(np.int64)]
        return np.where(at_district, district, street)

    def handler(self, idx: np.ndarray, col: int, department: np.ndarray | None = None) -> np.ndarray:
        sim = self.sim
        dept = self.department[idx] if department is None else department
        x = self.u[idx, col]
        row = np.clip(dept - sim.first_department, 0, len(sim.handlers) - 1)
        people = sim.handlers[row, (x * sim.handlers.shape[1]).astype(np.int64)]
        return np.where(dept >= 0, people, NONE)

    def note(self, kind: str, idx: np.ndarray, col: int) -> np.ndarray:
        pool = np.asarray(NOTES[kind], object)
        return pool[(self.u[idx, col] * len(pool)).astype(np.int64) % len(pool)]

    # --- the loop -------------------------------------------------------------------------------------

    def live(self) -> None:
        sim, sk = self.sim, self.sim.skeleton
        n, u = self.n, self.u
        everyone = np.arange(n)
        # Who reports: a member of the grid's team, another system's account, or a person by name.
        grid_channel = self.channel == CHANNELS.index(Channel.GRID)
        self.reporter = np.full(n, NONE, np.int64)
        team = sim.team_pick(self.grid, u[:, 1])
        self.reporter[grid_channel] = team[grid_channel]
        self.channel[grid_channel & (team == NONE)] = CHANNELS.index(Channel.WALK_IN)  # a grid without a team
        for name in (Channel.IOT, Channel.API):
            self.reporter[self.channel == CHANNELS.index(name)] = sim.staff.api_accounts[
                "iot" if name == Channel.IOT else "api"]
        self.by_name = self.reporter == NONE
        label = np.asarray([sim.labels.get(c, "") for c in CHANNELS], object)[self.channel]
        label[~self.by_name] = ""
        report_data = np.asarray([sim.report_data[c] for c in CHANNELS], object)[self.channel]
        self.rows.add(everyone, AC["report"], self.created, SC[S.REPORTED], SC[S.REPORTED], self.reporter, label, "",
                      report_data)
        self.start_clock(everyone, self.created)
        self._fates()

        # 自行处置: a grid worker reports a small matter already handled.
        idx = everyone[self.fate == FC["self_handle"]]
        idx, t = self.happened(idx, self.created[idx] + (900 * np.exp(0.6 * self.z[idx, 0])).astype(np.int64))
        self.self_handled[idx] = True
        self.act(idx, t, "self_handle", S.CLOSED, self.reporter[idx], note=self.note("self_handle", idx, 4))
        self.handled[idx] = self.closed[idx] = t
        # Duplicates merged into the case they repeat.
        idx = everyone[self.fate == FC["merged"]]
        into = sk.duplicate_of[self.start + idx]
        idx, t, into = self.happened(idx, sk.merge_at[self.start + idx], into)
        self.merged_into[idx] = sk.ids[into]
        self.act(idx, t, "merge", S.MERGED, self.centre(idx, 5), note=NOTES["merge"][0],
                 data=np.asarray([f'{{"into": "{sim.number(int(i))}"}}' for i in into], object))
        self._loop(everyone[(self.fate != FC["self_handle"]) & (self.fate != FC["merged"])])
        self._absorbed()
        self.sweep(everyone, np.full(n, sim.as_of + 1))

    def _fates(self) -> None:
        """What becomes of each case: its end or side path (``fate``), and where it stays stuck."""
        sim, sk, u = self.sim, self.sim.skeleton, self.u
        n = self.n
        fate = np.full(n, FC["normal"], np.int64)
        stuck = np.zeros(n, np.int64)
        duplicate = sk.duplicate_of[self.start:self.start + n] >= 0
        original = sk.is_original[self.start:self.start + n]  # others repeat it: it stays alive
        self_handling = sim.minor_self_handling[self.minor] & (self.channel == CHANNELS.index(Channel.GRID))
        reject = np.asarray([REJECT[c] for c in CHANNELS])[self.channel]
        x = u[:, 41].copy()
        dead = ~original
        fate[dead & (x < reject)] = FC["reject"]
        fate[dead & (x >= reject) & (x < reject + NOT_REGISTER)] = FC["not_register"]
        x = np.where(dead, x - reject - NOT_REGISTER, x)
        low = np.zeros(n)
        for code, share in enumerate(STUCK.values(), start=1):
            hit = (fate == FC["normal"]) & (x >= low) & (x < low + share)
            stuck[hit] = code
            low = low + share
        y = u[:, 42]
        low = 0.0
        for name, share in (("escalated", ESCALATE), ("sent_back", RETURN), ("extended", EXTENSION),
                            ("paused", SUSPEND)):
            fate[(fate == FC["normal"]) & (stuck == 0) & (y >= low) & (y < low + share)] = FC[name]
            low += share
        fate[self_handling & (u[:, 40] < SELF_HANDLE)] = FC["self_handle"]
        fate[duplicate] = FC["merged"]
        stuck[(fate == FC["self_handle"]) | duplicate] = 0
        self.fate, self.stuck = fate, stuck

    def _loop(self, idx: np.ndarray) -> None:
        """Accept → register → dispatch → sign → start → handle → verify → close → call-back, with the
        side paths; each case stops where its fate, or the present, stops it."""
        sim = self.sim
        fate, stuck, auto = self.fate, self.stuck, self.auto
        idx = idx[stuck[idx] != KC["accept"]]
        t = np.where(auto[idx], self.created[idx] + 20, self.when(idx, 0.2, 0.6, 1))
        idx, t = self.happened(idx, t)
        gone = fate[idx] == FC["reject"]
        self.act(idx[gone], t[gone], "reject", S.INVALID, self.centre(idx[gone], 6),
                 note=self.note("reject", idx[gone], 7))
        self.closed[idx[gone]] = t[gone]
        idx, t = idx[~gone], t[~gone]
        a = auto[idx]
        self.act(idx, t, "accept", S.ACCEPTED, np.where(a, NONE, self.centre(idx, 6)),
                 label=np.where(a, sim.auto_label, ""))
        # 上报: the district centre takes the case over.
        up = (fate[idx] == FC["escalated"]) & (self.owner[idx] != self.district_id[idx])
        ev = idx[up]
        t_up = self.when(ev, 0.3, 0.5, 2)
        late = t_up > sim.as_of
        idx = np.setdiff1d(idx, ev[late])
        ev, t_up = ev[~late], t_up[~late]
        self.act(ev, t_up, "escalate", None, self.centre(ev, 8), note=self.note("escalate", ev, 9),
                 data=sim.district_to_data[self.district[ev]])
        self.owner[ev] = self.district_id[ev]
        # Registration (立案).
        idx = idx[stuck[idx] != KC["register"]]
        t = np.where(auto[idx], self.last[idx] + 10, self.when(idx, 0.1, 0.6, 3, after=self.last[idx]))
        idx, t = self.happened(idx, t)
        gone = fate[idx] == FC["not_register"]
        self.act(idx[gone], t[gone], "not_register", S.NOT_REGISTERED, self.centre(idx[gone], 10),
                 note=self.note("not_register", idx[gone], 11))
        self.closed[idx[gone]] = t[gone]
        idx, t = idx[~gone], t[~gone]
        a = auto[idx]
        self.act(idx, t, "register", S.REGISTERED, np.where(a, NONE, self.centre(idx, 10)),
                 label=np.where(a, sim.auto_label, ""), data=sim.category_data[self.minor[idx]])
        # Dispatch (派遣) to the routed department and its co-handlers.
        idx = idx[stuck[idx] != KC["dispatch"]]
        t = np.where(auto[idx], self.last[idx] + 10, self.when(idx, 0.15, 0.6, 4, after=self.last[idx]))
        idx, t = self.happened(idx, t)
        a = auto[idx]
        lead = sim.routing.lead[self.minor[idx], self.street[idx]]
        self._dispatch(idx, t, lead, sim.co_table[self.minor[idx], self.district[idx]],
                       np.where(a, NONE, self.centre(idx, 12)), np.where(a, sim.auto_label, ""))
        # 退单: not this department's remit; the centre dispatches again.
        back = (fate[idx] == FC["sent_back"]) | (stuck[idx] == KC["returned"])
        ev = idx[back]
        t_back = self.when(ev, 0.4, 0.6, 6)
        late = t_back > sim.as_of
        idx = np.setdiff1d(idx, ev[late])
        ev, t_back = ev[~late], t_back[~late]
        notes = self.note("return", ev, 14)
        self.act(ev, t_back, "return", S.RETURNED, self.handler(ev, 13), note=notes)
        self.returned_at[ev] = t_back
        self._finish_lead(ev, "returned", notes)
        again = sim.redispatch_department(self.department[ev], self.district[ev])
        self.department[ev] = NONE
        stays = stuck[ev] == KC["returned"]
        idx = np.setdiff1d(idx, ev[stays])
        ev, again = ev[~stays], again[~stays]
        t_again = self.when(ev, 0.3, 0.6, 6)
        late = t_again > sim.as_of
        idx = np.setdiff1d(idx, ev[late])
        ev, t_again, again = ev[~late], t_again[~late], again[~late]
        self._dispatch(ev, t_again, again, None, self.centre(ev, 12), "")
        # Signing (签收) and starting.
        idx = idx[stuck[idx] != KC["sign"]]
        t = self.when(idx, 0.25, 0.6, 5)
        idx, t = self.happened(idx, t)
        signer = self.handler(idx, 15)
        self.act(idx, t, "sign", S.SIGNED, signer)
        self.lead_status[idx] = ASSIGNMENT_STATUS.index("signed")
        self.lead_signed_at[idx], self.lead_signed_by[idx] = t, signer
        idx = idx[stuck[idx] != KC["signed"]]
        t = self.when(idx, 0.05, 0.8, 7, after=self.last[idx])
        idx, t = self.happened(idx, t)
        self.act(idx, t, "start", S.IN_PROGRESS, self.handler(idx, 15))
        self._handling(idx)


    def _handling(self, idx: np.ndarray) -> None:
        """In progress: about half the limit, sometimes more; an extension, a pause, the backlog list;
        then verification, closing and the call-back, and a second round when it is not done."""
        sim, fate, stuck, as_of = self.sim, self.fate, self.stuck, self.sim.as_of
        t_handle = np.full(self.n, NONE, np.int64)
        t_handle[idx] = self.when(idx, 0.45, 0.5, 8, after=self.last[idx])
        # An extension asked for and approved (the due instant moves on by two working days).
        ev = idx[(fate[idx] == FC["extended"]) | (stuck[idx] == KC["extension"])]
        t = self.when(ev, 0.6, 0.2, 9, after=self.last[ev])
        idx = np.setdiff1d(idx, ev[t > as_of])
        ev, t = ev[t <= as_of], t[t <= as_of]
        self.act(ev, t, "request_extension", S.EXTENSION_REQUESTED, self.handler(ev, 15),
                 note=self.note("request_extension", ev, 16), data='{"amount": 2, "unit": "working_days"}')
        waiting = stuck[ev] == KC["extension"]
        self._supervise_overdue(ev[waiting])
        idx = np.setdiff1d(idx, ev[waiting])
        ev = ev[~waiting]
        t = self.when(ev, 0.7, 0.2, 10, after=self.last[ev])
        idx = np.setdiff1d(idx, ev[t > as_of])
        ev, t = ev[t <= as_of], t[t <= as_of]
        self._approve_extension(ev, t)
        t_handle[ev] = self.when(ev, 0.6, 0.3, 10, after=t)
        # A pause (the clock stands still), resumed after a couple of days.
        ev = idx[(fate[idx] == FC["paused"]) | (stuck[idx] == KC["suspended"])]
        t = self.when(ev, 0.2, 0.5, 11, after=self.last[ev])
        idx = np.setdiff1d(idx, ev[t > as_of])
        ev, t = ev[t <= as_of], t[t <= as_of]
        self.act(ev, t, "suspend", S.SUSPENDED, self.handler(ev, 15), note=self.note("suspend", ev, 18))
        self.c_paused[ev] = t
        paused = stuck[ev] == KC["suspended"]
        idx = np.setdiff1d(idx, ev[paused])
        ev, t = ev[~paused], t[~paused]
        t = t + (2 * 86400 * np.exp(0.6 * self.z[ev, 12])).astype(np.int64)
        idx = np.setdiff1d(idx, ev[t > as_of])
        ev, t = ev[t <= as_of], t[t <= as_of]
        self._resume(ev, t)
        t_handle[ev] = self.when(ev, 0.5, 0.3, 13, after=t)
        # Stuck in handling, some put on the backlog list (挂账) days after the deadline.
        ev = idx[(stuck[idx] == KC["handle"]) | (stuck[idx] == KC["backlog"])]
        self._supervise_overdue(ev)
        listed = ev[stuck[ev] == KC["backlog"]]
        days_after = (3 * 86400 * np.exp(0.8 * self.z[listed, 14])).astype(np.int64)
        t = sim.vc.next_working_moment(self.c_due[listed] + days_after)
        listed, t = self.happened(listed, t)
        self.act(listed, t, "backlog", S.BACKLOG, self.centre(listed, 19), note=self.note("backlog", listed, 20))
        idx = np.setdiff1d(idx, ev)
        # Handled, verified (核查) — or sent back to work once — then closed and called back.
        idx, t = self.happened(idx, t_handle[idx])
        self._handle(idx, t)
        idx = idx[stuck[idx] != KC["verify"]]
        idx, t = self.happened(idx, self.when(idx, 0.3, 0.6, 15))
        again = (self.u[idx, 22] < REWORK) | (stuck[idx] == KC["rework"])
        ev, t_rework = idx[again], t[again]
        self.rework[ev] += 1
        self.act(ev, t_rework, "rework", S.REWORK, self._verifier(ev), note=self.note("rework", ev, 23))
        self.lead_status[ev] = ASSIGNMENT_STATUS.index("signed")
        ev = ev[stuck[ev] != KC["rework"]]
        ev, t2 = self.happened(ev, self.when(ev, 0.4, 0.5, 16))
        self._handle(ev, t2)
        ev, t2 = self.happened(ev, self.when(ev, 0.3, 0.6, 15))
        self._close(np.concatenate([idx[~again], ev]), np.concatenate([t[~again], t2]), second=False)

    def _verifier(self, idx: np.ndarray) -> np.ndarray:
        """The grid worker who reported it, else the centre."""
        return np.where(self.verifier[idx] >= 0, self.verifier[idx], self.centre(idx, 21))

    def _close(self, idx: np.ndarray, t: np.ndarray, *, second: bool) -> None:
        sim, u = self.sim, self.u
        order = np.argsort(idx)
        idx, t = idx[order], t[order]
        self.act(idx, t, "verify_pass", S.CLOSED, self._verifier(idx), note=self.note("verify_pass", idx, 24))
        self.closed[idx] = t
        idx = idx[self.stuck[idx] != KC["callback"]]
        idx, t = self.happened(idx, self.when(idx, 0.25, 0.6, 17))
        roll = u[idx, 25] * (0.5 if second else 1.0)  # happier the second time round
        bounds = np.cumsum([share for _name, share in SATISFACTION])
        satisfaction = np.minimum(np.searchsorted(bounds, roll, side="right"), len(SATISFACTION) - 1)
        people = np.isin(self.channel[idx], [CHANNELS.index(Channel.CITIZEN), CHANNELS.index(Channel.HOTLINE)])
        rated = people & (u[idx, 26] < CITIZEN_RATES) & (not second)
        # The reporter rates through the receipt code …
        ev = idx[rated]
        comments = self.note("rate", ev, 27)
        self.act(ev, t[rated], "evaluate", S.EVALUATED, NONE, sim.rater_label, comments,
                 sim.rated_data[satisfaction[rated]])
        self.satisfaction[ev], self.comment[ev] = satisfaction[rated], comments
        # … or the centre calls back (回访) and records it.
        ev, t, satisfaction = idx[~rated], t[~rated], satisfaction[~rated]
        self.act(ev, t, "evaluate", S.EVALUATED, self.centre(ev, 28), data=sim.callback_data[satisfaction])
        solved = satisfaction != len(SATISFACTION) - 1
        self.contacted[ev], self.solved[ev], self.satisfaction[ev] = 1, solved, satisfaction
        if second:
            return
        # Not satisfied: reopened, handled again, verified, closed and called back once more.
        ev, t = ev[~solved & (u[ev, 29] < REOPEN)], t[~solved & (u[ev, 29] < REOPEN)]
        ev, t = self.happened(ev, sim.vc.next_working_moment(t + (3600 * np.exp(0.5 * self.z[ev, 18])).astype(int)))
        self.rework[ev] += 1
        self.closed[ev] = NONE
        self.act(ev, t, "reopen", S.REWORK, self.centre(ev, 28), note=self.note("reopen", ev, 29))
        self.lead_status[ev] = ASSIGNMENT_STATUS.index("signed")
        ev, t = self.happened(ev, self.when(ev, 0.4, 0.5, 19))
        self._handle(ev, t)
        ev, t = self.happened(ev, self.when(ev, 0.3, 0.6, 15))
        self._close(ev, t, second=True)

    # --- steps with more than a row -------------------------------------------------------------------

    def _dispatch(self, idx, t, department, co, actor, label) -> None:
        """``services._dispatch``: the lead (and co-handlers) wait to sign by the signing step's due."""
        sim = self.sim
        self.department[idx] = department
        co_lists = [() for _ in range(len(idx))] if co is None else \
            [tuple(d for d in row if d >= 0 and d != lead) for row, lead in zip(co.tolist(), department.tolist())]
        data = np.asarray([sim.dispatch_data(d, c) for d, c in zip(department.tolist(), co_lists)], object)
        self.act(idx, t, "dispatch", S.DISPATCHED, actor, label, data=data)
        self.dispatched[idx] = t
        self.lead_id[idx] = sim.writer.ids(Assignment, len(idx))
        self.lead_dept[idx], self.lead_status[idx], self.lead_assigned[idx] = department, 0, t
        self.lead_sign_due[idx] = self.c_due[idx]
        self.lead_signed_at[idx] = self.lead_signed_by[idx] = NONE
        self.lead_note[idx] = ""
        if co is not None:
            rows = [(i, d) for i, c in zip(idx.tolist(), co_lists) for d in c]
            if rows:
                ev = np.asarray([r[0] for r in rows], np.int64)
                dept = np.asarray([r[1] for r in rows], np.int64)
                sign_at = np.maximum(self.dispatched[ev] + 60, self.at_share(ev, _lognormal(0.3, 0.6, self.z[ev, 20])))
                self.co.append((ev, dept, self.dispatched[ev].copy(), self.c_due[ev].copy(), sign_at))

    def _finish_lead(self, idx, status: str, notes) -> None:
        self.assignment_rows.append((self.lead_id[idx].copy(), idx.copy(), self.lead_dept[idx].copy(), "lead",
                                     np.full(len(idx), ASSIGNMENT_STATUS.index(status)), self.lead_assigned[idx].copy(),
                                     self.lead_sign_due[idx].copy(), self.lead_signed_at[idx].copy(),
                                     self.lead_signed_by[idx].copy(), np.asarray(notes, object)))
        self.lead_id[idx] = NONE

    def _handle(self, idx, t) -> None:
        """The handler's feedback; the platform sends it straight on to verification."""
        self.act(idx, t, "handle", S.HANDLED, self.handler(idx, 15), note=self.note("handle", idx, 39))
        self.handled[idx] = t
        self.lead_status[idx] = ASSIGNMENT_STATUS.index("done")
        grid = self.channel[idx] == CHANNELS.index(Channel.GRID)
        self.verifier[idx] = np.where(grid, self.reporter[idx], NONE)
        self.act(idx, t, "send_to_verify", S.VERIFYING, NONE, self.sim.platform)

    def _approve_extension(self, idx, t) -> None:
        """The centre approves: the due instant moves on by the time asked for, the warning with it."""
        sim = self.sim
        if not len(idx):
            return
        self.sweep(idx, t)
        due = sim.vc.due(self.c_due[idx] - 1, np.full(len(idx), 2), np.full(len(idx), UNIT_CODES["working_days"]))
        data = np.asarray([f'{{"amount": 2, "unit": "working_days", "new_due": "{sim.iso(d)}"}}' for d in due.tolist()],
                          object)
        self.rows.add(idx, AC["approve_extension"], t, self.state[idx], SC[S.IN_PROGRESS], self.centre(idx, 17), "", "",
                      data)
        self.version[idx] += 1
        self.updated[idx] = np.maximum(self.updated[idx], t)
        self.last[idx], self.state[idx] = t, SC[S.IN_PROGRESS]
        self.c_due[idx] = due
        self.c_yellow[idx] = sim.vc.yellow(self.c_start[idx], due, self.c_unit[idx], sim.share)
        working = self.c_ws[idx] >= 0
        if working.any():
            self.c_wd[idx[working]] = sim.vc.clock(due[working])
        self.c_rule[idx] = sim.rule_extended[self.c_rule[idx]]
        self.c_alert[idx], self.c_escalated[idx], self.c_swept[idx] = 0, NONE, t
        self.handling_due[idx] = due

    def _resume(self, idx, t) -> None:
        """The clock stood still while suspended: due and warning move on by the working time paused."""
        sim = self.sim
        if not len(idx):
            return
        paused = self.c_paused[idx]
        self.c_paused[idx] = NONE
        self.rows.add(idx, AC["resume"], t, self.state[idx], SC[S.IN_PROGRESS], self.handler(idx, 15), "", "", "{}")
        self.version[idx] += 1
        self.updated[idx] = np.maximum(self.updated[idx], t)
        self.last[idx], self.state[idx] = t, SC[S.IN_PROGRESS]
        due, yellow = self.c_due[idx], self.c_yellow[idx]
        working = self.c_ws[idx] >= 0
        if working.any():
            worked = sim.vc.clock(t[working]) - sim.vc.clock(paused[working])
            move = worked > 0
            for values in (due, yellow):
                sub = values[working]
                shifted = sim.vc.at_clock(sim.vc.clock(sub) + worked).astype(np.int64)
                values[working] = np.where(move, shifted, sub)
        due[~working] += (t - paused)[~working]
        yellow[~working] += (t - paused)[~working]
        self.c_due[idx], self.c_yellow[idx] = due, yellow
        if working.any():
            self.c_wd[idx[working]] = sim.vc.clock(due[working])
        self.handling_due[idx] = due
        on_time = t <= due
        self.c_alert[idx[on_time]] = (yellow[on_time] <= t[on_time]).astype(np.int64)
        self.c_escalated[idx[on_time]] = NONE
        self.c_swept[idx] = t

    def _supervise_overdue(self, idx) -> None:
        """Supervisors act on cases stuck overdue: reminders (催办), supervision orders (督办) with
        their own deadline — answered, or reported late by the sweep — and listing (挂牌督办)."""
        sim, u, as_of = self.sim, self.u, self.sim.as_of
        if not len(idx):
            return
        self.sweep(idx, np.full(len(idx), as_of + 1))
        idx = idx[self.c_escalated[idx] >= 0]
        idx, t = self.happened(idx, self.c_escalated[idx] + (86400 * (1 + 3 * u[idx, 31])).astype(np.int64))
        ev = idx[u[idx, 32] < REMIND]
        t_ev = t[u[idx, 32] < REMIND]
        actor, notes = self.centre(ev, 33), self.note("remind", ev, 34)
        self._side_act(ev, t_ev, "remind", actor, notes, "{}")
        self.orders.append((sim.writer.ids(SupervisionOrder, len(ev)), ev, "reminder", actor, t_ev, NONE,
                            self.department[ev].copy(), notes, NONE, None, ""))
        leader = sim.district_leaders[self.district[idx]]
        t = t + 3600
        pick = (u[idx, 35] < SUPERVISE) & (t <= as_of)
        ev, t_ev, who = idx[pick], t[pick], leader[pick]
        due = sim.vc.due(t_ev, np.full(len(ev), 2), np.full(len(ev), UNIT_CODES["working_days"]))
        ids = sim.writer.ids(SupervisionOrder, len(ev))
        note = NOTES["supervise"][0]
        self._side_act(ev, t_ev, "supervise", who, note, np.asarray(
            [f'{{"amount": 2, "unit": "working_days", "due": "{sim.iso(d)}"}}' for d in due.tolist()], object))
        answered = np.where(u[ev, 37] < 0.5, t_ev + (3 * 86400 * u[ev, 36]).astype(np.int64), NONE)
        answered[answered > as_of] = NONE
        late = _next_ticks(due + 1, self.phase[ev])
        told = ((answered == NONE) | (answered > late)) & (late <= as_of)
        self.rows.add(ev[told], AC["supervision_overdue"], late[told], -1, -1, NONE, sim.platform, "", np.asarray(
            [f'{{"order": {i}, "due": "{sim.iso(d)}"}}' for i, d in zip(ids[told].tolist(), due[told].tolist())],
            object))
        done = answered != NONE
        response = NOTES["respond"][0]
        self._side_act(ev[done], answered[done], "respond", self.handler(ev[done], 15), response,
                       np.asarray([f'{{"order": {i}}}' for i in ids[done].tolist()], object))
        self.orders.append((ids, ev, "order", who, t_ev, NONE, self.department[ev].copy(), note, due,
                            answered, np.where(done, response, "")))
        pick = (u[idx, 38] < LIST) & (t + 3600 <= as_of)
        ev = idx[pick]
        self._side_act(ev, t[pick] + 3600, "list_supervision", leader[pick], NOTES["list_supervision"][0], "{}")
        self.listed[ev] = True

    def _side_act(self, idx, t, action: str, actor, note, data) -> None:
        """An action that leaves the state as it is (supervision): its row takes the state of the
        moment from the timeline."""
        if not len(idx):
            return
        self.rows.add(idx, AC[action], t, -1, -1, actor, "", note, data)
        np.add.at(self.version, idx, 1)  # a case may appear more than once (two co-handlers signing)
        np.maximum.at(self.updated, idx, t)

    def _absorbed(self) -> None:
        """Each duplicate merged into a case of this chunk leaves an "absorb" row on it."""
        sim, sk = self.sim, self.sim.skeleton
        duplicate = sk.duplicate_by_original[self.start:self.start + self.n]
        ev = np.flatnonzero(duplicate >= 0)
        d = duplicate[ev]
        at = sk.merge_at[d]
        ok = at <= sim.as_of
        ev, d, at = ev[ok], d[ok], at[ok]
        if not len(ev):
            return
        numbers = [sim.number(int(i)) for i in d]
        self.rows.add(ev, AC["absorb"], at, -1, -1, self.centre(ev, 5), "",
                      np.asarray([sim.absorb_note(x) for x in numbers], object),
                      np.asarray([f'{{"merged": "{x}"}}' for x in numbers], object))
        self.version[ev] += 1
        self.updated[ev] = np.maximum(self.updated[ev], at)

    def _settle_co(self) -> None:
        """Co-handling departments sign (报到) with their own row — unless the case went back first (the
        co-handlers step back) — and one left unsigned past its sign-by instant is reported once."""
        sim = self.sim
        if not self.co:
            return
        ev, dept, assigned, sign_due, sign_at = (np.concatenate(c) for c in zip(*self.co, strict=True))
        ids = sim.writer.ids(Assignment, len(ev))
        returned = self.returned_at[ev]
        cut = np.where(returned >= 0, returned, sim.as_of + 1)
        late = _next_ticks(sign_due + 1, self.phase[ev])
        told = (late < np.minimum(sign_at, cut)) & (late <= sim.as_of)
        names = sim.department_names
        self.rows.add(ev[told], AC["unsigned_overdue"], late[told], -1, -1, NONE, sim.platform, "", np.asarray(
            [f'{{"assignment": {i}, "department": "{names[d]}", "department_id": {d}, "due": "{sim.iso(due)}"}}'
             for i, d, due in zip(ids[told].tolist(), dept[told].tolist(), sign_due[told].tolist())], object))
        signs = (sign_at < cut) & (sign_at <= sim.as_of)
        signer = self.handler(ev, 30, dept)
        self._side_act(ev[signs], sign_at[signs], "co_sign", signer[signs], "",
                       np.asarray([f'{{"department": "{names[d]}"}}' for d in dept[signs].tolist()], object))
        status = np.where(returned >= 0, ASSIGNMENT_STATUS.index("withdrawn"),
                          np.where(signs, ASSIGNMENT_STATUS.index("signed"), ASSIGNMENT_STATUS.index("pending")))
        self.assignment_rows.append((ids, ev, dept, "co", status, assigned, sign_due, np.where(signs, sign_at, NONE),
                                     np.where(signs, signer, NONE), np.full(len(ev), "", object)))

    # --- rows -------------------------------------------------------------------------------------------

    def write(self) -> None:
        sim, sk, writer = self.sim, self.sim.skeleton, self.sim.writer
        self._settle_co()
        n = self.n
        g = self.grid
        positions = np.arange(self.start, self.start + n)
        numbers = sim.numbers(positions)
        state = Coded(self.state, STATES)
        has_clock = self.step != 0
        place = sim.grid_names[g]
        minor_names = sim.minor_names[self.minor]
        channel = Coded(self.channel, [c.value for c in CHANNELS])
        titles = Coded(self.channel * len(sim.minor_ids) + self.minor, sim.titles.ravel().tolist())
        descriptions = [f"{p}发现{m}问题，{DESCRIPTIONS[i % len(DESCRIPTIONS)]}。{SUFFIX}"
                        for p, m, i in zip(place.tolist(), minor_names.tolist(), positions.tolist())]
        hotline = self.channel == CHANNELS.index(Channel.HOTLINE)
        request_types = [sim.request_type(i) if h else "" for i, h in zip(positions.tolist(), hotline.tolist())]
        contact_names = [(SURNAMES[int(a * len(SURNAMES))] + ("先生" if b < 0.5 else "女士") + SUFFIX) if byname else ""
                         for a, b, byname in zip(self.u[:, 2].tolist(), self.u[:, 3].tolist(), self.by_name.tolist())]
        contact_phones = [sim.phones[i % len(sim.phones)] if byname else ""
                          for i, byname in zip(positions.tolist(), self.by_name.tolist())]
        unit_paths = Coded(self.unit - sim.first_unit, sim.unit_paths)
        owner_paths = Coded(self.owner - sim.first_unit, sim.unit_paths)
        satisfaction = Coded(np.where(self.satisfaction >= 0, self.satisfaction, len(SATISFACTION)),
                             [name for name, _share in SATISFACTION] + [""])
        writer.write_columns(Event, EVENT_FIELDS, [
            self.pk, numbers, sim.receipts(self.pk), channel, request_types, sim.minor_ids[self.minor],
            titles, descriptions, [f"{p}{i % 40 + 1}号附近" for p, i in zip(place.tolist(), positions.tolist())],
            sk.lon[self.start:self.start + n], sk.lat[self.start:self.start + n], sim.grid_ids[g], self.unit,
            unit_paths, np.zeros(n, bool), self.owner, owner_paths, state, self.version,
            Coded(self.minor, sim.minor_urgency.tolist()), Coded(self.minor, sim.minor_track.tolist()), self.department,
            self.reporter, contact_names, contact_phones, Coded.constant("{}", n), Coded(np.full(n, -1), []),
            self.self_handled, self.merged_into, self.verifier, Coded(self.step, STEPS), self.c_start,
            self.c_amount, Coded(np.where(has_clock, self.c_unit, len(UNITS)), UNITS + [""]), self.c_yellow,
            self.c_due, Coded(np.where(has_clock, self.c_rule, len(sim.rules)), sim.rules.tolist() + [""]),
            self.c_paused, self.c_alert,
            self.c_escalated, self.handling_due, self.listed, self.rework, self.contacted,
            self.solved, satisfaction, self.comment, self.created, self.updated, self.dispatched,
            self.handled, self.closed,
        ])
        self._write_history()
        # Department assignments: finished lead rows, co-handlers, and each case's current lead.
        current = np.flatnonzero(self.lead_id >= 0)
        self.assignment_rows.append((self.lead_id[current], current, self.lead_dept[current], "lead",
                                     self.lead_status[current], self.lead_assigned[current],
                                     self.lead_sign_due[current], self.lead_signed_at[current],
                                     self.lead_signed_by[current], self.lead_note[current]))
        rows = [(*row[:3], np.full(len(row[0]), row[3], object), *row[4:]) for row in self.assignment_rows]
        ids, ev, dept, role, status, assigned, sign_due, signed_at, signed_by, note = (
            np.concatenate(column) for column in zip(*rows, strict=True))
        writer.write_columns(Assignment, ASSIGNMENT_FIELDS, [
            ids, self.pk[ev], dept, role, Coded(status, ASSIGNMENT_STATUS), assigned, sign_due, signed_at, signed_by,
            note])
        # Reporters: a merged duplicate's reporter now belongs to the case it repeats and hears its outcome.
        finished = np.isin(self.state, [SC[S.CLOSED], SC[S.EVALUATED]])
        closed_now = np.where(finished, self.closed, NONE)
        sim.closed_at[positions] = closed_now
        merged = self.merged_into >= 0
        original = sk.duplicate_of[positions]
        notified = np.where(merged, sim.closed_at[np.maximum(original, 0)], closed_now)
        writer.write_columns(Reporter, REPORTER_FIELDS, [
            writer.ids(Reporter, n), np.where(merged, self.merged_into, self.pk), self.pk, self.reporter,
            contact_names, contact_phones, channel, self.created, notified])
        # Supervision: escalations by the sweep, reminders and orders.
        if self.orders:
            cols = list(zip(*[self._order_columns(o) for o in self.orders], strict=True))
            ev = np.concatenate(cols[1])
            writer.write_columns(SupervisionOrder, SUPERVISION_FIELDS, [
                np.concatenate(cols[0]), self.pk[ev], np.concatenate(cols[2]), np.concatenate(cols[3]),
                np.concatenate(cols[4]), np.concatenate(cols[5]), np.concatenate(cols[6]),
                np.concatenate(cols[7]), np.concatenate(cols[8]), np.concatenate(cols[9]),
                np.concatenate(cols[10])])
        writer.write_columns(ChangeRecord, CHANGE_FIELDS, [
            writer.ids(ChangeRecord, n), Coded.constant(JOURNAL, n), self.pk,
            Coded.constant(ChangeRecord.Op.UPSERT.value, n), self.updated, unit_paths, owner_paths,
            self.department])
        calls = np.flatnonzero(hotline)
        writer.write_columns(HotlineCall, HOTLINE_FIELDS, [
            writer.ids(HotlineCall, len(calls)), sim.hotline_operator(self.district[calls], positions[calls]),
            [contact_names[i] for i in calls], [contact_phones[i] for i in calls],
            [request_types[i] for i in calls], [f"{titles[i]}\n{descriptions[i]}" for i in calls],
            np.full(len(calls), HotlineCall.Outcome.CASE.value, object), np.full(len(calls), "", object),
            np.full(len(calls), "", object), self.pk[calls], self.created[calls]])

    def _order_columns(self, order: tuple) -> tuple:
        ids, ev, kind, by, at, to_unit, dept, note, due, answered, response = order
        n = len(ids)

        def full(value, dtype=np.int64):
            return value if isinstance(value, np.ndarray) else np.full(n, value if value is not None else NONE, dtype)

        return (ids, ev, np.full(n, kind, object), full(by), full(at), full(to_unit), full(dept),
                full(note, object), full(due), full(answered), full(response, object))

    def _write_history(self) -> None:
        """The history rows in timeline order; a row that leaves the state as it is takes the state of
        the moment (the last state written before it)."""
        sim, writer = self.sim, self.sim.writer
        ev, action, at, frm, to, actor, label, note, data, seq = self.rows.columns()
        order = np.lexsort((seq, at, ev))
        ev, action, at, frm, to, actor, label, note, data = (
            c[order] for c in (ev, action, at, frm, to, actor, label, note, data))
        known = to >= 0
        last = np.maximum.accumulate(np.where(known, np.arange(len(to)), 0))
        filled = to[last]
        frm = np.where(frm < 0, filled, frm)
        to = np.where(to < 0, filled, to)
        if not sim.ctx.full_history:
            # Old finished cases keep the report row and the final transition (one in ten keeps all).
            finished = np.isin(self.state, [SC[s] for s in (S.CLOSED, S.EVALUATED, S.INVALID, S.NOT_REGISTERED,
                                                            S.MERGED)])
            cut = (finished & (self.created < sim.as_of - sim.ctx.scale.full_history_days * 86400)
                   & (self.u[:, 43] >= 0.1))
            change = np.flatnonzero(frm != to)
            final = np.zeros(len(ev), bool)
            final[change[np.r_[ev[change][1:] != ev[change][:-1], True]]] = True
            keep = ~cut[ev] | (action == AC["report"]) | final
            ev, action, at, frm, to, actor, label, note, data = (
                c[keep] for c in (ev, action, at, frm, to, actor, label, note, data))
        table = self.rows.texts.table
        writer.write_columns(Transition, TRANSITION_FIELDS, [
            writer.ids(Transition, len(ev)), self.pk[ev], Coded(action, ACTION_NAMES), Coded(frm, STATES),
            Coded(to, STATES), actor, Coded(label, table), Coded(note, table), Coded(data, table), at, at])


class Simulation:
    """What every chunk needs: places, people, the catalogue as arrays, the clocks, the skeleton."""

    def __init__(self, ctx: SeedContext, rng: np.random.Generator):
        self.ctx, self.rng, self.writer, self.as_of = ctx, rng, ctx.writer, ctx.as_of
        self.units: Units = ctx.data["governance.units"]
        self.departments: Departments = ctx.data["governance.departments"]
        self.staff: Staff = ctx.data["governance.staff"]
        self.routing: Routing = ctx.data["dispatch.routing"]
        layout = ctx.data["grids.layout"]
        today = datetime.datetime.fromtimestamp(self.as_of, tz=datetime.UTC).date()
        margin = datetime.timedelta(days=420)
        self.wc = WorkClock(current_calendar(), today - margin, today + margin)
        if not self.wc.usable:
            raise ValueError("The synthetic city needs a time zone with a fixed UTC offset and working periods on "
                             "whole seconds (TIME_ZONE and the working hours in the admin).")
        self.vc = VectorClock(self.wc)
        self.share = clock.yellow_share()
        offset = self.wc.offset
        self.tz_suffix = f"{'+' if offset >= 0 else '-'}{abs(offset) // 3600:02d}:{abs(offset) % 3600 // 60:02d}"
        self._iso_days: dict[int, str] = {}
        # Places.
        self.grid_ids = layout.grid_ids
        self.grid_community = layout.grid_community
        self.grid_names = np.asarray([f"{self.units.name[int(self.units.communities[c])]}第{s:02d}网格"
                                      for c, s in zip(layout.grid_community.tolist(), layout.grid_sequence.tolist(),
                                                      strict=True)], object)
        first_unit = min(self.units.parent)
        self.first_unit = first_unit
        self.unit_paths = [self.units.path.get(pk, "") for pk in range(first_unit, max(self.units.parent) + 1)]
        self.unit_parent = np.zeros(max(self.units.parent) - first_unit + 1, np.int64)
        for pk, parent in self.units.parent.items():
            self.unit_parent[pk - first_unit] = parent or pk
        # People.
        self.operators = np.stack(self.staff.operators)
        self.dispatchers = np.stack(self.staff.dispatchers)
        self.district_leaders = self.staff.district_leaders
        self.first_department = min(self.departments.name)
        size = max(self.departments.name) - self.first_department + 1
        per = max(len(v) for v in self.departments.handlers.values())
        self.handlers = np.full((size, per), NONE, np.int64)
        for department, people in self.departments.handlers.items():
            self.handlers[department - self.first_department, :len(people)] = people
        self.department_names = self.departments.name
        teams = ctx.data.get("grids.teams")
        grids = len(layout.grid_ids)
        self.team = np.full((grids, 3), NONE, np.int64)  # full-time, leader, part-time (first of each)
        if teams is not None:
            for user, grid, position in zip(teams.user_ids.tolist()[::-1], teams.grid_index.tolist()[::-1],
                                            teams.position.tolist()[::-1], strict=True):
                self.team[grid, min(position, 2)] = user
        self.phones = synthetic_phones(rng, 5000)
        # The catalogue as arrays.
        minors = self.routing.minors
        self.minor_ids = np.asarray([m.pk for m in minors], np.int64)
        self.minor_names = np.asarray([m.name for m in minors], object)
        self.minor_urgent = np.asarray([m.urgency == Urgency.URGENT for m in minors])
        self.minor_urgency = np.asarray([m.urgency for m in minors], object)
        self.minor_track = np.asarray([m.track for m in minors], object)
        self.minor_auto = np.asarray([m.auto_dispatch for m in minors])
        self.minor_self_handling = np.asarray([m.self_handling for m in minors])
        rules: list[str] = []
        self.minor_amount = np.zeros(len(minors), np.int64)
        self.minor_unit = np.zeros(len(minors), np.int64)
        self.minor_rule = np.zeros(len(minors), np.int64)
        for k, minor in enumerate(minors):
            limit = clock.step_limit(Event(minor=minor), "handle")
            self.minor_amount[k], self.minor_unit[k] = limit.limit.amount, UNIT_CODES[limit.limit.unit.value]
            self.minor_rule[k] = len(rules)
            rules.append(limit.source[:400])
        self.step_amount = np.ones((len(STEPS), 2), np.int64)
        self.step_unit = np.zeros((len(STEPS), 2), np.int64)
        self.step_rule = np.zeros((len(STEPS), 2), np.int64)
        for s, step in enumerate(STEPS):
            if not step or step == "handle":
                continue
            for urgent in (0, 1):
                limit = clock.step_limit(Event(urgency=Urgency.URGENT if urgent else Urgency.NORMAL), step)
                self.step_amount[s, urgent] = limit.limit.amount
                self.step_unit[s, urgent] = UNIT_CODES[limit.limit.unit.value]
                self.step_rule[s, urgent] = len(rules)
                rules.append(limit.source[:400])
        extra = clock.limit_label(TimeLimit(2, "working_days"))
        extended = [(gettext("%(source)s, extended by %(extra)s") % {"source": r, "extra": extra})[:400] for r in rules]
        self.rule_extended = np.arange(len(rules), len(rules) * 2)
        self.rule_extended = np.concatenate([self.rule_extended, self.rule_extended])  # extended twice: stays
        self.rules = np.asarray(rules + extended, object)
        # Words.
        self.platform = gettext("Platform")
        self.auto_label = gettext("Automatic dispatch")
        self.rater_label = gettext("Reporter (receipt code)")
        self.labels = {Channel.CITIZEN: gettext("Citizen"), Channel.HOTLINE: gettext("12345 hotline")}
        self.escalation_note = gettext("Overdue: escalated by the platform for supervision.")
        self.report_data = {c: f'{{"channel": "{c.value}", "outside_grids": false}}' for c in CHANNELS}
        self.category_data = np.asarray([f'{{"category": "{m.major.code}{m.code}"}}' for m in minors], object)
        self.district_to_data = np.asarray([f'{{"to": "{self.units.name[d]}"}}' for d in self.units.districts.tolist()],
                                           object)
        self.rated_data = np.asarray([f'{{"satisfaction": "{name}", "by": "reporter"}}' for name, _ in SATISFACTION],
                                     object)
        self.callback_data = np.asarray([json.dumps({"contacted": True, "solved": name != "dissatisfied",
                                                     "satisfaction": name}) for name, _ in SATISFACTION], object)
        self.titles = np.asarray([[TITLES[c].format(m.name) + SUFFIX for m in minors] for c in CHANNELS], object)
        self._dispatch_data: dict[tuple, str] = {}
        # Co-handling departments per (class, district), padded with NONE.
        self.co_table = np.full((len(minors), len(self.units.districts), 3), NONE, np.int64)
        for (m, d), departments in self.routing.co.items():
            self.co_table[m, d, :len(departments)] = departments[:3]
        bureaus = self.departments.by_district
        self.city_bureau = np.asarray([b["城管局"] for b in bureaus], np.int64)
        self.housing_bureau = np.asarray([b["住建局"] for b in bureaus], np.int64)
        self.receipt_mul = 0x2545F4914F6CDD1D % (1 << 50) | 1
        self.receipt_add = int(rng.integers(0, 1 << 50))
        self.skeleton: Skeleton | None = None
        self.closed_at: np.ndarray | None = None

    # Lookups on arrays.
    def parent_of(self, units: np.ndarray) -> np.ndarray:
        return self.unit_parent[units - self.first_unit]

    def team_pick(self, grids: np.ndarray, x: np.ndarray) -> np.ndarray:
        """A member of each grid's team: the full-time worker 70 %, the leader 10 %, part-time 20 %."""
        full, leader, part = self.team[grids, 0], self.team[grids, 1], self.team[grids, 2]
        pick = np.where(part >= 0, part, np.where(full >= 0, full, leader))
        pick = np.where((x < 0.8) & (leader >= 0), leader, pick)
        return np.where((x < 0.7) & (full >= 0), full, pick)

    def redispatch_department(self, departments: np.ndarray, districts: np.ndarray) -> np.ndarray:
        """After a return (退单): the district's city-management bureau, or housing if that was it."""
        city = self.city_bureau[districts]
        return np.where(departments == city, self.housing_bureau[districts], city)

    def hotline_operator(self, districts: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return self.dispatchers[districts, positions % self.dispatchers.shape[1]]

    # Words and numbers.
    def dispatch_data(self, department: int, co: tuple) -> str:
        key = (department, co)
        found = self._dispatch_data.get(key)
        if found is None:
            names = ", ".join(f'"{self.department_names[d]}"' for d in co)
            name = self.department_names[department]
            found = self._dispatch_data[key] = f'{{"department": "{name}", "co": [{names}]}}'
        return found

    def iso(self, t: int) -> str:
        """Local ISO time, as ``timezone.localtime(x).isoformat()`` writes it."""
        local = t + self.wc.offset
        day, second = divmod(local, 86400)
        prefix = self._iso_days.get(day)
        if prefix is None:
            prefix = self._iso_days[day] = datetime.date.fromordinal(719163 + day).isoformat() + "T"
        return f"{prefix}{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}{self.tz_suffix}"

    def due_data(self, steps: np.ndarray, due: np.ndarray, above: np.ndarray | None = None) -> np.ndarray:
        if above is None:
            return np.asarray([f'{{"step": "{STEPS[s]}", "due": "{self.iso(d)}"}}'
                               for s, d in zip(steps.tolist(), due.tolist())], object)
        return np.asarray([f'{{"step": "{STEPS[s]}", "due": "{self.iso(d)}", "escalated_to": {a}}}'
                           for s, d, a in zip(steps.tolist(), due.tolist(), above.tolist())], object)

    def absorb_note(self, number: str) -> str:
        return gettext("Duplicate %(number)s merged in.") % {"number": number}

    def request_type(self, k: int) -> str:
        x = (k * 2654435761 % 1000) / 1000
        total = sum(REQUEST_TYPES.values())
        for name, weight in REQUEST_TYPES.items():
            if x < weight / total:
                return name
            x -= weight / total
        return "complaint"

    def number(self, k: int) -> str:
        """``services.event_number``: SJ + the local date reported + the key."""
        pk, created = int(self.skeleton.ids[k]), int(self.skeleton.created[k])
        return f"SJ{self.iso(created)[:10].replace('-', '')}{pk:08d}"

    def numbers(self, positions: np.ndarray) -> list[str]:
        """``number`` for many cases at once."""
        sk = self.skeleton
        days = (sk.created[positions] + self.wc.offset) // 86400
        first = int(days.min())
        dates = np.asarray([datetime.date.fromordinal(719163 + d).strftime("%Y%m%d")
                            for d in range(first, int(days.max()) + 1)], object)[days - first]
        return [f"SJ{d}{pk:08d}" for d, pk in zip(dates.tolist(), sk.ids[positions].tolist(), strict=True)]

    def receipts(self, pks: np.ndarray) -> list[str]:
        """Receipt codes: ten characters of the receipt alphabet, distinct for distinct keys (an affine
        bijection of 50-bit numbers; uint64 arithmetic wraps modulo 2^64, a multiple of 2^50)."""
        mask = np.uint64((1 << 50) - 1)
        x = (pks.astype(np.uint64) * np.uint64(self.receipt_mul) + np.uint64(self.receipt_add)) & mask
        digits = (x[:, None] >> (np.uint64(5) * np.arange(10, dtype=np.uint64))) & np.uint64(31)
        chars = np.asarray(list(RECEIPT_ALPHABET))[digits.astype(np.int64)]
        return np.ascontiguousarray(chars).view("<U10").ravel().tolist()


@seeder("dispatch.events", order=310, activity=True,
        bulk_tables=("dispatch.Event", "dispatch.Transition", "dispatch.Reporter", "dispatch.Assignment",
                     "dispatch.SupervisionOrder", "dispatch.HotlineCall", "governance.ChangeRecord"))
def events(ctx: SeedContext) -> None:
    rng = ctx.rng("dispatch.events")
    sim = Simulation(ctx, rng)
    sim.skeleton = sk = _skeleton(ctx, rng, sim.routing, sim.vc)
    n = len(sk.ids)
    sim.closed_at = np.full(n, NONE, np.int64)
    for start in range(0, n, CHUNK):
        cohort = Cohort(sim, start, min(n, start + CHUNK))
        cohort.live()
        cohort.write()
        if (start // CHUNK) % 10 == 9 or start + CHUNK >= n:
            ctx.log(f"  … {min(n, start + CHUNK):,} of {n:,} cases")
    _calls_without_case(ctx, rng, sim)
    ctx.data["dispatch.events"] = sk


def _calls_without_case(ctx: SeedContext, rng: np.random.Generator, sim: Simulation) -> None:
    """12345 calls answered at once or not taken (with the reason told to the caller)."""
    hotline = CHANNELS.index(Channel.HOTLINE)
    n = int((sim.skeleton.channel == hotline).sum() * 0.2)
    if not n:
        return
    created = _year_of_reports(ctx, rng, np.full(n, hotline), sim.wc.offset)
    operators = sim.hotline_operator(rng.integers(0, len(sim.units.districts), n), np.arange(n))
    answered = rng.random(n) < 0.7
    pick = rng.integers(0, 1000, n).tolist()
    names = [SURNAMES[p % len(SURNAMES)] + ("先生" if p % 2 else "女士") + SUFFIX for p in pick]
    phones = [sim.phones[k % len(sim.phones)] for k in range(n)]
    rows = []
    for k in range(n):
        if answered[k]:
            summary, answer = HOTLINE_ANSWERS[pick[k] % len(HOTLINE_ANSWERS)]
            rows.append(("enquiry", summary + SUFFIX, HotlineCall.Outcome.ANSWERED.value, answer, ""))
        else:
            summary, reason = NOT_TAKEN[pick[k] % len(NOT_TAKEN)]
            rows.append(("help" if reason == "emergency" else "complaint", summary + SUFFIX,
                         HotlineCall.Outcome.NOT_TAKEN.value, "", reason))
    kinds, summaries, outcomes, answers, reasons = (list(c) for c in zip(*rows, strict=True))
    ctx.writer.write_columns(HotlineCall, HOTLINE_FIELDS, [
        ctx.writer.ids(HotlineCall, n), operators, names, phones, kinds, summaries, outcomes, answers, reasons,
        [None] * n, created])
