"""The cheap failure drills of bench/drills/, small, on a throwaway stack of their own.

The stack (bench/stack.py) runs its own PostgreSQL cluster, Redis, gunicorn and Celery worker on
free ports: the drills stop and restart services, so they never touch the machine's shared
PostgreSQL and Redis that the other tests use. docs/drills.md has the full-size drills and what
they counted.
"""

import pytest

from bench.drills import concurrent_transitions, idempotency_burst, redis_down_intake
from bench.stack import Stack, StackUnavailable, check_available
from conftest import _missing

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack():
    try:
        check_available()
    except StackUnavailable as exc:
        _missing(f"the failure drills start a throwaway stack, and this machine lacks: {exc}")
    with Stack(web_workers=2, celery_concurrency=2) as running:
        yield running


def _passed(result) -> None:
    details = "\n".join([*result.problems, *result.notes, result.json()])
    assert result.ok, f"drill {result.drill} failed:\n{details}"


def test_a_burst_with_one_idempotency_key_makes_one_case(stack):
    result = idempotency_burst.run(stack, same=30, keys=3, per_key=5, rounds=1)
    _passed(result)
    assert result.figures["cases"] == 4
    assert result.figures["answers_by_status"]["201"] == 4


def test_concurrent_actions_on_one_case_succeed_once_per_step(stack):
    result = concurrent_transitions.run(stack, clients=8, cases=2)
    _passed(result)
    assert result.figures["history_rows_per_step"] == {"accept": [1], "register": [1], "dispatch": [1]}


def test_intake_goes_on_while_redis_is_down_and_the_backlog_drains(stack):
    # Webhooks included: every case filed must reach the subscribed client exactly once.
    result = redis_down_intake.run(stack, clients=4, before=3, outage=5, after=3, resend="call", drain_timeout=90)
    _passed(result)
    assert result.figures["during_outage"]["requests"] > 0
    assert result.figures["backlog_left"] == 0
