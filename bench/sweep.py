"""The deadline sweep over the city's open cases (dispatch.sweep.sweep, called directly).

    .venv/bin/python bench/sweep.py [--hours-ahead 0]

Runs in one transaction that is rolled back, so gg_city's cases keep their states and colours:
the sweep's own per-batch transactions become savepoints inside it. ``--hours-ahead`` sweeps as of
a later instant (more cases crossing a line: a heavier sweep). The cache lock lives in Redis db 9.
Prints one JSON line: open cases, cases in swept states, seconds, the sweep's counts.
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours-ahead", type=float, default=0)
    args = parser.parse_args(argv)
    common.setup_django()
    from django.db import transaction
    from django.utils import timezone

    from dispatch import sweep as deadline_sweep
    from dispatch.models import Event
    from dispatch.workflow import OPEN_STATES

    open_cases = Event.objects.filter(state__in=OPEN_STATES).count()
    swept = Event.objects.filter(state__in=deadline_sweep.SWEPT_STATES).count()
    now = timezone.now() + datetime.timedelta(hours=args.hours_ahead)
    result, seconds = None, None
    try:
        with transaction.atomic():
            t0 = time.monotonic()
            result = deadline_sweep.sweep(now)
            seconds = time.monotonic() - t0
            raise Rollback
    except Rollback:
        pass
    common.emit({"benchmark": "sweep", "machine": common.machine(), "open_cases": open_cases,
                 "swept_state_cases": swept, "hours_ahead": args.hours_ahead, "seconds": round(seconds, 2),
                 "result": dataclasses.asdict(result), "rolled_back": True, "target_s": 5})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
