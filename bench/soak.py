"""Soak: minutes of mixed load (reports, lists, case pages, map GeoJSON) on the city-scale database;
zero errors and flat memory expected.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 20] [--threads 16]

Open loop at ``--rate`` requests/s in all: 40 % reports (POST /api/v1/dispatch/events/), 20 % case
list API, 15 % queue page (dispatcher / operator), 15 % case page, 10 % grid GeoJSON of a district.
gunicorn runs without --max-requests here, so the same worker processes serve throughout; the RSS of
every gunicorn worker and of the Celery worker (main + pool) is sampled from /proc every 10 s.
Prints one JSON line: requests, errors, p95 per kind, RSS start/end/max per process and the total
RSS of gunicorn's workers and of Celery at each minute (flat after the first minute's warm-up: the
grid index, the geometry and template caches).
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import Load, Reports, Servers, emit, rss_kib, say  # noqa: E402
from bench.reads import ReadMix  # noqa: E402

MIX = [("report", 40), ("case_list_api", 20), ("queue_dispatcher", 8), ("queue_operator", 7), ("case_page", 15),
       ("grid_geojson_district", 10)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--sample", type=float, default=10)
    args = parser.parse_args(argv)
    common.setup_django()
    reports = Reports(title="基准浸泡", description="soak report (synthetic)", kind="report")
    kinds = [k for k, w in MIX for _ in range(w)]
    with Servers(collectstatic=True) as servers:
        mix = ReadMix(servers)

        def request(thread: int, n: int):
            kind = random.Random(n * 7919 + 13).choice(kinds)
            return reports.request(n) if kind == "report" else mix.request(kind, n)

        samples: list[dict] = []
        stop = threading.Event()

        def sampler():
            while True:
                samples.append({"t": round(time.monotonic() - t0),
                                "web": {pid: rss_kib(pid) for pid in servers.web_pids()},
                                "celery": {pid: rss_kib(pid) for pid in servers.worker_pids()}})
                if stop.wait(args.sample):
                    break

        t0 = time.monotonic()
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        load = Load(servers.port, request, threads=args.threads, seconds=args.minutes * 60, rate=args.rate).run()
        stop.set()
        thread.join()
        f = load.figures()

    def rss(group: str) -> dict:
        pids = sorted({pid for s in samples for pid in s[group]})
        per = {}
        for pid in pids:
            values = [s[group][pid] for s in samples if s[group].get(pid)]
            if values:
                per[str(pid)] = {"start_mib": round(values[0] / 1024, 1), "end_mib": round(values[-1] / 1024, 1),
                                 "max_mib": round(max(values) / 1024, 1)}
        totals = [sum(s[group].values()) / 1024 for s in samples if s[group]]
        return {"processes": per, "total_start_mib": round(totals[0], 1) if totals else None,
                "total_end_mib": round(totals[-1], 1) if totals else None,
                "total_max_mib": round(max(totals), 1) if totals else None}

    def by_minute(group: str) -> list[float]:
        """Total RSS of the group (MiB) at each minute mark, from the sample nearest to it."""
        marks = []
        for minute in range(int(args.minutes) + 1):
            near = min((s for s in samples if s[group]), key=lambda s: abs(s["t"] - minute * 60), default=None)
            if near is not None:
                marks.append(round(sum(near[group].values()) / 1024, 1))
        return marks

    figures = {"benchmark": "soak", "machine": common.machine(), "minutes": args.minutes, "target_rps": args.rate,
               "requests": f["requests"], "ok": f["ok"], "errors": f["errors"], "errors_by_kind": f["errors_by_kind"],
               "rps": f["rps"], "p95_ms": {k: v["p95_ms"] for k, v in f["kinds"].items()},
               "p50_ms": {k: v["p50_ms"] for k, v in f["kinds"].items()},
               "count": {k: v["n"] for k, v in f["kinds"].items()}, "samples": len(samples),
               "rss_gunicorn": rss("web"), "rss_celery": rss("celery"),
               "rss_mib_by_minute": {"gunicorn": by_minute("web"), "celery": by_minute("celery")}}
    if load.error_samples:
        say("errors: " + " | ".join(load.error_samples))
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
