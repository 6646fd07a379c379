"""Demo dispatch data for the labelled demo district (``manage.py load_demo``).

Gives the shipped catalogue lead and co-handling departments among the demo district's departments,
adds routing rules (street order to each street's 城管执法中队, public-security hazards to each
street's police station), and files a few dozen demo cases through ``dispatch.services`` — the
same calls the pages make — leaving them in every state of the loop. Titles and descriptions end
with ``DEMO_SUFFIX``. Loading twice changes nothing: each case carries the idempotency key
``demo:<n>`` and is skipped when it exists; classes that already have a lead department are left.

Only the demo handler of 区城管局 exists, so cases led by other departments stop at "dispatched".
Demo cases have no photos.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from shapely.geometry import shape

from dispatch import services
from dispatch.models import (
    Assignment,
    Channel,
    Event,
    HotlineCall,
    MajorClass,
    MinorClass,
    Reporter,
    RequestType,
    RoutingRule,
    SupervisionOrder,
    Transition,
)
from governance.demo import DEMO_SUFFIX
from grids.models import Grid

# --- Departments for the catalogue ---------------------------------------------------------------

# (kind, major code) or (kind, major code, minor code) → (lead, co-handlers), by the demo district's
# short department names. A minor-class entry wins over its major class; a class found in neither
# keeps no lead department (the operator chooses), like 其他政策咨询.
CLASS_DEPARTMENTS: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {
    ("event", "01"): ("城管局", ()),
    ("event", "01", "01"): ("城管局", ("住建局",)),  # 私搭乱建
    ("event", "01", "03"): ("城管局", ("住建局",)),  # 建筑垃圾渣土
    ("event", "01", "09"): ("城管局", ("住建局",)),  # 道路遗撒
    ("event", "02"): ("城管局", ()),
    ("event", "02", "03"): ("城管局", ("市场监管局",)),  # 违规户外广告
    ("event", "03"): ("住建局", ("城管局",)),
    ("event", "03", "04"): ("住建局", ("环保分局",)),  # 工地扬尘
    ("event", "04"): ("应急局", ()),
    ("event", "04", "01"): ("住建局", ("应急局",)),  # 路面塌陷
    ("event", "04", "02"): ("供水公司", ()),  # 供水管道破裂
    ("event", "04", "03"): ("应急局", ("住建局", "公安分局")),  # 燃气泄漏
    ("event", "04", "04"): ("住建局", ()),  # 下水道堵塞冒溢
    ("event", "04", "05"): ("住建局", ("应急局",)),  # 道路积水
    ("event", "04", "06"): ("应急局", ("公安分局",)),  # 火灾
    ("event", "04", "07"): ("城管局", ("应急局",)),  # 树木倒伏
    ("event", "04", "08"): ("市场监管局", ("应急局",)),  # 电梯困人 (special equipment)
    ("event", "05"): ("城管局", ()),
    ("event", "05", "05"): ("城管局", ("公安分局",)),  # 机动车乱停放
    ("event", "06"): ("城管局", ()),
    ("event", "06", "01"): ("公安分局", ()),  # 违规饲养犬只
    ("component", "01"): ("住建局", ()),
    ("component", "01", "04"): ("城管局", ()),  # 路灯损坏
    ("component", "01", "05"): ("供水公司", ("应急局",)),  # 消火栓损坏
    ("component", "02"): ("住建局", ()),
    ("component", "02", "03"): ("公安分局", ()),  # 交通标志损坏
    ("component", "02", "04"): ("公安分局", ()),  # 交通信号灯故障
    ("component", "03"): ("城管局", ()),
    ("component", "04"): ("城管局", ()),
    ("component", "05"): ("住建局", ("应急局",)),
    ("component", "06"): ("城管局", ()),
    ("component", "06", "02"): ("公安分局", ()),  # 监控设施损坏
    ("governance", "01"): ("司法局", ()),
    ("governance", "02"): ("公安分局", ()),
    ("governance", "03"): ("应急局", ()),
    ("governance", "03", "01"): ("应急局", ("公安分局",)),  # 消防通道堵塞
    ("governance", "04"): ("环保分局", ()),
    ("governance", "05"): ("民政局", ()),
    ("governance", "05", "04"): ("供水公司", ("住建局",)),  # 停水停电停气
    ("governance", "06"): ("城管局", ()),
    ("governance", "06", "02"): ("城管局", ("住建局",)),  # 小区违建
    ("governance", "07", "01"): ("民政局", ()),  # 社保医保咨询
    ("governance", "07", "02"): ("公安分局", ()),  # 户籍证照咨询
}
# Dispatched automatically to the routed department as soon as they are reported.
AUTO_DISPATCH = {("event", "04", "02")}  # 供水管道破裂 → 供水公司


def demo_catalogue_departments(context) -> None:
    """Lead and co-handling departments for the classes that have none yet."""
    departments = context.departments
    for minor in MinorClass.objects.filter(lead_department__isnull=True).select_related("major"):
        key = (minor.major.kind, minor.major.code, minor.code)
        found = CLASS_DEPARTMENTS.get(key) or CLASS_DEPARTMENTS.get(key[:2])
        if found is None:
            continue
        lead, co = found
        minor.lead_department = departments[lead]
        minor.auto_dispatch = key in AUTO_DISPATCH
        minor.save(update_fields=["lead_department", "auto_dispatch"])
        minor.co_departments.add(*(departments[name] for name in co))


def demo_routing_rules(context) -> None:
    """Within each street: street order (05 街面秩序) to its 城管执法中队, public-security hazards
    (治安隐患) to its police station. Deeper than the district, so they beat the lead departments."""
    street_order = MajorClass.objects.filter(kind="event", code="05").first()
    security = MajorClass.objects.filter(kind="governance", code="02").first()
    for street in context.district.children.order_by("code"):
        for major, key, note in [
            (street_order, f"{street.code}:office", "街面秩序由街道城管执法中队办理"),
            (security, f"{street.code}:police", "治安隐患由属地派出所办理"),
        ]:
            department = context.departments.get(key)
            if major is None or department is None:
                continue
            RoutingRule.objects.get_or_create(
                unit=street, major=major, minor=None, department=department, defaults={"note": note + DEMO_SUFFIX}
            )


# --- Demo cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    n: int
    channel: str  # grid (the demo grid worker), citizen, hotline
    category: tuple[str, str, str] | None  # (kind, major code, minor code)
    title: str
    description: str
    grid: int  # index into the street's demo grids; 0..3 are the grid worker's community
    spot: tuple[float, float]  # where in the grid's box (west→east, south→north), 0..1
    steps: tuple = ()  # what happens after the report: "accept", ("handle", "note"), "@clock", …
    age_days: int = 0  # finished cases: how long ago it all happened
    clock: str = ""  # "overdue" / "yellow": the current step's clock is moved (see _backdate)
    overdue_by_hours: float = 20
    contact: tuple[str, str] = ("", "")
    request_type: str = ""
    hotline_outcome: str = ""  # for a call that is not a case: "answered" / "not_taken"
    answer: str = ""
    not_taken_reason: str = ""


FULL = ("accept", "register", "dispatch", "sign", "start", ("handle", "已安排人员处置完毕，现场已恢复。"))
CLOSED = (*FULL, "verify")

CASES: list[Case] = [
    Case(1, "grid", ("event", "01", "02"), "莲湖路12号门前垃圾堆放", "人行道旁堆有生活垃圾约两立方米，有异味。", 0,
         (0.3, 0.6), (*CLOSED, ("callback", "satisfied")), age_days=15),
    Case(2, "grid", ("event", "01", "04"), "青年路南侧人行道脏乱", "人行道落叶、纸屑较多，未及时清扫。", 1,
         (0.5, 0.5), (*CLOSED, ("callback", "basically")), age_days=8),
    Case(3, "grid", ("event", "01", "06"), "习武园巷口垃圾桶满溢", "巷口两个垃圾桶已满，垃圾散落地面。", 0,
         (0.7, 0.3), CLOSED),
    Case(4, "grid", ("event", "01", "01"), "莲湖路小区东墙外私搭彩钢棚", "居民在小区东墙外公共绿地上搭建彩钢棚约二十平方米，正在施工。",
         0, (0.2, 0.2), ("accept", "register", "dispatch", "sign", "start"), clock="overdue"),
    Case(5, "grid", ("component", "01", "04"), "莲湖路中段路灯不亮", "莲湖路中段连续三盏路灯夜间不亮。", 2,
         (0.5, 0.8), (*FULL[:-1], ("handle", "已更换灯具，三盏路灯恢复照明。"))),
    Case(6, "grid", ("event", "05", "04"), "商铺门前乱堆建材", "某商铺门前人行道堆放装修建材，影响通行。", 0,
         (0.6, 0.7), ("accept", "register", "dispatch"), clock="overdue", overdue_by_hours=3),
    Case(7, "grid", ("component", "01", "01"), "青年路十字东北角井盖缺失", "机动车道旁雨水井盖缺失，已放置临时警示。", 1,
         (0.8, 0.8), ("accept", "register", "dispatch")),
    Case(8, "grid", ("component", "04", "04"), "行道树枝叶遮挡交通标志", "行道树枝叶遮挡限速标志，需修剪。", 3, (0.4, 0.4)),
    Case(9, "grid", ("component", "04", "01"), "街心绿地被踩踏形成小路", "街心绿地被行人踩踏出约十米长的土路。", 0,
         (0.8, 0.5), ("accept",)),
    Case(10, "grid", ("component", "03", "01"), "小区门口果皮箱破损", "果皮箱侧板脱落，无法正常使用。", 2, (0.3, 0.3),
         ("accept", "register", "dispatch", ("return", "该果皮箱属小区物业所有，请转交物业处理。"))),
    Case(11, "grid", ("event", "02", "03"), "临街楼顶擅自设置大型广告牌", "临街三层楼顶新设大型广告牌，未见审批手续。", 1,
         (0.2, 0.7), ("accept", "register", "dispatch", "sign", "start",
                      ("suspend", "已下达限期拆除通知书，待期限届满后复查。"))),
    Case(12, "grid", ("event", "01", "08"), "巷内长期停放废弃面包车", "一辆无牌面包车在巷内停放半年以上，车身破损积灰。", 3,
         (0.6, 0.2), ("accept", "register", "dispatch", "sign", "start",
                      ("backlog", "车主无法联系，已张贴公告，公告期满后依法处置。")), age_days=10),
    Case(13, "grid", ("event", "01", "09"), "渣土车驶过后路面遗撒泥土", "路口约三十米路面遗撒泥土，雨后泥泞。", 0,
         (0.4, 0.8), ("accept", "register", "dispatch", "sign", "start"), clock="yellow"),
    Case(14, "grid", ("event", "01", "02"), "背街小巷垃圾堆积", "小巷尽头堆积生活垃圾和废旧家具。", 2, (0.7, 0.6),
         ("accept", "register", "dispatch", "sign")),
    Case(15, "grid", ("event", "01", "01"), "沿街商铺违规加建二层", "沿街商铺在原有屋顶加建二层，已责令停工但仍在施工。", 1,
         (0.3, 0.4), ("accept", "register", "dispatch", "sign", "start", "@clock",
                      ("supervise", "超期未办结，请于两个工作日内停工整改并报告结果。"),
                      ("list", "群众反映强烈，挂牌督办。")), clock="overdue", overdue_by_hours=44),
    Case(16, "grid", ("event", "01", "02"), "菜市场后门垃圾堆放", "菜市场后门堆放菜叶和包装垃圾。", 3, (0.5, 0.6),
         (*FULL, ("rework", "垃圾已清走，但地面污水未冲洗，异味仍在。"))),
    Case(17, "grid", ("governance", "03", "01"), "小区消防通道被车辆长期占用", "小区主消防通道被多辆私家车长期停放占用。", 0,
         (0.5, 0.3), ("accept", "register", "dispatch", ("summon", "吹哨：消防通道长期被占，请城管中队、派出所到场联合处置。"))),
    Case(18, "grid", ("governance", "05", "02"), "独居老人家中暖气不热", "3号楼独居老人反映家中暖气不热，行动不便。", 2,
         (0.2, 0.5), ("accept", "register", "dispatch")),
    Case(19, "grid", ("governance", "01", "01"), "楼上漏水引发邻里矛盾", "4号楼上下两户因卫生间漏水多次争吵。", 0,
         (0.6, 0.5), ("accept", "register", "dispatch")),
    Case(20, "grid", ("event", "01", "04"), "主干道路面油污需专业清洗", "主干道路面大面积油污，街道无专用设备。", 1,
         (0.7, 0.2), ("accept", ("escalate", "需区环卫专业车辆清洗，请区级协调。"))),
    Case(21, "grid", ("event", "05", "06"), "地铁口共享单车堆积", "地铁口共享单车大量堆积，占用盲道。", 3, (0.3, 0.7),
         ("accept", "register")),
    Case(22, "citizen", ("event", "01", "01"), "小区东墙外有人搭棚子", "东墙外绿地上有人在搭彩钢棚。", 0, (0.21, 0.21),
         (("merge", 4),), contact=("王先生" + DEMO_SUFFIX, "13800001001")),
    Case(23, "citizen", ("event", "02", "03"), "楼顶广告牌是否违规", "楼顶新装了一块广告牌，不知道有没有审批。", 5, (0.5, 0.5),
         (("reject", "经核实，该广告牌已依法审批设置，不属违规。"),), contact=("李女士" + DEMO_SUFFIX, "13800001002")),
    Case(24, "citizen", ("component", "02", "01"), "西北一路路面坑洼", "西北一路非机动车道有多处坑洼，骑车危险。", 6,
         (0.5, 0.4), ("accept", "register"), contact=("赵先生" + DEMO_SUFFIX, "13800001003")),
    Case(25, "citizen", ("event", "03", "01"), "工地施工噪音大", "旁边工地白天施工噪音很大，影响老人休息。", 7, (0.6, 0.6),
         ("accept", "register", "dispatch"), contact=("孙女士" + DEMO_SUFFIX, "13800001004")),
    Case(26, "citizen", ("event", "01", "06"), "公交站旁垃圾桶满了", "公交站旁垃圾桶满了好几天没人清。", 5, (0.4, 0.6),
         (*CLOSED, ("rate", "satisfied", "处理很及时，谢谢！")), age_days=5,
         contact=("周先生" + DEMO_SUFFIX, "13800001005")),
    Case(27, "citizen", ("governance", "04", "01"), "夜间有刺鼻气味", "最近几天晚上闻到刺鼻的化学气味。", 8, (0.5, 0.5),
         contact=("吴女士" + DEMO_SUFFIX, "13800001006")),
    Case(28, "hotline", ("event", "03", "02"), "工地深夜施工扰民", "来电反映附近工地夜间十一点后仍在打桩。", 6, (0.3, 0.5),
         ("accept", "register", "dispatch"), contact=("郑先生" + DEMO_SUFFIX, "13800001007"),
         request_type=RequestType.COMPLAINT),
    Case(29, "hotline", ("event", "01", "02"), "小区门口垃圾清运不及时", "来电反映小区门口垃圾每天下午才清运，上午堆积。", 7,
         (0.7, 0.4), (*CLOSED, ("callback", "dissatisfied"), "@clock",
                      ("reopen", "来电人不满意：垃圾清运时间未调整，重新办理。")), age_days=6,
         contact=("钱女士" + DEMO_SUFFIX, "13800001008"), request_type=RequestType.COMPLAINT),
    Case(30, "hotline", ("component", "01", "04"), "小区外路灯杆倾斜", "来电反映路灯杆被车撞后倾斜，灯不亮。", 4, (0.4, 0.3),
         ("accept", "register", "dispatch", "sign", "start",
          ("request_extension", "需更换灯杆，备件调货约需两个工作日。")),
         contact=("冯先生" + DEMO_SUFFIX, "13800001009"), request_type=RequestType.HELP),
    Case(31, "hotline", None, "咨询居住证办理材料", "来电咨询居住证需要准备哪些材料。", 0, (0.5, 0.5),
         contact=("陈女士" + DEMO_SUFFIX, "13800001010"), request_type=RequestType.ENQUIRY, hotline_outcome="answered",
         answer="已告知：身份证、居住证明（租房合同或房产证）及近期照片，到社区或派出所办理。"),
    Case(32, "hotline", None, "来电称家中厨房起火", "来电称家中厨房起火，情况紧急。", 0, (0.5, 0.5),
         contact=("褚先生" + DEMO_SUFFIX, "13800001011"), request_type=RequestType.HELP, hotline_outcome="not_taken",
         not_taken_reason=HotlineCall.NotTakenReason.EMERGENCY),
    Case(33, "hotline", ("governance", "01", "03"), "物业费纠纷", "来电反映物业擅自上调物业费，与物业多次协商未果。", 5,
         (0.5, 0.7), ("accept", "register"), contact=("卫女士" + DEMO_SUFFIX, "13800001012"),
         request_type=RequestType.COMPLAINT),
]


def demo_key(case: Case) -> str:
    return f"demo:{case.n}"


class Cast:
    """The demo people playing their parts in the loop."""

    def __init__(self, context):
        self.context = context
        users = context.users
        self.worker, self.operator, self.dispatcher = users["gridworker"], users["operator"], users["dispatcher"]
        self.handler, self.leader = users["handler"], users["leader"]

    def centre(self, event: Event):
        """The command centre running the case: the street operator, or the district dispatcher above it."""
        return self.operator if event.owner_path.startswith(self.context.street.path) else self.dispatcher

    def verifier(self, event: Event):
        return self.worker if event.verifier_id == self.worker.pk else self.centre(event)


def _point(grid: Grid, spot: tuple[float, float]) -> tuple[float, float]:
    minx, miny, maxx, maxy = shape(grid.boundary).bounds
    return round(minx + spot[0] * (maxx - minx), 7), round(miny + spot[1] * (maxy - miny), 7)


def _minor(category) -> MinorClass | None:
    if category is None:
        return None
    kind, major, minor = category
    return MinorClass.objects.filter(major__kind=kind, major__code=major, code=minor).first()


def _report(case: Case, cast: Cast, grids: list[Grid]) -> Event | None:
    title, description = case.title + DEMO_SUFFIX, case.description + DEMO_SUFFIX
    lon, lat = _point(grids[case.grid % len(grids)], case.spot)
    minor = _minor(case.category)
    if case.channel == "hotline":
        call = services.hotline_call_record(
            operator=cast.dispatcher, caller_name=case.contact[0], caller_phone=case.contact[1],
            request_type=case.request_type, summary=f"{title}\n{description}",
            outcome=case.hotline_outcome or HotlineCall.Outcome.CASE, answer=case.answer,
            not_taken_reason=case.not_taken_reason, minor=minor, lon=lon, lat=lat, idempotency_key=demo_key(case),
        )
        return call.event
    if case.channel == "citizen":
        event, _created = services.event_report(
            channel=Channel.CITIZEN, title=title, description=description, minor=minor, lon=lon, lat=lat,
            contact_name=case.contact[0], contact_phone=case.contact[1], idempotency_key=demo_key(case),
            actor_label=gettext("Citizen"),
        )
        return event
    event, _created = services.event_report(
        channel=Channel.GRID, title=title, description=description, minor=minor, lon=lon, lat=lat,
        reporter=cast.worker, idempotency_key=demo_key(case),
    )
    return event


def _step(event: Event, step, cast: Cast, context, by_number: dict[int, int]) -> Event:
    name, *args = (step,) if isinstance(step, str) else step
    centre = cast.centre(event)
    if name == "accept":
        return services.event_accept(event=event, actor=centre)
    if name == "register":
        return services.event_register(event=event, actor=centre)
    if name == "dispatch":
        co = list(event.minor.co_departments.all()) if event.minor else []
        return services.event_dispatch(event=event, actor=centre, co_departments=co)
    if name == "reject":
        return services.event_reject(event=event, actor=centre, note=args[0])
    if name == "merge":
        into = Event.objects.get(pk=by_number[args[0]])
        return services.event_merge(event=event, into=into, actor=centre,
                                    note="同一处私搭乱建，合并办理。")
    if name == "escalate":
        return services.event_escalate(event=event, actor=centre, note=args[0])
    if name == "summon":
        street = event.owner_unit
        called = [context.departments[f"{street.code}:office"], context.departments[f"{street.code}:police"]]
        return services.event_summon(event=event, actor=centre, departments=called, note=args[0])
    if name == "sign":
        return services.event_sign(event=event, actor=cast.handler)
    if name == "start":
        return services.event_start(event=event, actor=cast.handler)
    if name == "return":
        return services.event_return(event=event, actor=cast.handler, note=args[0])
    if name == "suspend":
        return services.event_suspend(event=event, actor=cast.handler, note=args[0])
    if name == "request_extension":
        return services.event_request_extension(event=event, actor=cast.handler, amount=2, unit="working_days",
                                                note=args[0])
    if name == "handle":
        return services.event_handle(event=event, actor=cast.handler, note=args[0])
    if name == "backlog":
        return services.event_backlog(event=event, actor=centre, note=args[0])
    if name == "verify":
        return services.event_verify(event=event, actor=cast.verifier(event), passed=True, note="现场核查，已处置到位。")
    if name == "rework":
        return services.event_verify(event=event, actor=cast.verifier(event), passed=False, note=args[0])
    if name == "callback":
        satisfied = args[0] != "dissatisfied"
        return services.event_callback(event=event, actor=centre, contacted=True, solved=satisfied,
                                       satisfaction=args[0])
    if name == "rate":
        return services.event_rate_by_citizen(event=event, satisfaction=args[0], comment=args[1])
    if name == "reopen":
        return services.event_reopen(event=event, actor=centre, note=args[0])
    if name == "supervise":
        services.event_supervise(event=event, actor=cast.leader, note=args[0], amount=2, unit="working_days")
        return Event.objects.get(pk=event.pk)
    if name == "list":
        return services.event_list_supervision(event=event, actor=cast.leader, listed=True, note=args[0])
    raise ValueError(f"unknown demo step {name!r}")


EVENT_TIMES = ["created_at", "dispatched_at", "handled_at", "closed_at", "step_started_at", "step_yellow_at",
               "step_due_at", "handling_due_at", "paused_at", "escalated_at"]


def _backdate(event: Event, delta: datetime.timedelta) -> Event:
    """DEMO ONLY: move every time of the case ``delta`` into the past, as if it had all happened then.

    The services stamp everything with the present; a demo needs cases reported days ago and some
    overdue. Shifting the case, its history, assignments, reporters, supervision and call together
    keeps each clock consistent (the same limits, started and due earlier). Audit rows keep the real
    time the demo was loaded. The next deadline sweep marks the overdue ones, as for real cases.
    """
    if not delta:
        return event
    Event.objects.filter(pk=event.pk).update(
        number=services.event_number(event.pk, event.created_at - delta),
        **{name: F(name) - delta for name in EVENT_TIMES},
    )
    Transition.objects.filter(event=event).update(at=F("at") - delta)
    Assignment.objects.filter(event=event).update(assigned_at=F("assigned_at") - delta,
                                                  sign_due_at=F("sign_due_at") - delta,
                                                  signed_at=F("signed_at") - delta)
    Reporter.objects.filter(source_event=event).update(reported_at=F("reported_at") - delta)
    SupervisionOrder.objects.filter(event=event).update(issued_at=F("issued_at") - delta, due_at=F("due_at") - delta)
    HotlineCall.objects.filter(event=event).update(created_at=F("created_at") - delta)
    return Event.objects.get(pk=event.pk)


def _clock_delta(case: Case, event: Event, now: datetime.datetime) -> datetime.timedelta:
    if case.clock == "overdue" and event.step_due_at:
        # Due ``overdue_by_hours`` ago.
        return event.step_due_at - now + datetime.timedelta(hours=case.overdue_by_hours)
    if case.clock == "yellow" and event.step_yellow_at and event.step_due_at:
        # Half-way between the yellow warning and the deadline.
        return (event.step_yellow_at - now) + (event.step_due_at - event.step_yellow_at) / 2
    return datetime.timedelta(days=case.age_days)


def demo_cases(context) -> int:
    """File the demo cases that do not exist yet; returns how many were filed."""
    grids = list(Grid.objects.filter(community__parent=context.street).order_by("community__code", "sequence"))
    if not grids:
        return 0
    cast = Cast(context)
    by_key = dict(Event.objects.filter(idempotency_key__startswith="demo:").values_list("idempotency_key", "pk"))
    by_number = {case.n: by_key[demo_key(case)] for case in CASES if demo_key(case) in by_key}
    filed = 0
    for case in CASES:
        if demo_key(case) in by_key or (case.hotline_outcome and _call_recorded(case)):
            continue
        with transaction.atomic():
            event = _report(case, cast, grids)
            filed += 1
            if event is None:
                continue
            by_number[case.n] = event.pk
            steps = list(case.steps)
            if "@clock" not in steps:
                steps.append("@clock")
            for step in steps:
                if step == "@clock":
                    event = _backdate(event, _clock_delta(case, event, timezone.now()))
                    continue
                event = _step(event, step, cast, context, by_number)
    return filed


def _call_recorded(case: Case) -> bool:
    """A demo call that made no case: recorded already (the hotline service keys it in the audit trail)."""
    from governance.models import AuditEntry

    return AuditEntry.objects.filter(action="dispatch.hotline.recorded", data__idempotency_key=demo_key(case)).exists()


def load(context) -> None:
    demo_catalogue_departments(context)
    demo_routing_rules(context)
    demo_cases(context)
