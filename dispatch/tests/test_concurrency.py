"""Two people acting on one case at the same moment: one wins, the other is told of the conflict.

These need real row locks, so they run on PostgreSQL (CI sets DATABASE_URL to it); SQLite serialises
whole-database writes and cannot show the race. Each thread has its own database connection.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from dispatch import services
from dispatch.models import Channel, Event, Transition
from dispatch.tests.flow import bring_to, report
from dispatch.workflow import Conflict, NotAllowed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="row locks (select_for_update) need PostgreSQL; set DATABASE_URL to run this"),
]


def race(*calls):
    """Run each call in its own thread, released together; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[i] = exc
        finally:
            connections.close_all()  # this thread's connection

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (lock never released?)"
    return outcomes


def won_and_lost(outcomes):
    won = [o for o in outcomes if isinstance(o, Event)]
    lost = [o for o in outcomes if not isinstance(o, Event)]
    assert len(won) == 1, outcomes
    assert len(lost) == 1 and isinstance(lost[0], (Conflict, NotAllowed)), outcomes
    return won[0], lost[0]


def test_two_dispatchers_dispatching_one_case_at_once(loop):
    event = bring_to(loop, "registered")
    seen = event.version
    outcomes = race(
        lambda: services.event_dispatch(event=event, actor=loop.operator, expected_version=seen),
        lambda: services.event_dispatch(event=event, actor=loop.dispatcher, department=loop.tree.office_b,
                                        expected_version=seen),
    )
    winner, loser = won_and_lost(outcomes)
    assert isinstance(loser, Conflict) and loser.status == 409
    assert Transition.objects.filter(event=event, action="dispatch").count() == 1
    stored = Event.objects.get(pk=event.pk)
    assert (stored.version, stored.department_id) == (seen + 1, winner.department_id)
    assert stored.assignments.filter(role="lead").count() == 1


def test_two_operators_accepting_one_case_at_once_without_a_version(loop):
    event = report(loop)
    outcomes = race(
        lambda: services.event_accept(event=event, actor=loop.operator),
        lambda: services.event_accept(event=event, actor=loop.dispatcher),
    )
    _winner, loser = won_and_lost(outcomes)
    assert isinstance(loser, NotAllowed)  # it waited for the lock, then found the case accepted
    assert Transition.objects.filter(event=event, action="accept").count() == 1
    assert Event.objects.get(pk=event.pk).version == 1


def test_two_operators_accepting_one_case_at_once_with_the_same_version(loop):
    event = report(loop)
    outcomes = race(
        lambda: services.event_accept(event=event, actor=loop.operator, expected_version=0),
        lambda: services.event_accept(event=event, actor=loop.dispatcher, expected_version=0),
    )
    _winner, loser = won_and_lost(outcomes)
    assert isinstance(loser, Conflict)
    assert Transition.objects.filter(event=event, action="accept").count() == 1


def test_a_submission_retried_at_once_makes_one_case(loop, monkeypatch):
    # Hold every submission after its "already there?" check until all have made it, so that all of
    # them insert: one wins, the others hit the unique key and answer with the winner's case.
    checked = threading.Barrier(3)
    locate = services.locate

    def locate_once_all_checked(**kwargs):
        checked.wait(timeout=10)
        return locate(**kwargs)

    monkeypatch.setattr(services, "locate", locate_once_all_checked)

    def submit():
        return services.event_report(channel=Channel.API, title="垃圾堆", minor=loop.rubbish, lon=loop.inside[0],
                                     lat=loop.inside[1], idempotency_key="retry-7")

    outcomes = race(submit, submit, submit)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sorted(created for _, created in outcomes) == [False, False, True]
    assert len({event.pk for event, _ in outcomes}) == 1
    assert Event.objects.filter(idempotency_key="retry-7").count() == 1
    assert Transition.objects.filter(action="report").count() == 1
