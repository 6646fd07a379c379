"""Drill: a Celery worker killed in the middle of its tasks.

    .venv/bin/python bench/drills/worker_killed.py [--reports 300] [--kill-at 0.3] [--rounds child,worker]
                                                   [--resend call|beat]

Each round files ``--reports`` reports through the API while the worker is stopped, so their
follow-up tasks queue up (half of them at a point in no grid: each of those follow-ups writes an
inbox row for every one of the street centre's ``--staff`` people, and every case's follow-up
emits a ``case.created`` webhook: a fan-out task, then a delivery task POSTing to a local
receiver). Then the worker is started and, once ``--kill-at`` of the follow-ups are done, killed
with SIGKILL while it is busy:

- round ``child``: one pool process is killed (the main process survives and notices);
- round ``worker``: the whole worker, main process and pool (a crash, the OOM killer), and it is
  started again.

Then the drill waits for what the worker does by itself, and after that sends the re-send tasks of
the beat schedule (``--resend call``: at once, ``celery call … [0]``; ``--resend beat``: runs
beat and waits for its schedule).

Counted per round: the tasks in flight at the kill (Redis' ``unacked`` hash), tasks the worker
received more than once (re-delivered), the follow-up backlog the worker left by itself and after
the re-send, and at the end for every case: exactly one ``report`` history row, followed up, with
exactly one inbox row per staff member (none for cases in a grid), and exactly one ``case.created``
delivery, received by the receiver. Anything missing or doubled fails the drill.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.drills.common import (  # noqa: E402
    Result,
    Submission,
    Supervisor,
    WebhookSink,
    call_resends,
    check_cases,
    check_webhooks,
    cli,
    follow_up_backlog,
    new_run_id,
    note_refused,
    refused_since,
    notifications_per_case,
    report_body,
    scheduled_resends,
    settled_backlog,
    staff_of_street,
    submit,
    subscribe,
    wait_until,
    webhooks_settled,
)
from bench.stack import Stack  # noqa: E402

NAME = "worker_killed"
OUTSIDE_EVERY = 2
RECEIVED = re.compile(r"Task ([\w.]+)\[([0-9a-f-]+)\] received")


def run(stack: Stack, *, reports: int = 300, kill_at: float = 0.3, rounds: str = "child,worker",
        resend: str = "call", drain_timeout: float = 330, filers: int = 8) -> Result:
    result = Result(NAME)
    run_id = new_run_id()
    supervisor = Supervisor(stack)
    submissions: list[Submission] = []
    resends = scheduled_resends(stack)
    result.figures["settings"] = _celery_settings(stack)
    with WebhookSink() as sink:
        subscription = subscribe(stack, sink.url, ["case.created"])
        for round_name in [r.strip() for r in rounds.split(",") if r.strip()]:
            stack.worker.stop()
            refused_before = stack.refused_sends()
            batch = _file(stack, f"{run_id}-{round_name}", reports, filers)
            submissions += batch
            ids = [s.case_id for s in batch if s.case_id]
            figures = {"reports": len(batch), "queued_before_start": stack.redis.client().llen("celery"),
                       "sends_refused_while_filing": refused_since(stack, refused_before)}
            note_refused(result, figures["sends_refused_while_filing"])
            log_from = stack.worker.log.stat().st_size if stack.worker.log.exists() else 0
            stack.worker.start()
            target = len(ids) * kill_at
            figures["s_to_kill"] = wait_until(lambda: len(ids) - follow_up_backlog(stack, ids) >= target,
                                              timeout=120, interval=0.05)
            figures["followed_up_at_kill"] = len(ids) - follow_up_backlog(stack, ids)
            if round_name == "child":
                figures["killed_pid"] = stack.worker.kill_child()
            else:
                stack.worker.kill()
            figures["in_flight_at_kill"] = stack.redis.client().hlen("unacked")
            if round_name == "worker":
                stack.worker.start()
            # What the worker does by itself: the queue runs dry, re-delivered tasks run again.
            figures["backlog_left_by_worker"] = settled_backlog(stack, ids, supervisor)
            # Follow-ups never queued (refused at filing) are not the kill's doing: the rest are.
            never_queued = sum(n for k, n in figures["sends_refused_while_filing"].items()
                               if k.startswith("gunicorn:dispatch.transition_follow_up"))
            figures["left_by_worker_because_of_the_kill"] = figures["backlog_left_by_worker"] - never_queued
            if resend == "call":
                call_resends(stack, resends)
            figures["drained_s_after_resend"] = wait_until(lambda: follow_up_backlog(stack, ids) == 0,
                                                           timeout=drain_timeout, interval=1, supervisor=supervisor)
            figures["backlog_left"] = follow_up_backlog(stack, ids)
            figures["still_unacked_in_redis"] = stack.redis.client().hlen("unacked")
            figures["tasks_received_twice"] = _received_twice(stack, log_from)
            figures["worker_lost_errors"] = _log_count(stack, log_from, "WorkerLostError")
            result.figures[f"round_{round_name}"] = figures
            result.check(figures["backlog_left"] == 0,
                         f"round {round_name}: {figures['backlog_left']} follow-ups never done after {drain_timeout:.0f} s")
        wait_until(lambda: webhooks_settled(stack, subscription), timeout=120, interval=1, supervisor=supervisor)
        case_ids = check_cases(result, stack, submissions)
        staff = staff_of_street(stack)
        outside_ids = {s.case_id for s in submissions if s.outside and s.case_id}
        told = notifications_per_case(stack, case_ids, "dispatch.event.report")
        wrong = {pk: n for pk, n in told.items() if n != (staff if pk in outside_ids else 0)}
        result.figures.update({"street_staff": staff, "outside_grid_cases": len(outside_ids),
                               "inbox_rows": sum(told.values()), "inbox_rows_expected": staff * len(outside_ids),
                               "cases_with_wrong_inbox_count": len(wrong)})
        result.check(not wrong, f"{len(wrong)} cases have the wrong number of inbox rows (expected {staff} for a point "
                                f"in no grid, else 0): {dict(list(wrong.items())[:5])}")
        check_webhooks(result, stack, sink, subscription, case_ids)
    result.figures["resend"] = (f"celery call {' '.join(resends)} with [0]" if resend == "call"
                                else f"celery beat's schedule ({', '.join(resends)})")
    supervisor.note(result)
    return result


def _file(stack: Stack, prefix: str, reports: int, filers: int) -> list[Submission]:
    local = threading.local()

    def one(n: int) -> Submission:
        if not hasattr(local, "session"):
            local.session = stack.client("reporter")
        return submit(local.session, stack, f"kill-{prefix}-{n}", report_body(stack, n, outside_every=OUTSIDE_EVERY),
                      give_up_at=time.monotonic() + 120, outside=n % OUTSIDE_EVERY == 0)

    with ThreadPoolExecutor(filers) as pool:
        return list(pool.map(one, range(1, reports + 1)))


def _worker_log(stack: Stack, start: int) -> str:
    with open(stack.worker.log, "rb") as f:
        f.seek(start)
        return f.read().decode(errors="replace")


def _received_twice(stack: Stack, start: int) -> dict[str, int]:
    """Task ids the worker received more than once since ``start`` (re-delivered after a kill), by task name."""
    received = Counter(RECEIVED.findall(_worker_log(stack, start)))
    twice: Counter = Counter()
    for (name, _task_id), n in received.items():
        if n > 1:
            twice[name] += 1
    return dict(twice)


def _log_count(stack: Stack, start: int, text: str) -> int:
    """Log records (not traceback lines) since ``start`` that mention ``text``."""
    return sum(1 for line in _worker_log(stack, start).splitlines() if line.startswith("[") and text in line)


def _celery_settings(stack: Stack) -> dict:
    import json

    out = stack.django(
        "import json\nfrom governance.celery import app\nc = app.conf\n"
        "print(json.dumps({'task_acks_late': c.task_acks_late, 'task_reject_on_worker_lost': "
        "c.task_reject_on_worker_lost, 'worker_prefetch_multiplier': c.worker_prefetch_multiplier, "
        "'visibility_timeout': c.broker_transport_options.get('visibility_timeout')}))"
    )
    return json.loads(out.strip().splitlines()[-1])


def add_arguments(parser) -> None:
    parser.add_argument("--reports", type=int, default=300, help="reports filed per round (300)")
    parser.add_argument("--kill-at", type=float, default=0.3, help="kill when this share is followed up (0.3)")
    parser.add_argument("--rounds", default="child,worker", help="child, worker or both (default)")
    parser.add_argument("--resend", choices=["beat", "call"], default="call",
                        help="call: send the re-send tasks at once (default); beat: wait for beat's schedule")
    parser.add_argument("--drain-timeout", type=float, default=330)
    parser.add_argument("--staff", type=int, default=20, help="street centre staff told of each case in no grid (20)")
    parser.add_argument("--concurrency", type=int, default=4, help="worker pool processes (4)")


def main() -> int:
    return cli(NAME, __doc__, run, add_arguments, stack_options=lambda args: {
        "beat": args.resend == "beat", "operators": args.staff, "celery_concurrency": args.concurrency})


if __name__ == "__main__":
    sys.exit(main())
