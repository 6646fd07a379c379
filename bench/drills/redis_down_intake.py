"""Drill: Redis stopped during intake.

    .venv/bin/python bench/drills/redis_down_intake.py [--clients 6] [--before 10] [--outage 20] [--after 10]
                                                       [--resend beat|call] [--redis-aof] [--no-webhooks]

``--clients`` API clients file reports through POST /api/v1/dispatch/events/ without pause, each
with a new Idempotency-Key (a quarter of them at a point in no grid, whose follow-up tells the
street centre's staff). After ``--before`` seconds the stack's Redis (broker and cache) is
stopped for ``--outage`` seconds, then started again (empty: no persistence, so tasks queued
before the stop are gone too; ``--redis-aof`` keeps them, as docker-compose's Redis does); filing goes on for ``--after`` seconds. A client that gets an
error retries with the same key, as a client should.

Then the follow-up backlog (history rows whose ``followed_up_at`` is unset: their task never
reached the broker, or was lost with Redis) must drain to zero, by the re-send tasks of the beat
schedule (``dispatch.follow_ups_resend``, ``governance.webhook_deliveries_resend``):
``--resend beat`` (the default) runs Celery beat and waits for its schedule (follow-ups: every
120 s for rows older than 120 s, so up to ~4 min); ``--resend call`` sends each of them at once
through the broker with age 0 (``celery call <task> --args [0]``), which is what the CI test does.

Counted: submissions, answers by status, how many were filed while Redis was down and how fast,
cases per key (exactly one for every accepted submission; none lost, none doubled), the backlog
when Redis came back and the time it took to drain, the street staff's notifications per case
(exactly one each), and the ``case.created`` webhook deliveries to a local receiver (one per case).
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.drills.common import (  # noqa: E402
    Result,
    Submission,
    Supervisor,
    WebhookSink,
    answers_summary,
    check_cases,
    check_webhooks,
    cli,
    follow_up_backlog,
    new_run_id,
    note_refused,
    refused_since,
    notifications_per_case,
    percentile,
    report_body,
    call_resends,
    scheduled_resends,
    settled_backlog,
    staff_of_street,
    submit,
    subscribe,
    wait_until,
    webhooks_settled,
)
from bench.stack import Stack  # noqa: E402

NAME = "redis_down_intake"
OUTSIDE_EVERY = 4
RETRY_GRACE_S = 60  # clients go on retrying their last submission this long after filing stops


def run(stack: Stack, *, clients: int = 6, before: float = 10, outage: float = 20, after: float = 10,
        resend: str = "call", drain_timeout: float = 330, webhooks: bool = True) -> Result:
    result = Result(NAME)
    run_id = new_run_id()
    numbers = itertools.count(1)
    submissions: list[Submission] = []
    lock = threading.Lock()
    stop = threading.Event()
    refused_before = stack.refused_sends()
    supervisor = Supervisor(stack)
    with WebhookSink() as sink:
        subscription = subscribe(stack, sink.url, ["case.created"]) if webhooks else None

        def client() -> None:
            session = stack.client("reporter")
            while not stop.is_set():
                n = next(numbers)
                done = submit(session, stack, f"redis-{run_id}-{n}", report_body(stack, n, outside_every=OUTSIDE_EVERY),
                              give_up_at=time.monotonic() + before + outage + after + RETRY_GRACE_S,
                              outside=n % OUTSIDE_EVERY == 0)
                with lock:
                    submissions.append(done)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(before)
        down_at = time.monotonic()
        stack.redis.stop()
        time.sleep(outage / 2)
        health_down = _health(stack)
        time.sleep(max(0.0, outage - (time.monotonic() - down_at)))
        stack.redis.start()
        up_at = time.monotonic()
        refused_while_down = refused_since(stack, refused_before)
        backlog_at_restart = _backlog(stack, submissions, lock)
        worker_up_after_outage = stack.worker.running
        supervisor.check()
        time.sleep(after)
        supervisor.check()
        stop.set()
        for t in threads:
            t.join(timeout=RETRY_GRACE_S + 60)
        hung = sum(t.is_alive() for t in threads)
        filing_s = time.monotonic() - t0

        case_ids = check_cases(result, stack, submissions)
        # What the worker will not follow up by itself: the backlog once the queue has run dry.
        stuck = settled_backlog(stack, case_ids, supervisor)
        resends = scheduled_resends(stack)
        if resend == "call":
            call_resends(stack, resends)
        drain_t0 = time.monotonic()
        drained_s = wait_until(lambda: follow_up_backlog(stack, case_ids) == 0, timeout=drain_timeout, interval=1,
                               supervisor=supervisor)
        backlog_left = follow_up_backlog(stack, case_ids)
        # Deliveries whose task was lost wait for governance.webhook_deliveries_resend: called at
        # once with --resend call; on beat's schedule, up to its grace (300 s) plus its period (300 s).
        settled_s = wait_until(lambda: webhooks_settled(stack, subscription), supervisor=supervisor, interval=1,
                               timeout=60 if resend == "call" else 660) if webhooks else None

        staff = staff_of_street(stack)
        outside_ids = {s.case_id for s in submissions if s.outside and s.case_id}
        told = notifications_per_case(stack, case_ids, "dispatch.event.report")
        wrong = {pk: n for pk, n in told.items() if n != (staff if pk in outside_ids else 0)}
        if webhooks:
            check_webhooks(result, stack, sink, subscription, case_ids)

    during = [a for s in submissions for a in s.answers if down_at <= a.started < up_at]
    during_ok = [a for a in during if a.accepted]
    phases = {"before": lambda a: a.started < down_at, "during": lambda a: down_at <= a.started < up_at,
              "after": lambda a: a.started >= up_at}
    seconds = {name: [a.seconds for s in submissions for a in s.answers if a.accepted and test(a)]
               for name, test in phases.items()}
    result.figures.update({
        "clients": clients, "before_s": before, "outage_s": outage, "after_s": after, "filing_s": round(filing_s, 1),
        "answers": answers_summary(submissions),
        "during_outage": {
            "requests": len(during), "accepted": len(during_ok), "errors": len(during) - len(during_ok),
            "healthz": health_down,
        },
        "accepted_s_p50_p95": {name: [percentile(v, 50), percentile(v, 95)] for name, v in seconds.items()},
        "sends_refused_until_redis_back": refused_while_down,
        "sends_refused_after_redis_back": refused_since(stack, {k: refused_before.get(k, 0) + refused_while_down.get(
            k, 0) for k in set(refused_before) | set(refused_while_down)}),
        "worker_running_when_redis_came_back": worker_up_after_outage,
        "backlog_at_redis_restart": backlog_at_restart, "backlog_stuck_after_filing": stuck,
        "resend": f"celery call {' '.join(resends)} with [0]" if resend == "call"
        else f"celery beat's schedule ({', '.join(resends)})",
        "backlog_drained_s_after_filing": drained_s,
        "backlog_drained_s_after_redis_back": round(drain_t0 + drained_s - up_at, 1) if drained_s is not None else None,
        "backlog_left": backlog_left,
        "street_staff": staff, "outside_grid_cases": len(outside_ids),
        "cases_with_wrong_notification_count": len(wrong), "webhooks_settled_s": settled_s,
    })
    supervisor.note(result)
    note_refused(result, refused_since(stack, refused_before))
    result.check(not hung, f"{hung} clients still waiting for an answer {RETRY_GRACE_S + 60} s after filing stopped")
    result.check(during and len(during_ok) == len(during),
                 f"{len(during) - len(during_ok)} of {len(during)} requests made while Redis was down failed: "
                 f"intake must not need Redis")
    result.check(result.figures["never_accepted"] == 0,
                 f"{result.figures['never_accepted']} submissions were never accepted, even when retried")
    result.check(backlog_left == 0, f"{backlog_left} history rows still not followed up {drain_timeout:.0f} s "
                                    f"after filing stopped ({resend})")
    result.check(not wrong, f"{len(wrong)} cases have the wrong number of 'report' notifications (expected "
                            f"{staff} for a point in no grid, else 0): {dict(list(wrong.items())[:5])}")
    return result


def _backlog(stack: Stack, submissions: list[Submission], lock: threading.Lock) -> int:
    with lock:
        ids = [s.case_id for s in submissions if s.case_id]
    return follow_up_backlog(stack, ids)


def _health(stack: Stack) -> str:
    import requests

    try:
        response = requests.get(stack.url("/healthz"), timeout=10)
        return f"{response.status_code} {response.json().get('checks')}"
    except Exception as exc:
        return type(exc).__name__


def add_arguments(parser) -> None:
    parser.add_argument("--clients", type=int, default=6, help="concurrent API clients (6)")
    parser.add_argument("--before", type=float, default=10, help="seconds of filing before Redis stops (10)")
    parser.add_argument("--outage", type=float, default=20, help="seconds Redis stays down (20)")
    parser.add_argument("--after", type=float, default=10, help="seconds of filing after Redis is back (10)")
    parser.add_argument("--resend", choices=["beat", "call"], default="beat",
                        help="beat: wait for Celery beat's schedule (default); call: send the re-send task at once")
    parser.add_argument("--drain-timeout", type=float, default=330, help="seconds allowed for the backlog to drain")
    parser.add_argument("--no-webhooks", dest="webhooks", action="store_false",
                        help="leave out the case.created webhook subscription and its checks")
    parser.add_argument("--redis-aof", action="store_true",
                        help="Redis with an append-only file, as docker-compose runs it (a restart keeps the queue)")


def main() -> int:
    return cli(NAME, __doc__, run, add_arguments,
               stack_options=lambda args: {"beat": args.resend == "beat", "redis_aof": args.redis_aof})


if __name__ == "__main__":
    sys.exit(main())
