"""Reads on the city-scale database: the command-centre queue page, the case list API, the case page
and the grid GeoJSON of a district, under gunicorn with concurrent keep-alive clients.

    .venv/bin/python bench/reads.py [--threads 8] [--seconds 20] [--rate N]

Each kind is measured on its own, ``--threads`` clients for ``--seconds``: closed loop (each client sends
as soon as it has its answer: the throughput, and latencies under saturation), or with ``--rate``, open
loop at N requests/s of that kind (latencies at a given load, queueing included):
- ``queue_dispatcher``: GET /dispatch/ (workbench) signed in as a district dispatcher (syn-dispatcher-d01-1);
- ``queue_operator``: the same page as a street operator (syn-operator-s0101-1);
- ``case_list_api``: GET /api/v1/dispatch/events/ with the dispatcher's token (first page);
- ``case_page``: GET /dispatch/cases/<id>/ for cases of the district, signed in as the dispatcher;
- ``grid_geojson_district``: GET /api/v1/grids/geojson/?unit=<district>&zoom=13 (1,000 grids), token.
Prints one JSON line: p50/p95/p99 per kind.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import Load, Servers, emit, get, say  # noqa: E402

DISPATCHER = "syn-dispatcher-d01-1"
OPERATOR = "syn-operator-s0101-1"
DISTRICT_CODE = "990101000000"


class ReadMix:
    """The read requests of the benchmarks (shared with bench/soak.py)."""

    def __init__(self, servers: Servers):
        from governance.models import AdministrativeUnit

        self.token = common.bench_token(DISPATCHER)
        self.api = {"Authorization": f"Bearer {self.token}", "Accept-Language": "en"}
        self.dispatcher = {"Cookie": common.session_cookie(servers.base_url, DISPATCHER), "Accept-Language": "en"}
        self.operator = {"Cookie": common.session_cookie(servers.base_url, OPERATOR), "Accept-Language": "en"}
        self.district = AdministrativeUnit.objects.get(code=DISTRICT_CODE).pk
        request = urllib.request.Request(f"{servers.base_url}/api/v1/dispatch/events/?page_size=100", headers=self.api)
        with urllib.request.urlopen(request, timeout=60) as answer:
            listed = json.load(answer)
        rows = listed.get("results", listed) if isinstance(listed, dict) else listed
        self.case_ids = [row["id"] for row in rows] or [1]

    def request(self, kind: str, n: int):
        if kind == "queue_dispatcher":
            return get(kind, "/dispatch/", self.dispatcher)
        if kind == "queue_operator":
            return get(kind, "/dispatch/", self.operator)
        if kind == "case_list_api":
            return get(kind, "/api/v1/dispatch/events/", self.api)
        if kind == "case_page":
            return get(kind, f"/dispatch/cases/{self.case_ids[n % len(self.case_ids)]}/", self.dispatcher)
        if kind == "grid_geojson_district":
            return get(kind, "/api/v1/grids/geojson/", self.api, {"unit": self.district, "zoom": 13})
        raise ValueError(kind)


KINDS = ("queue_dispatcher", "queue_operator", "case_list_api", "case_page", "grid_geojson_district")
TARGETS_MS = {"queue_dispatcher": 100, "queue_operator": 100, "case_list_api": 100, "grid_geojson_district": 200}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=None, help="requests/s of each kind (open loop)")
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args(argv)
    common.setup_django()
    figures: dict = {"benchmark": "reads", "machine": common.machine(), "threads": args.threads, "rate": args.rate,
                     "kinds": {}}
    with Servers(collectstatic=True) as servers:
        mix = ReadMix(servers)
        for kind in args.kinds.split(","):
            Load(servers.port, lambda t, n, k=kind: mix.request(k, n), threads=2, total=20).run()  # warm
            load = Load(servers.port, lambda t, n, k=kind: mix.request(k, n), threads=args.threads,
                        seconds=args.seconds, rate=args.rate).run()
            f = load.figures()
            figures["kinds"][kind] = {**f["kinds"].get(kind, {}), "rps": f["rps"], "errors": f["errors"],
                                      "target_p95_ms": TARGETS_MS.get(kind)}
            say(f"{kind}: {figures['kinds'][kind]}" + (f" errors: {load.error_samples}" if load.error_samples else ""))
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
