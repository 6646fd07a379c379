"""Drill: concurrent workflow actions on one case.

    .venv/bin/python bench/drills/concurrent_transitions.py [--clients 12] [--cases 3]

For each of ``--cases`` new cases, the steps accept → register → dispatch are each sent by
``--clients`` clients at once (released by a barrier), every one with the ``version`` it read just
before, round-robin over the seeded street operators' tokens (several clients share an account,
as several browser tabs would). Every second case is run without ``version`` (clients that do not
send it: only the row lock and the state guard stand between them). Expected per step: exactly
one 200; every other answer 409
(``conflict``: someone acted since you read; or ``not_allowed``: the state has moved on); nothing
else. Afterwards each case has exactly one history row per step, its version went up by exactly
one per step, it has one lead department, and (once the worker followed up) the bureau's handler
was told of the dispatch exactly once.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.drills.common import (  # noqa: E402
    EVENTS,
    REQUEST_TIMEOUT_S,
    Result,
    cli,
    follow_up_backlog,
    history_counts,
    new_run_id,
    notifications_per_case,
    post_report,
    report_body,
    wait_until,
)
from bench.stack import Stack  # noqa: E402

NAME = "concurrent_transitions"
STEPS = ("accept", "register", "dispatch")


def _contest(stack: Stack, sessions: list, case_id: int, action: str, body: dict) -> Counter:
    """Send ``action`` from every session at once; Counter of answers ("200", "409 conflict", …)."""
    url = stack.url(f"{EVENTS}{case_id}/actions/{action}/")
    barrier = threading.Barrier(len(sessions))
    answers: Counter = Counter()
    lock = threading.Lock()

    def act(session) -> None:
        barrier.wait()
        try:
            response = session.post(url, json=body, timeout=REQUEST_TIMEOUT_S)
            label = str(response.status_code)
            if response.status_code >= 400:
                try:
                    label += " " + response.json()["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    label += " (not the API's error format)"
        except Exception as exc:
            label = type(exc).__name__
        with lock:
            answers[label] += 1

    threads = [threading.Thread(target=act, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def run(stack: Stack, *, clients: int = 12, cases: int = 3) -> Result:
    result = Result(NAME)
    run_id = new_run_id()
    operators = [name for name in stack.data["tokens"] if name.startswith("operator-")]
    sessions = [stack.client(operators[i % len(operators)]) for i in range(clients)]
    for session in sessions:  # connected before the contest, so the requests leave together
        session.get(stack.url("/api/v1/me/"), timeout=REQUEST_TIMEOUT_S)
    reporter = stack.client("reporter")
    answers_by_step: dict[str, Counter] = {f"{step}{mode}": Counter() for mode in ("", " (no version)")
                                           for step in STEPS}
    case_ids: list[int] = []
    versions: dict[int, list[int]] = {}
    for n in range(cases):
        filed = post_report(reporter, stack, f"contest-{run_id}-{n}", report_body(stack, n, outside_every=0))
        if not result.check(filed.status == "201", f"case {n}: filing answered {filed.status}"):
            continue
        case_id = filed.case_id
        case_ids.append(case_id)
        detail = sessions[0].get(stack.url(f"{EVENTS}{case_id}/"), timeout=REQUEST_TIMEOUT_S).json()
        versions[case_id] = [detail["version"]]
        versioned = n % 2 == 0
        for step in STEPS:
            body = {"version": versions[case_id][-1]} if versioned else {}
            if step == "dispatch":
                body["department"] = stack.data["department"]
            answers = _contest(stack, sessions, case_id, step, body)
            answers_by_step[step if versioned else f"{step} (no version)"].update(answers)
            detail = sessions[0].get(stack.url(f"{EVENTS}{case_id}/"), timeout=REQUEST_TIMEOUT_S).json()
            versions[case_id].append(detail["version"])
            others = {a: k for a, k in answers.items() if a not in ("200", "409 conflict", "409 not_allowed")}
            result.check(answers["200"] == 1, f"case {case_id} {step}: {answers['200']} clients succeeded: {dict(answers)}")
            result.check(not others, f"case {case_id} {step}: unexpected answers {others}")
        result.check(detail["state"] == "dispatched", f"case {case_id} ended {detail['state']}, not dispatched")

    history = history_counts(stack, case_ids)
    leads = dict(stack.sql("SELECT event_id, count(*) FROM dispatch_assignment WHERE event_id = ANY(%s) "
                           "AND role = 'lead' GROUP BY event_id", (case_ids,)))
    for case_id in case_ids:
        for step in STEPS:
            result.check(history[case_id][step] == 1, f"case {case_id}: {history[case_id][step]} '{step}' history rows")
        steps = [b - a for a, b in zip(versions[case_id], versions[case_id][1:])]
        result.check(steps == [1] * len(STEPS), f"case {case_id}: version went {versions[case_id]}")
        result.check(leads.get(case_id, 0) == 1, f"case {case_id}: {leads.get(case_id, 0)} lead departments")
    # The dispatch's follow-up tells the bureau's handler once, however many clients pressed the button.
    drained = wait_until(lambda: follow_up_backlog(stack, case_ids) == 0, timeout=60)
    result.check(drained is not None, f"{follow_up_backlog(stack, case_ids)} history rows not followed up after 60 s")
    told = notifications_per_case(stack, case_ids, "dispatch.event.dispatch")
    result.check(set(told.values()) <= {1}, f"dispatch notifications per case: {told}")
    result.figures.update({
        "cases": len(case_ids), "clients_per_step": clients, "accounts": len(operators),
        "answers": {step: dict(sorted(c.items())) for step, c in answers_by_step.items() if c},
        "history_rows_per_step": {step: sorted({history[c][step] for c in case_ids}) for step in STEPS},
        "versions": {str(c): v for c, v in versions.items()},
        "dispatch_notifications_per_case": sorted(set(told.values())),
    })
    return result


def add_arguments(parser) -> None:
    parser.add_argument("--clients", type=int, default=12, help="clients sending each step at once (12)")
    parser.add_argument("--cases", type=int, default=3, help="cases taken through the steps (3)")


def main() -> int:
    return cli(NAME, __doc__, run, add_arguments)


if __name__ == "__main__":
    sys.exit(main())
