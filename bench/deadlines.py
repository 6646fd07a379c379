"""Benchmark the deadline engine: elapsed_share over 200,000 open working-hour deadlines.

    .venv/bin/python bench/deadlines.py [--cases 200000]

Pure Python, no Django. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from governance.deadlines import SHANGHAI, LimitUnit, TimeLimit, WorkingCalendar, compute_deadline, elapsed_share  # noqa: E402

# Synthetic calendar (benchmark data, not an official holiday list): ~12 days off a year, 5 years.
HOLIDAYS = frozenset(date(y, m, d) for y in range(2024, 2029) for m, d in [(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(1)
    calendar = WorkingCalendar(holidays=HOLIDAYS)
    now = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    cases = []
    t0 = time.perf_counter()
    for _ in range(args.cases):
        start = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 28))
        limit = TimeLimit(rng.randrange(1, 20 * 7), LimitUnit.WORKING_HOURS)
        cases.append((start, compute_deadline(start, limit, calendar).due))
    computed = time.perf_counter() - t0
    t0 = time.perf_counter()
    yellow = sum(elapsed_share(start, now, due, LimitUnit.WORKING_HOURS, calendar) >= 0.8 for start, due in cases)
    shares = time.perf_counter() - t0
    print(json.dumps({"bench": "deadlines", "cases": args.cases, "compute_deadline_s": round(computed, 3),
                      "elapsed_share_s": round(shares, 3), "yellow_or_worse": yellow}))


if __name__ == "__main__":
    main()
