"""Intake through the REST API on the city-scale database, beside the raw PostgreSQL insert floor.

    .venv/bin/python bench/intake_api.py [--threads 16] [--total 3000] [--rate 300] [--rate-seconds 20]

1. Floor: ``--threads`` connections each INSERTing one row per transaction (autocommit, so one
   commit and WAL flush each) into a scratch table ``bench_insert_floor`` (dropped afterwards),
   ``--total`` rows: rows/s and per-insert p50/p95/p99.
2. Closed loop: ``--threads`` keep-alive clients POST /api/v1/dispatch/events/ as fast as answers come
   (``--total`` reports; a token of the benchmarks' reporting account ``syn-bench-api``, a system
   with no jurisdiction; a unique Idempotency-Key each, points at centroids of real grids of gg_city):
   throughput and latencies, and the CPU each report costs in every process.
3. Open loop at ``--rate`` requests/s for ``--rate-seconds``: latencies at the target rate.

gunicorn (gthread, 3 workers × 4 threads) and a Celery worker run against gg_city and Redis db 9
(see bench/common.py). The reports are real cases in gg_city, titled "基准上报 …（合成）".
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import CpuMeter, Load, Reports, Servers, emit, say, summary  # noqa: E402


def insert_floor(database_url: str, *, threads: int, total: int) -> dict:
    import psycopg2

    def connect():
        return psycopg2.connect(database_url.replace("postgres://", "postgresql://"))

    admin = connect()
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_insert_floor")
        cur.execute("CREATE TABLE bench_insert_floor (id bigserial PRIMARY KEY, title text NOT NULL, "
                    "lon double precision, lat double precision, data jsonb, at timestamptz NOT NULL DEFAULT now())")
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def work():
        conn = connect()
        conn.autocommit = True
        mine = []
        with conn.cursor() as cur:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    break
                t0 = time.monotonic()
                cur.execute("INSERT INTO bench_insert_floor (title, lon, lat, data) VALUES (%s, %s, %s, %s)",
                            (f"floor {n}", 108.9, 34.3, '{"k": 1}'))
                mine.append(time.monotonic() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)

    start = time.monotonic()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    with admin.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        sync = cur.fetchone()[0]
        cur.execute("SHOW fsync")
        fsync = cur.fetchone()[0]
        cur.execute("DROP TABLE bench_insert_floor")
    admin.close()
    return {"rows": total, "seconds": round(elapsed, 2), "rows_per_s": round(total / elapsed, 1),
            "synchronous_commit": sync, "fsync": fsync, **summary(latencies)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--total", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--rate-seconds", type=float, default=20)
    parser.add_argument("--web-workers", type=int, default=3)
    args = parser.parse_args(argv)

    common.setup_django()
    reports = Reports(title="基准上报", description="benchmark report (synthetic)", kind="intake")
    say(f"intake: {len(reports.points)} grid points, category {reports.category}, run {reports.run}")

    def report(thread: int, n: int, phase: str):
        return reports.request(n, phase)

    figures: dict = {"benchmark": "intake_api", "machine": common.machine(), "threads": args.threads}
    say("floor: raw PostgreSQL single-row inserts …")
    figures["pg_insert_floor"] = insert_floor(common.DATABASE_URL, threads=args.threads, total=args.total)
    say(f"  {figures['pg_insert_floor']}")
    with Servers(web_workers=args.web_workers) as servers:
        Load(servers.port, lambda t, n: report(t, n, "warm"), threads=4, total=100).run()
        say("closed loop …")
        meter = CpuMeter(servers).start()
        closed = Load(servers.port, lambda t, n: report(t, n, "closed"), threads=args.threads, total=args.total).run()
        figures["closed_loop"] = {**{k: v for k, v in closed.figures().items() if k != "kinds"},
                                  **closed.figures()["kinds"].get("intake", {}),
                                  "cpu_ms_per_report": meter.per_request_ms(closed.figures()["ok"])}
        say(f"  {figures['closed_loop']}")
        if closed.error_samples:
            say("  errors: " + " | ".join(closed.error_samples))
        say(f"open loop at {args.rate}/s …")
        opened = Load(servers.port, lambda t, n: report(t, n, "rate"), threads=max(args.threads, 32),
                      seconds=args.rate_seconds, rate=args.rate).run()
        figures["at_rate"] = {"target_rps": args.rate,
                              **{k: v for k, v in opened.figures().items() if k != "kinds"},
                              **opened.figures()["kinds"].get("intake", {})}
        say(f"  {figures['at_rate']}")
        if opened.error_samples:
            say("  errors: " + " | ".join(opened.error_samples))
    figures["targets"] = {"p95_ms": 50, "rps": 300}
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
