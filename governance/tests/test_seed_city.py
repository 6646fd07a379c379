"""The synthetic city (manage.py seed_city) at tiny scale: its shape, its scoping, its history and clocks,
its reproducibility and its refusals. Runs on SQLite and PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import random
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from shapely.geometry import Point, shape
from shapely.ops import unary_union

from dispatch import clock
from dispatch.models import Assignment, Event, HotlineCall, Reporter, SupervisionOrder, Transition
from dispatch.routing import route
from dispatch.selectors import events_visible_to
from dispatch.workflow import ACTIONS, OPEN_STATES
from governance import seed
from governance.calendar import deadline_for
from governance.deadlines import LimitUnit, TimeLimit, WorkingCalendar, compute_deadline, share_reached_at
from governance.demo import DEMO_SUFFIX
from governance.models import AdministrativeUnit, ChangeRecord, Department, Parameter, RoleAssignment, UnitLevel, User
from governance.roles import Role
from governance.seed.runner import SeedRefused, digest, registered_steps, run
from governance.seed.workclock import UNIT_CODES, VectorClock, WorkClock, next_working_moment
from grids.models import Grid, GridMembership, Patrol, PatrolPoint, Visit

pytestmark = pytest.mark.django_db

AS_OF = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday morning
FINISHED = {"closed", "evaluated", "invalid", "not_registered"}


def seed_city(**options) -> dict:
    options = {"scale": "tiny", "seed": 1, "as_of": AS_OF, "log": lambda line: None, **options}
    return run(**options)


@pytest.fixture
def city():
    return seed_city()


# --- Shape ------------------------------------------------------------------------------------------


def test_it_builds_every_level_labelled_synthetic(city):
    by_level = Counter(AdministrativeUnit.objects.values_list("level", flat=True))
    assert by_level == {UnitLevel.PROVINCE: 1, UnitLevel.CITY: 1, UnitLevel.COUNTY: 1, UnitLevel.TOWNSHIP: 2,
                        UnitLevel.VILLAGE: 4}
    units = AdministrativeUnit.objects.all()
    assert all(u.is_synthetic and u.name.startswith("合成") and u.code.startswith("99") for u in units)
    assert Grid.objects.count() == 16 and all(g.name.startswith("合成") for g in Grid.objects.all())
    assert Department.objects.count() == 10 + 2 * 2 and all(d.is_synthetic for d in Department.objects.all())
    assert all(u.username.startswith("syn-") for u in User.objects.exclude(username="AnonymousUser"))
    assert all(u.full_name.endswith("（合成）") for u in User.objects.filter(username__startswith="syn-"))
    assert GridMembership.objects.count() == 40
    assert Event.objects.count() == 500 and all(e.title.endswith("（合成）") for e in Event.objects.all())
    assert Patrol.objects.exists() and PatrolPoint.objects.exists() and Visit.objects.exists()
    marker = Parameter.objects.get(key=seed.MARKER_KEY).value
    assert (marker["scale"], marker["seed"], marker["counts"]["dispatch.Event"]) == ("tiny", 1, 500)
    assert city["counts"]["grids.GridMembership"] == 40 and city["total_seconds"] >= 0


def test_grids_tile_their_communities_without_gaps_or_overlaps(city):
    for parent_level, child in [(UnitLevel.VILLAGE, None), (UnitLevel.TOWNSHIP, UnitLevel.VILLAGE),
                                (UnitLevel.COUNTY, UnitLevel.TOWNSHIP)]:
        for unit in AdministrativeUnit.objects.filter(level=parent_level):
            whole = shape(unit.boundary)
            if child is None:
                parts = [shape(g.boundary) for g in Grid.objects.filter(community=unit)]
            else:
                parts = [shape(u.boundary) for u in unit.children.all()]
            union = unary_union(parts)
            assert whole.is_valid and all(p.is_valid for p in parts)
            assert union.area == pytest.approx(whole.area, rel=1e-9)
            assert sum(p.area for p in parts) == pytest.approx(whole.area, rel=1e-9)  # no overlaps
            assert union.symmetric_difference(whole).area < whole.area * 1e-9
    grid = Grid.objects.order_by("code").first()
    assert grid.code == grid.community.code + "01" and grid.area_m2 == pytest.approx(90_000, rel=0.6)
    for event in Event.objects.select_related("grid")[:200]:
        assert shape(event.grid.boundary).intersects(Point(event.lon, event.lat))


# --- Scoping on seeded data --------------------------------------------------------------------------


def test_every_worker_serves_one_grid_and_sees_its_cases(city):
    workers = User.objects.filter(assignments__role__in=[Role.GRID_WORKER, Role.GRID_LEADER])
    assert workers.count() == 40
    for worker in workers:
        membership = GridMembership.objects.get(user=worker, ended_on__isnull=True)
        visible = events_visible_to(worker)
        grid_cases = Event.objects.filter(grid=membership.grid)
        assert set(grid_cases.values_list("pk", flat=True)) <= set(visible.values_list("pk", flat=True))
        assert not visible.exclude(unit=membership.grid.community).exclude(reporter=worker).exists()


def test_a_street_operator_sees_only_the_cases_of_their_street(city):
    streets = list(AdministrativeUnit.objects.filter(level=UnitLevel.TOWNSHIP).order_by("code"))
    for street in streets:
        operator = User.objects.filter(assignments__role=Role.STREET_OPERATOR, assignments__unit=street).first()
        visible = set(events_visible_to(operator).values_list("pk", flat=True))
        expected = set(Event.objects.filter(unit_path__startswith=street.path).values_list("pk", flat=True))
        assert visible == expected and visible
    handler = User.objects.filter(assignments__role=Role.DEPARTMENT_HANDLER,
                                  assignments__department__short_name="城管局").first()
    department = handler.assignments.get().department
    mine = set(events_visible_to(handler).values_list("pk", flat=True))
    assert set(Event.objects.filter(department=department).values_list("pk", flat=True)) <= mine
    assert mine <= set(Event.objects.filter(
        pk__in=Assignment.objects.filter(department=department).values("event")).values_list("pk", flat=True))


# --- History and clocks -------------------------------------------------------------------------------


def consistency_problems(as_of: datetime.datetime) -> Counter:
    """Every case's history, state, version, clock and alert agree with each other, with the
    deadline engine and with the seeding instant."""
    problems: Counter = Counter()
    rows = defaultdict(list)
    for row in Transition.objects.order_by("at", "pk").values_list("event_id", "action", "from_state", "to_state",
                                                                  "at", "followed_up_at"):
        rows[row[0]].append(row)
    for e in Event.objects.select_related("minor__major"):
        history = rows[e.pk]
        if not history or history[0][1] != "report":
            problems["first row"] += 1
        state = None
        for _pk, action, from_state, to_state, at, followed in history:
            if state is not None and from_state != state:
                problems[f"chain at {action}"] += 1
            if at > as_of or followed != at:
                problems["row time"] += 1
            state = to_state
        problems["final state"] += state != e.state
        problems["version"] += e.version != sum(1 for r in history if r[1] in ACTIONS)
        step = "" if (e.state == "closed" and e.self_handled) else clock.STEP_OF_STATE.get(e.state, "")
        problems["step"] += e.step != step
        if e.step:
            if e.step_rule == f"{e.minor.full_code} {e.minor.name}" or e.step_rule.startswith("dispatch.limit"):
                if e.paused_at is None and not any(r[1] == "resume" for r in history):
                    limit = TimeLimit(e.step_limit_amount, e.step_limit_unit)
                    problems["due vs engine"] += deadline_for(e.step_started_at, limit).due != e.step_due_at
            if e.state not in ("suspended", "backlog"):
                problems["red not due"] += e.alert == 2 and not e.step_due_at < as_of
                problems["due not red"] += e.step_due_at < as_of - datetime.timedelta(minutes=2) and e.alert != 2
                problems["yellow"] += e.alert == 1 and not (e.step_yellow_at <= as_of <= e.step_due_at)
            problems["escalated"] += (e.alert == 2) != (e.escalated_at is not None)
        else:
            problems["clock without step"] += bool(e.alert or e.step_due_at)
        problems["closed_at"] += (e.state in FINISHED) != (e.closed_at is not None)
    return +problems


def test_history_states_and_clocks_agree(city):
    assert consistency_problems(AS_OF) == Counter()
    # Department assignments follow the case: the current lead department holds an open one.
    open_leads = dict(Assignment.objects.filter(role="lead", status__in=["pending", "signed", "done"])
                      .values_list("event_id", "department_id"))
    for pk, department in Event.objects.exclude(department=None).values_list("pk", "department_id"):
        assert open_leads.get(pk) == department
    # Cases go where dispatch.routing.route sends them (unless a department sent one back).
    returned = set(Transition.objects.filter(action="return").values_list("event_id", flat=True))
    for event in Event.objects.exclude(department=None).select_related("minor__major", "unit"):
        if event.pk not in returned:
            assert route(event.minor, event.unit).pk == event.department_id
    hotline = Event.objects.filter(channel="hotline")
    assert HotlineCall.objects.filter(event__in=hotline).count() == hotline.count()
    # Each escalation order is the sweep's, for a due instant the history marks overdue.
    overdue = Transition.objects.filter(action="overdue").count()
    assert SupervisionOrder.objects.filter(kind="escalation").count() == overdue > 0


def test_most_cases_are_closed_some_open_in_many_states_some_overdue():
    seed_city(events=3000)
    states = Counter(Event.objects.values_list("state", flat=True))
    finished = states["closed"] + states["evaluated"]
    assert finished / 3000 > 0.75
    open_states = {s for s in states if s in OPEN_STATES}
    assert len(open_states) >= 9, open_states
    red = Event.objects.filter(alert=2)
    assert red.exists() and not red.filter(step_due_at__gte=AS_OF).exists()
    assert not red.filter(escalated_at__isnull=True).exists()
    channels = Counter(Event.objects.values_list("channel", flat=True))
    assert channels.most_common(2)[0][0] == "grid" and channels.most_common(2)[1][0] == "hotline"
    categories = Counter(Event.objects.values_list("minor__name", flat=True)).most_common()
    assert categories[0][0] == "暴露垃圾" and sum(n for _c, n in categories[:5]) > 3000 * 0.35
    weekday = Counter(e.created_at.astimezone(AS_OF.tzinfo).weekday() for e in Event.objects.all())
    assert weekday[2] > weekday[6]  # quieter Sundays
    assert consistency_problems(AS_OF) == Counter()


def test_old_finished_cases_can_keep_only_report_and_final_rows(monkeypatch):
    monkeypatch.setitem(seed.SCALES, "tiny", dataclasses.replace(seed.SCALES["tiny"], full_history_days=60))
    seed_city(events=1000)
    cutoff = AS_OF - datetime.timedelta(days=60)
    short = 0
    for e in Event.objects.filter(created_at__lt=cutoff, state__in=FINISHED):
        actions = list(e.history.order_by("at", "pk").values_list("action", "to_state"))
        assert actions[0][0] == "report" and actions[-1][1] == e.state
        short += len(actions) == 2
    assert short > 0
    recent = Event.objects.filter(created_at__gte=cutoff, state="evaluated").first()
    assert recent.history.count() >= 8


def test_the_sync_journal_has_one_record_per_case(city):
    journal = ChangeRecord.objects.filter(model="dispatch.event")
    assert journal.count() == Event.objects.count()
    places = {e.pk: (e.unit_path, e.owner_path, e.department_id) for e in Event.objects.all()}
    for record in journal:
        assert (record.unit_path, record.owner_path, record.department_id) == places[record.object_id]
    assert Reporter.objects.filter(source_event_id__in=places).count() == len(places)


# --- Reproducible, refused where it must be ----------------------------------------------------------


def _digest_of(**options) -> str:
    with transaction.atomic():
        seed_city(**options)
        value = digest()
        transaction.set_rollback(True)
    return value


def test_the_same_seed_gives_the_same_rows_and_another_seed_others():
    first = _digest_of(seed=7)
    assert not Event.objects.exists()
    assert _digest_of(seed=7) == first
    assert _digest_of(seed=8) != first


def test_it_refuses_a_database_holding_other_data():
    User.objects.create_user("alice", password="correct-horse-battery")
    with pytest.raises(CommandError, match="--yes"):
        call_command("seed_city", "--scale", "tiny", "--seed", "1")
    assert not Event.objects.exists()
    call_command("seed_city", "--scale", "tiny", "--seed", "1", "--events", "50", "--yes", stdout=io.StringIO())
    assert Event.objects.count() == 50
    with pytest.raises(SeedRefused, match="already holds a synthetic city"):
        seed_city()


def test_it_never_mixes_with_the_demo():
    Department.objects.create(name="区城管局" + DEMO_SUFFIX, unit=AdministrativeUnit.objects.create(
        code="610104000000", name="莲湖区", level=UnitLevel.COUNTY), is_synthetic=True)
    with pytest.raises(CommandError, match="demo"):
        call_command("seed_city", "--scale", "tiny", "--yes")


def test_workers_only_builds_people_and_grids_without_activity(capsys):
    call_command("seed_city", "--scale", "tiny", "--workers-only", "--as-of", "2026-03-02T10:00")
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["workers_only"] and report["counts"]["grids.GridMembership"] == 40
    assert not Event.objects.exists() and not Patrol.objects.exists()
    assert RoleAssignment.objects.filter(role=Role.GRID_WORKER).exists()


def test_later_apps_add_their_own_step(monkeypatch):
    """A step registered by another app runs in its order with the city so far and its own randomness."""
    seen = {}

    def step(ctx):
        seen["communities"] = len(ctx.data["governance.units"].communities)
        seen["draw"] = float(ctx.rng("tests.step").random())
        ctx.writer.write(Parameter, ["id", "key", "value", "updated_at"],
                         [(ctx.writer.next_id(Parameter), "tests.seeded", "1", ctx.as_of)])

    monkeypatch.setitem(seed._STEPS, "tests.step", seed.Step("tests.step", 999, step, activity=True))
    draws = []
    for _ in range(2):
        with transaction.atomic():
            report = seed_city()
            assert registered_steps()[-1].name == "tests.step" and "tests.step" in report["seconds"]
            assert seen["communities"] == 4 and Parameter.objects.filter(key="tests.seeded").exists()
            draws.append(seen["draw"])
            transaction.set_rollback(True)
    assert draws[0] == draws[1]  # the step's own stream: the same seed gives it the same draws


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lifting indexes is PostgreSQL's bulk path")
def test_lifted_indexes_and_foreign_keys_come_back_the_same():
    def schema():
        with connection.cursor() as cursor:
            cursor.execute("""SELECT indexdef FROM pg_indexes WHERE tablename LIKE ANY (ARRAY['dispatch_%', 'grids_%',
                                     'governance_changerecord']) ORDER BY 1""")
            indexes = cursor.fetchall()
            cursor.execute("""SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated
                              FROM pg_constraint WHERE contype = 'f' ORDER BY 1, 2""")
            return indexes, cursor.fetchall()

    before = schema()
    seed_city(bulk=True)
    assert schema() == before
    assert consistency_problems(AS_OF) == Counter()


# --- The clock used for seeding is the deadline engine's ------------------------------------------


def test_the_seeding_clock_gives_the_engines_instants():
    calendar = WorkingCalendar(holidays=frozenset({datetime.date(2026, 5, 1), datetime.date(2026, 5, 4)}),
                               makeup_workdays=frozenset({datetime.date(2026, 4, 26)}))
    scalar = WorkClock(calendar, datetime.date(2025, 12, 1), datetime.date(2027, 1, 1))
    vector = VectorClock(scalar)
    rng = random.Random(3)
    base = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp())
    starts = np.array([base + rng.randrange(0, 250 * 86400) for _ in range(3000)])
    units = np.array([rng.randrange(5) for _ in starts])
    amounts = np.array([rng.choice([1, 2, 4, 12, 30]) for _ in starts])
    due = vector.due(starts, amounts, units)
    yellow = vector.yellow(starts, due, units, 0.8)
    names = list(UNIT_CODES)
    for k in range(len(starts)):
        start = datetime.datetime.fromtimestamp(int(starts[k]), tz=datetime.UTC)
        limit = TimeLimit(int(amounts[k]), names[units[k]])
        engine = compute_deadline(start, limit, calendar).due
        assert engine.timestamp() == due[k] == scalar.due(int(starts[k]), int(amounts[k]), names[units[k]])
        warn = share_reached_at(start, engine, LimitUnit(names[units[k]]), 0.8, calendar).timestamp()
        assert 0 <= yellow[k] - warn < 1
        nxt = next_working_moment(scalar, int(starts[k]))
        assert nxt == vector.next_working_moment(starts[k:k + 1])[0]
        assert nxt >= starts[k] and (nxt == starts[k] or calendar.is_working_day(
            datetime.datetime.fromtimestamp(nxt, tz=calendar.tz).date()))
