"""The deadline sweep over the city's open cases (dispatch.sweep.sweep, called directly).

    .venv/bin/python bench/sweep.py [--open-cases 200000] [--hours-ahead 0]

Runs in one transaction that is rolled back, so gg_city's cases keep their states and colours:
the sweep's own per-batch transactions become savepoints inside it. The seeded city has about
176,000 open cases (one in ten stuck somewhere, docs/seed.md); ``--open-cases`` tops them up first,
inside that transaction, by re-opening the latest evaluated cases with the state and step clock of
open cases drawn at random (so the added ones look like the rest: the same share overdue, warned,
paused). ``--hours-ahead`` sweeps as of a later instant (more cases crossing a line: a heavier sweep).
The cache lock lives in Redis db 9. Prints one JSON line: open cases, cases in swept states,
seconds, the sweep's counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402


class Rollback(Exception):
    pass


CLOCK_COLUMNS = ("state", "step", "step_started_at", "step_limit_amount", "step_limit_unit", "step_yellow_at",
                 "step_due_at", "step_rule", "alert", "escalated_at", "paused_at", "handling_due_at")


def top_up_open_cases(target: int, open_states: list[str]) -> int:
    """Re-open the latest evaluated cases until ``target`` are open, each taking the state and clock of
    an open case drawn at random (reproducibly). Call inside the transaction that is rolled back."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM dispatch_event WHERE state = ANY(%s)", [open_states])
        missing = target - cur.fetchone()[0]
        if missing <= 0:
            return 0
        cur.execute("SELECT setseed(0.42)")
        assignments = ", ".join(f"{c} = d.{c}" for c in CLOCK_COLUMNS)
        cur.execute(f"""
            WITH donors AS (
                SELECT row_number() OVER (ORDER BY random()) AS n, {", ".join(CLOCK_COLUMNS)}
                FROM dispatch_event WHERE state = ANY(%(open)s)
            ), takers AS (
                SELECT row_number() OVER (ORDER BY id DESC) AS n, id
                FROM dispatch_event WHERE state = 'evaluated' ORDER BY id DESC LIMIT %(missing)s
            )
            UPDATE dispatch_event e SET {assignments}, closed_at = NULL
            FROM takers t JOIN donors d ON d.n = (t.n - 1) %% (SELECT count(*) FROM donors) + 1
            WHERE e.id = t.id""", {"open": open_states, "missing": missing})
        return cur.rowcount


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-cases", type=int, default=200_000, help="top the open cases up to this many")
    parser.add_argument("--hours-ahead", type=float, default=0)
    args = parser.parse_args(argv)
    common.setup_django()
    from django.db import transaction
    from django.utils import timezone

    from dispatch import sweep as deadline_sweep
    from dispatch.models import Event
    from dispatch.workflow import OPEN_STATES

    now = timezone.now() + datetime.timedelta(hours=args.hours_ahead)
    result, seconds = None, None
    try:
        with transaction.atomic():
            added = top_up_open_cases(args.open_cases, sorted(OPEN_STATES))
            open_cases = Event.objects.filter(state__in=OPEN_STATES).count()
            swept = Event.objects.filter(state__in=deadline_sweep.SWEPT_STATES).count()
            t0 = time.monotonic()
            result = deadline_sweep.sweep(now)
            seconds = time.monotonic() - t0
            raise Rollback
    except Rollback:
        pass
    common.emit({"benchmark": "sweep", "machine": common.machine(), "open_cases": open_cases, "re_opened": added,
                 "swept_state_cases": swept, "hours_ahead": args.hours_ahead, "seconds": round(seconds, 2),
                 "result": dataclasses.asdict(result), "rolled_back": True, "target_s": 5})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
