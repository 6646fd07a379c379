"""Where one page's time goes: a page of the app requested in this process (Django's test client) on
the city-scale database, signed in as a given person, without gunicorn or a network in between.

    .venv/bin/python bench/page_profile.py [--user syn-dispatcher-d01-1] [--path /dispatch/] [--runs 30]
    .venv/bin/python bench/page_profile.py --sql       # the page's queries, slowest first
    .venv/bin/python bench/page_profile.py --profile   # cProfile of 10 requests, by cumulative time

Prints the median wall time and the median and least CPU time of this process per request (waits
for PostgreSQL are wall time, not CPU), or the queries or the profile, then one JSON line. The
servers' figures are bench/reads.py's; this is the tool that said where to look (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import emit, say  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="syn-dispatcher-d01-1")
    parser.add_argument("--path", default="/dispatch/")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="list the page's queries, slowest first")
    parser.add_argument("--profile", action="store_true", help="cProfile of 10 requests")
    args = parser.parse_args(argv)
    common.setup_django()

    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client

    from governance.models import User

    # The test client's host, and static files by name (the benchmark does not collect them).
    settings.ALLOWED_HOSTS = ["*"]
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(User.objects.get(username=args.user))
    for _warm in range(3):
        answer = client.get(args.path)
        if answer.status_code != 200:
            say(f"{args.path} answered {answer.status_code}")
            return 1
    figures: dict = {"benchmark": "page_profile", "machine": common.machine(), "user": args.user, "path": args.path}

    if args.sql:
        settings.DEBUG = True  # Django logs the queries only with DEBUG on
        reset_queries()
        started = time.perf_counter()
        client.get(args.path)
        figures["ms"] = round((time.perf_counter() - started) * 1000, 1)
        queries = connection.queries
        settings.DEBUG = False
        figures["queries"] = len(queries)
        figures["sql_ms"] = round(sum(float(q["time"]) for q in queries) * 1000, 1)
        for query in sorted(queries, key=lambda q: -float(q["time"])):
            say(f"{float(query['time']) * 1000:7.1f} ms  {query['sql'][:300]}")
    elif args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for _run in range(10):
            client.get(args.path)
        profile.disable()
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(60)
    else:
        wall, cpu = [], []
        for _run in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            client.get(args.path)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        figures.update(runs=args.runs, wall_ms_median=round(statistics.median(wall) * 1000, 1),
                       cpu_ms_median=round(statistics.median(cpu) * 1000, 1), cpu_ms_least=round(min(cpu) * 1000, 1),
                       bytes=len(answer.content))
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
