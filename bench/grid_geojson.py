"""Benchmark the grid GeoJSON endpoint with 10,000 synthetic grids.

Builds a throwaway SQLite database (or uses DATABASE_URL), a synthetic city of 1,000 communities
with 10 grids each (the jittered lattice of bench/point_lookup.py, ~20 vertices per grid), then
times GET /api/v1/grids/geojson/ through the Django test client: the whole city at zoom 12 and a
street-sized window at zoom 16, cold (geometry cache empty) and warm, for a superuser and for a
street operator (scoped). Prints one JSON line.

    .venv/bin/python bench/grid_geojson.py [--side 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
if "DATABASE_URL" not in os.environ:
    os.environ["GRIDGOV_VAR_DIR"] = tempfile.mkdtemp(prefix="gridgov-bench-")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from bench.point_lookup import synthetic_grids  # noqa: E402


def build(side: int):
    from governance.models import AdministrativeUnit, UnitLevel, User
    from governance.roles import Role
    from governance.services import role_assign
    from grids import geometry as geo
    from grids.models import Grid

    def unit(code, name, level, parent=None):
        return AdministrativeUnit.objects.create(code=code, name=name, level=level, parent=parent, is_synthetic=True)

    city = unit("990100000000", "基准市", UnitLevel.CITY)
    district = unit("990101000000", "基准区", UnitLevel.COUNTY, city)
    polygons, _bounds = synthetic_grids(side, seed=1, segments=3)
    streets, communities, grids = [], {}, []
    for index, (_gid, polygon) in enumerate(polygons):
        community_no, sequence = divmod(index, 10)
        street_no = community_no // 100
        if street_no == len(streets):
            streets.append(unit(f"990101{street_no + 1:03d}000", f"基准街道{street_no + 1}", UnitLevel.TOWNSHIP, district))
        if community_no not in communities:
            communities[community_no] = unit(f"990101{street_no + 1:03d}{community_no % 100 + 1:03d}",
                                             f"基准社区{community_no + 1}", UnitLevel.VILLAGE, streets[street_no])
        community = communities[community_no]
        derived = geo.derive(polygon).as_fields()
        grids.append(Grid(community=community, name=f"基准网格{index + 1}", code=f"{community.code}{sequence + 1:02d}",
                          code_scheme="cjt213", sequence=sequence + 1, boundary=geo.to_geojson(polygon),
                          households=300 + index % 200, is_synthetic=True, **derived))
    Grid.objects.bulk_create(grids, batch_size=1000)
    admin = User.objects.create_superuser("bench-admin", password="x")
    operator = User.objects.create_user("bench-operator", password="x")
    role_assign(user=operator, role=Role.STREET_OPERATOR, unit=streets[0], actor=None)
    vertices = sum(len(p.exterior.coords) for _, p in polygons) / len(polygons)
    return admin, operator, len(grids), vertices, polygons


def timed_get(client, url, params, repeat):
    times, queries, size, features = [], 0, 0, 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        queries, size = len(ctx), len(response.content)
        features = len(json.loads(response.content)["features"])
    return {"ms_median": round(statistics.median(times), 1), "ms_max": round(max(times), 1),
            "queries": queries, "bytes": size, "features": features}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=100, help="lattice side: side² grids (100 → 10,000)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    setup_test_environment()
    call_command("migrate", verbosity=0)
    admin, operator, count, vertices, polygons = build(args.side)
    url = "/api/v1/grids/geojson/"
    minx, miny, maxx, maxy = polygons[min(500, len(polygons) - 1)][1].bounds  # inside street 1
    window = {"bbox": f"{minx - 0.01},{miny - 0.01},{maxx + 0.01},{maxy + 0.01}", "zoom": 16}
    result = {"grids": count, "vertices_per_grid": round(vertices, 1), "database": connection.vendor}
    for label, user in (("superuser", admin), ("street_operator", operator)):
        client = Client()
        client.force_login(user)
        cache.clear()
        result[f"{label}_city_z12_cold"] = timed_get(client, url, {"zoom": 12}, 1)
        result[f"{label}_city_z12_warm"] = timed_get(client, url, {"zoom": 12}, args.repeat)
        result[f"{label}_window_z16_cold"] = timed_get(client, url, window, 1)
        result[f"{label}_window_z16_warm"] = timed_get(client, url, window, args.repeat)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
