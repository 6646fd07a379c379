"""Incremental sync: a client mirroring cases through events/changes/ ends identical to the server,
whatever happens meanwhile — changes, merges, deletions, cases leaving its jurisdiction, and
transactions that commit out of order."""

from __future__ import annotations

import random
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

from dispatch import services
from dispatch.api.serializers import EventListOutputSerializer
from dispatch.journal import journal_events
from dispatch.models import Channel, Event
from dispatch.selectors import events_visible_to

CHANGES = "/api/v1/dispatch/events/changes/"


def report(loop, title="垃圾堆") -> Event:
    lon, lat = loop.inside
    event, _ = services.event_report(channel=Channel.GRID, title=title, minor=loop.rubbish, lon=lon, lat=lat,
                                     reporter=loop.worker)
    return event


class Mirror:
    """What a client keeps: cases by id, and the cursor of its last answer."""

    def __init__(self, api, page_size: int = 7):
        self.api, self.page_size = api, page_size
        self.cases: dict[int, dict] = {}
        self.cursor: str | None = None
        self.pages: list[list[int]] = []  # the ids of each answer

    def pull(self) -> int:
        """Ask until the feed has nothing more right now; returns how many entries were applied."""
        applied = 0
        while True:
            params = {"limit": self.page_size, **({"cursor": self.cursor} if self.cursor else {})}
            response = self.api.get(CHANGES, params)
            assert response.status_code == 200, response.content
            body = response.json()
            self.pages.append([entry["id"] for entry in body["results"]])
            for entry in body["results"]:
                if entry["op"] == "upsert":
                    self.cases[entry["id"]] = entry["object"]
                else:
                    self.cases.pop(entry["id"], None)
                applied += 1
            self.cursor = body["next_cursor"]
            if not body["has_more"]:
                return applied


def server_view(user) -> dict[int, dict]:
    rows = events_visible_to(user).select_related("minor__major", "unit", "grid", "department").order_by("pk")
    return {row["id"]: row for row in EventListOutputSerializer(rows, many=True).data}


@pytest.mark.django_db
def test_a_mirror_gets_every_case_once_then_only_what_changed(loop, token_for):
    cases = [report(loop, f"案件{i}") for i in range(10)]
    mirror = Mirror(token_for(loop.dispatcher, scopes=["dispatch:read"]))
    assert mirror.pull() == 10 and mirror.cases == server_view(loop.dispatcher)
    assert mirror.pull() == 0  # nothing new: an empty answer, the same cursor

    for event in cases[:3]:
        services.event_accept(event=event, actor=loop.operator)
    services.event_register(event=Event.objects.get(pk=cases[0].pk), actor=loop.operator)
    assert mirror.pull() == 3  # case 0 changed twice: it comes once, as it is now
    assert mirror.cases == server_view(loop.dispatcher)


@pytest.mark.django_db
def test_merges_and_deletions_reach_the_mirror(loop, token_for, django_user_model):
    keep, duplicate, mistake = report(loop), report(loop), report(loop)
    mirror = Mirror(token_for(loop.dispatcher, scopes=["dispatch:read"]))
    mirror.pull()
    services.event_merge(event=services.event_accept(event=duplicate, actor=loop.operator), into=keep,
                         actor=loop.operator)
    admin = django_user_model.objects.create_superuser("root", "root@example.invalid", "pw")
    services.event_delete(event=mistake, actor=admin, reason="测试误报")
    mirror.pull()
    assert mirror.cases == server_view(loop.dispatcher)
    assert mirror.cases[duplicate.pk]["state"] == "merged" and mistake.pk not in mirror.cases


@pytest.mark.django_db
def test_a_case_leaving_the_jurisdiction_is_removed_and_outsiders_learn_nothing(loop, token_for):
    event = report(loop)
    operator = Mirror(token_for(loop.operator, scopes=["dispatch:read"]))
    outsider = Mirror(token_for(loop.outsider, scopes=["dispatch:read"]))
    operator.pull(), outsider.pull()
    assert event.pk in operator.cases and outsider.cases == {}
    # The place is corrected to street B (run by B's centre from now on).
    street_b = loop.tree.street_b
    with transaction.atomic():
        Event.objects.filter(pk=event.pk).update(unit=street_b, unit_path=street_b.path, owner_unit=street_b,
                                                 owner_path=street_b.path)
        journal_events([Event.objects.get(pk=event.pk)])
    operator.pull(), outsider.pull()
    assert event.pk not in operator.cases  # a tombstone told street A's client
    assert event.pk in outsider.cases  # street B's client now has it
    assert operator.cases == server_view(loop.operator) and outsider.cases == server_view(loop.outsider)


@pytest.mark.django_db
def test_a_forged_cursor_is_refused_with_a_message(loop, token_for):
    response = token_for(loop.dispatcher).get(CHANGES, {"cursor": "%%%"})
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["cursor"]


# --- Under concurrency (PostgreSQL: transactions commit out of order) -----------------------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="out-of-order commits need concurrent writers; SQLite runs one writer at a time (run with DATABASE_URL)",
)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_commits_late_is_not_skipped(loop, token_for):
    mirror = Mirror(token_for(loop.dispatcher, scopes=["dispatch:read"]))
    mirror.pull()
    started, release, done = threading.Event(), threading.Event(), threading.Event()
    late: list[Event] = []

    def slow_writer():
        try:
            with transaction.atomic():
                late.append(report(loop, "先开始后提交"))  # its journal row gets the lower transaction id
                started.set()
                release.wait(10)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert started.wait(10)
    early = report(loop, "后开始先提交")  # commits first, with a higher transaction id
    mirror.pull()
    assert early.pk not in mirror.cases  # held back behind the running transaction, not skipped past it
    release.set()
    assert done.wait(10)
    thread.join()
    mirror.pull()
    assert {late[0].pk, early.pk} <= set(mirror.cases)
    assert mirror.cases == server_view(loop.dispatcher)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_client_mirroring_while_cases_change_ends_identical_to_the_server(loop, token_for):
    admin = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    seed = [report(loop, f"初始{i}") for i in range(20)]
    mirror = Mirror(token_for(loop.dispatcher, scopes=["dispatch:read"]), page_size=5)
    errors: list[BaseException] = []

    def writer(n: int):
        rng = random.Random(n)
        try:
            for step in range(25):
                ids = list(Event.objects.values_list("pk", flat=True))
                choice = rng.random()
                try:
                    if choice < 0.3 or not ids:
                        report(loop, f"写{n}-{step}")
                    else:
                        event = Event.objects.get(pk=rng.choice(ids))
                        if choice < 0.8:
                            for action in ("event_accept", "event_register", "event_dispatch"):
                                try:
                                    event = getattr(services, action)(event=event, actor=loop.operator)
                                    break
                                except services.WorkflowError:
                                    continue
                        elif choice < 0.9 and len(ids) > 1:
                            other = Event.objects.get(pk=rng.choice([i for i in ids if i != event.pk]))
                            services.event_merge(event=services.event_accept(event=event, actor=loop.operator),
                                                 into=other, actor=loop.operator)
                        else:
                            services.event_delete(event=event, actor=admin, reason="并发测试")
                except (services.WorkflowError, Event.DoesNotExist, services.ValidationError):
                    pass  # another writer got there first: a refusal, not a fault
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        mirror.pull()  # the client syncs while the writers work
    for thread in threads:
        thread.join()
    assert not errors, errors
    mirror.pull()
    server = server_view(loop.dispatcher)
    assert mirror.cases == server
    assert len(server) >= len(seed) - 25
    # An answer never gives a case twice (a case comes again only when it changed after it was given).
    assert all(len(ids) == len(set(ids)) for ids in mirror.pages)
    assert sum(map(len, mirror.pages)) > len(server)  # the client really synced while cases changed


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_long_transaction_in_another_database_does_not_hold_the_feed_back(loop, token_for):
    import psycopg2

    settings_dict = connection.settings_dict
    other = psycopg2.connect(dbname="postgres", user=settings_dict["USER"], host=settings_dict["HOST"] or None,
                             port=settings_dict["PORT"] or None, password=settings_dict["PASSWORD"] or None)
    try:
        with other.cursor() as cursor:  # a transaction with an id, left open on purpose
            cursor.execute("CREATE TEMP TABLE gridgov_feed_probe (x int); INSERT INTO gridgov_feed_probe VALUES (1)")
        mirror = Mirror(token_for(loop.dispatcher, scopes=["dispatch:read"]))
        event = report(loop)
        mirror.pull()
        assert event.pk in mirror.cases
    finally:
        other.rollback()
        other.close()
