"""Drill: a burst of duplicate submissions with one Idempotency-Key.

    .venv/bin/python bench/drills/idempotency_burst.py [--same 50] [--keys 4] [--per-key 10] [--rounds 3]

Fires ``--same`` POSTs to /api/v1/dispatch/events/ with one Idempotency-Key, mixed with
``--per-key`` POSTs for each of ``--keys`` other keys, all released at once (a barrier) from as
many threads; ``--rounds`` times, each round with new keys. Expected: exactly one case per key;
exactly one 201 per key, every other answer 200 with ``Idempotent-Replayed: true`` and the same
case id; one ``report`` history row per case; no 5xx.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.drills.common import (  # noqa: E402
    Answer,
    Result,
    cases_by_key,
    cli,
    history_counts,
    new_run_id,
    percentile,
    post_report,
    report_body,
)
from bench.stack import Stack  # noqa: E402

NAME = "idempotency_burst"


def run(stack: Stack, *, same: int = 50, keys: int = 4, per_key: int = 10, rounds: int = 3) -> Result:
    result = Result(NAME)
    run_id = new_run_id()
    statuses: Counter = Counter()
    created_per_key: Counter = Counter()
    ids_per_key: dict[str, set] = defaultdict(set)
    replay_headers = 0
    replays_without_header = 0
    seconds: list[float] = []
    all_keys: list[str] = []
    for round_no in range(rounds):
        main_key = f"burst-{run_id}-{round_no}-same"
        others = [f"burst-{run_id}-{round_no}-k{k}" for _ in range(per_key) for k in range(keys)]
        # Interleaved, so that the other keys race the shared one rather than queue behind it.
        plan = [key for i in range(max(same, len(others)))
                for key in ([main_key] if i < same else []) + ([others[i]] if i < len(others) else [])]
        all_keys += sorted(set(plan))
        body_of = {key: report_body(stack, i, outside_every=0) for i, key in enumerate(sorted(set(plan)))}
        barrier = threading.Barrier(len(plan))
        answers: list[tuple[str, Answer]] = []
        lock = threading.Lock()

        def fire(key: str) -> None:
            session = stack.client("reporter")
            session.get(stack.url("/api/v1/me/"), timeout=30)  # connect first: the POSTs leave together
            barrier.wait()
            answer = post_report(session, stack, key, body_of[key])
            with lock:
                answers.append((key, answer))

        threads = [threading.Thread(target=fire, args=(key,)) for key in plan]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for key, answer in answers:
            statuses[answer.status] += 1
            seconds.append(answer.seconds)
            if answer.status == "201":
                created_per_key[key] += 1
            if answer.accepted:
                ids_per_key[key].add(answer.case_id)
            if answer.status == "200":
                replay_headers += answer.replayed
                replays_without_header += not answer.replayed

    stored = cases_by_key(stack, all_keys)
    case_ids = sorted({pk for ids in stored.values() for pk in ids})
    history = history_counts(stack, case_ids)
    result.figures.update({
        "rounds": rounds, "requests": sum(statuses.values()), "keys": len(all_keys),
        "requests_per_round": same + keys * per_key, "same_key_requests": same,
        "answers_by_status": dict(sorted(statuses.items())), "replayed_header": replay_headers,
        "cases": len(case_ids), "answer_s_p50": percentile(seconds, 50), "answer_s_max": percentile(seconds, 100),
    })
    bad = {s: n for s, n in statuses.items() if s not in ("200", "201")}
    result.check(not bad, f"answers other than 201/200: {bad}")
    result.check(replays_without_header == 0, f"{replays_without_header} 200 answers lack Idempotent-Replayed: true")
    for key in all_keys:
        result.check(len(stored[key]) == 1, f"key {key}: {len(stored[key])} cases {stored[key]}")
        result.check(created_per_key[key] == 1, f"key {key}: {created_per_key[key]} answers were 201")
        result.check(ids_per_key[key] == set(stored[key]),
                     f"key {key}: answers named cases {sorted(ids_per_key[key])}, stored {stored[key]}")
    for pk, counts in history.items():
        result.check(counts["report"] == 1, f"case {pk}: {counts['report']} 'report' history rows")
    return result


def add_arguments(parser) -> None:
    parser.add_argument("--same", type=int, default=50, help="POSTs with the one shared key per round (50)")
    parser.add_argument("--keys", type=int, default=4, help="other keys per round (4)")
    parser.add_argument("--per-key", type=int, default=10, help="POSTs for each other key (10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with new keys (3)")


def main() -> int:
    return cli(NAME, __doc__, run, add_arguments)


if __name__ == "__main__":
    sys.exit(main())
