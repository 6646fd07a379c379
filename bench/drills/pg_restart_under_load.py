"""Drill: PostgreSQL restarted under load.

    .venv/bin/python bench/drills/pg_restart_under_load.py [--readers 6] [--writers 4] [--restarts 2]
                                                           [--before 8] [--after 12]

``--readers`` clients read the case list (GET /api/v1/dispatch/events/?page_size=50) and a case
(GET …/events/<id>/) in a loop; ``--writers`` clients file reports (a new Idempotency-Key each,
retried with the same key after an error). Every ``--before`` + ``--after`` seconds the stack's
PostgreSQL is restarted with ``pg_ctl restart -m fast`` (every connection cut; the server back
when pg_ctl returns), ``--restarts`` times. gunicorn and the Celery worker are left alone.

Expected: errors only in the restart window (from the restart until a few seconds after the
server is back), and only clean ones — a 5xx answer or a refused/reset connection, never a hang
(no answer slower than the window plus a margin, no client timeout); after each restart the same
gunicorn processes (same pids) answer 200 again, so Django reconnects by itself
(CONN_MAX_AGE with CONN_HEALTH_CHECKS); every accepted report is exactly one case; the follow-up
backlog drains (tasks that hit the restart retry on OperationalError), with ``case.created``
webhooks one per case.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.drills.common import (  # noqa: E402
    EVENTS,
    REQUEST_TIMEOUT_S,
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
    post_report,
    refused_since,
    report_body,
    scheduled_resends,
    settled_backlog,
    submit,
    subscribe,
    wait_until,
    webhooks_settled,
)
from bench.stack import Stack  # noqa: E402

NAME = "pg_restart_under_load"
WINDOW_GRACE_S = 5  # errors this long after PostgreSQL is back still count as the restart's
HANG_MARGIN_S = 10  # an answer slower than the window plus this is a hang


@dataclass
class Read:
    status: str
    started: float
    seconds: float
    content_type: str = ""


def _read(session, url: str) -> Read:
    started = time.monotonic()
    try:
        response = session.get(url, timeout=REQUEST_TIMEOUT_S)
        return Read(str(response.status_code), started, time.monotonic() - started,
                    response.headers.get("Content-Type", "").split(";")[0])
    except Exception as exc:
        return Read(type(exc).__name__, started, time.monotonic() - started)


def run(stack: Stack, *, readers: int = 6, writers: int = 4, restarts: int = 2, before: float = 8,
        after: float = 12, drain_timeout: float = 330) -> Result:
    result = Result(NAME)
    run_id = new_run_id()
    supervisor = Supervisor(stack)
    reporter = stack.client("reporter")
    seed_case = post_report(reporter, stack, f"pg-{run_id}-seed", report_body(stack, 0, outside_every=0))
    result.check(seed_case.status == "201", f"could not file the case the readers read: {seed_case.status}")
    urls = [stack.url(f"{EVENTS}?page_size=50"), stack.url(f"{EVENTS}{seed_case.case_id}/")]
    reads: list[Read] = []
    submissions: list[Submission] = []
    lock = threading.Lock()
    stop = threading.Event()
    numbers = itertools.count(1)
    windows: list[tuple[float, float]] = []  # (restart called, server back)
    web_pids = (stack.web.pid, stack.web.worker_pids())
    refused_before = stack.refused_sends()

    with WebhookSink() as sink:
        subscription = subscribe(stack, sink.url, ["case.created"])

        def reader(n: int) -> None:
            session = stack.client("reporter")
            for i in itertools.count(n):
                if stop.is_set():
                    return
                answer = _read(session, urls[i % len(urls)])
                with lock:
                    reads.append(answer)

        def writer() -> None:
            session = stack.client("reporter")
            while not stop.is_set():
                n = next(numbers)
                done = submit(session, stack, f"pg-{run_id}-{n}", report_body(stack, n),
                              give_up_at=time.monotonic() + 120, retry_wait=0.3)
                with lock:
                    submissions.append(done)

        threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(readers)]
        threads += [threading.Thread(target=writer, daemon=True) for _ in range(writers)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for _ in range(restarts):
            time.sleep(before)
            called = time.monotonic()
            stack.postgres.restart(mode="fast")
            windows.append((called, time.monotonic()))
            time.sleep(after)
            supervisor.check()
        stop.set()
        for t in threads:
            t.join(timeout=REQUEST_TIMEOUT_S + 130)
        hung_threads = sum(t.is_alive() for t in threads)
        load_s = time.monotonic() - t0

        same_processes = (stack.web.pid, stack.web.worker_pids()) == web_pids
        case_ids = check_cases(result, stack, submissions)
        # Tasks that met the restart retry by themselves (OperationalError); then the beat's re-sends.
        left_by_worker = settled_backlog(stack, case_ids, supervisor)
        if left_by_worker:
            call_resends(stack, scheduled_resends(stack))
            wait_until(lambda: follow_up_backlog(stack, case_ids) == 0, timeout=drain_timeout, interval=1,
                       supervisor=supervisor)
        wait_until(lambda: webhooks_settled(stack, subscription), timeout=120, interval=1, supervisor=supervisor)
        backlog_left = follow_up_backlog(stack, case_ids)
        check_webhooks(result, stack, sink, subscription, case_ids)

    def in_window(started: float, seconds: float) -> int | None:
        """The restart whose window the request overlapped (it was under way when the server went down,
        or began while it was down or coming back)."""
        for i, (a, b) in enumerate(windows):
            if started <= b + WINDOW_GRACE_S and started + seconds >= a:
                return i
        return None

    answers = [(r.status, r.started, r.seconds, r.content_type) for r in reads]
    answers += [(a.status, a.started, a.seconds, "") for s in submissions for a in s.answers]
    errors_outside = Counter(status for status, started, sec, _ in answers
                             if status not in ("200", "201") and in_window(started, sec) is None)
    errors_inside = Counter(status for status, started, sec, _ in answers
                            if status not in ("200", "201") and in_window(started, sec) is not None)
    unclean = {s: n for s, n in errors_inside.items() if not (s.startswith("5") or "Connection" in s)}
    longest_window = max((b - a for a, b in windows), default=0)
    slow = [round(sec, 1) for _, _, sec, _ in answers if sec > longest_window + HANG_MARGIN_S]
    recovered = []
    for a, b in windows:  # the first 200 after the server was back, per restart
        firsts = [started + sec for status, started, sec, _ in answers if status == "200" and started >= b]
        recovered.append(round(min(firsts) - b, 2) if firsts else None)
    error_types = Counter(ct for status, started, _, ct in answers if status.startswith("5") and ct)
    result.figures.update({
        "readers": readers, "writers": writers, "restarts": restarts, "load_s": round(load_s, 1),
        "restart_windows_s": [round(b - a, 2) for a, b in windows],
        "reads": len(reads), "reads_by_status": dict(sorted(Counter(r.status for r in reads).items())),
        "writes_by_status": dict(sorted(Counter(a.status for s in submissions for a in s.answers).items())),
        "errors_in_restart_windows": dict(sorted(errors_inside.items())),
        "errors_outside_restart_windows": dict(sorted(errors_outside.items())),
        "5xx_content_types": dict(error_types),
        "first_200_after_restart_s": recovered,
        "slowest_answer_s": round(max((sec for _, _, sec, _ in answers), default=0), 2),
        "same_gunicorn_processes": same_processes, "gunicorn_pids": web_pids[1],
        "follow_ups_left_by_worker": left_by_worker, "sends_refused": refused_since(stack, refused_before),
        "backlog_left": backlog_left,
    })
    supervisor.note(result)
    note_refused(result, result.figures["sends_refused"])
    result.check(not hung_threads, f"{hung_threads} clients still waiting for an answer after the drill")
    result.check(not slow, f"{len(slow)} answers took longer than the restart plus {HANG_MARGIN_S} s: {slow[:10]}")
    result.check(not unclean, f"errors in the restart window other than 5xx or a refused connection: {unclean}")
    result.check(not errors_outside, f"errors outside the restart windows: {dict(errors_outside)}")
    result.check(all(r is not None for r in recovered), f"no 200 after a restart: {recovered}")
    result.check(same_processes, f"gunicorn processes changed: {web_pids} → {(stack.web.pid, stack.web.worker_pids())}")
    result.check(backlog_left == 0, f"{backlog_left} history rows never followed up")
    result.check(result.figures["never_accepted"] == 0,
                 f"{result.figures['never_accepted']} reports were never accepted, even when retried")
    return result


def add_arguments(parser) -> None:
    parser.add_argument("--readers", type=int, default=6, help="clients reading the list and a case (6)")
    parser.add_argument("--writers", type=int, default=4, help="clients filing reports (4)")
    parser.add_argument("--restarts", type=int, default=2, help="PostgreSQL restarts (2)")
    parser.add_argument("--before", type=float, default=8, help="seconds of load before each restart (8)")
    parser.add_argument("--after", type=float, default=12, help="seconds of load after each restart (12)")


def main() -> int:
    return cli(NAME, __doc__, run, add_arguments)


if __name__ == "__main__":
    sys.exit(main())
