"""Shared pieces of the city-scale benchmarks (bench/intake_api.py, reads.py, sweep.py, soak.py).

Unlike bench/stack.py (a throwaway stack with its own PostgreSQL and Redis, for the drills), these
run against an existing city-scale database (``manage.py seed_city``; ``gg_city`` by default) and a
shared Redis on a database index of their own, with the app processes started here:

- ``Servers``: gunicorn (gthread, the Dockerfile's flags, 3 workers × 4 threads) and a Celery worker
  (prefork) against a given DATABASE_URL / REDIS_URL, with the production-like environment
  bench/stack.py uses (DEBUG off, a random SECRET_KEY, ALLOWED_HOSTS for loopback, no SSL redirect,
  API rates high enough not to throttle the load);
- ``setup_django``: Django in the benchmark's own process on the same database (for fixtures:
  a bench API client and token, points inside real grids);
- ``Load``: a load generator of threads, each with its own keep-alive ``http.client`` connection;
- ``summary`` (p50/p95/p99), ``rss_kib`` (from /proc), ``emit`` (the one JSON line at the end).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stack import (  # noqa: E402
    APP_ENV_DROPPED,
    PYTHON,
    _dies_with_us,
    celery_worker_command,
    children_of,
    free_port,
    gunicorn_command,
    tail,
    wait_for,
)
from bench.stack import app_env as stack_app_env  # noqa: E402

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gg_city")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
SYNTHETIC_PASSWORD = "gridgov-synthetic-2026"  # the seeded city's shared password (docs/seed.md)
BENCH_CLIENT = "bench-city"


def machine() -> dict:
    import platform

    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return {"cores": os.cpu_count(), "mem_gib": round(mem / 2**20), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d")}


def app_env(database_url: str, redis_url: str, var_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The app processes' environment (bench/stack.py's), with rates no benchmark reaches."""
    return stack_app_env(database_url, redis_url, var_dir, extra, secret_key=os.environ.get("BENCH_SECRET_KEY"),
                         api_rate="10000000/minute")


def setup_django(database_url: str = DATABASE_URL, redis_url: str = REDIS_URL) -> None:
    """Django in this process, on the benchmark's database and Redis (same settings as the servers)."""
    var_dir = Path(tempfile.mkdtemp(prefix="gridgov-bench-"))
    for key in [k for k in os.environ if k.startswith(APP_ENV_DROPPED)]:
        del os.environ[key]
    os.environ.update(app_env(database_url, redis_url, var_dir))
    import django

    django.setup()


# --- Fixtures in the city database -------------------------------------------------------------------


def bench_token(username: str = "syn-dispatcher-d01-1",
                scopes: tuple[str, ...] = ("dispatch:read", "dispatch:report", "grids:read")) -> str:
    """A fresh token of the API client ``bench-city`` acting as ``username`` (created once)."""
    from governance.api.auth import token_issue
    from governance.models import ApiClient, User

    user = User.objects.get(username=username)
    client, _created = ApiClient.objects.get_or_create(name=f"{BENCH_CLIENT}-{username}",
                                                       defaults={"account": user, "scopes": list(scopes)})
    if sorted(client.scopes) != sorted(scopes):
        client.scopes = list(scopes)
        client.save(update_fields=["scopes"])
    return token_issue(client=client, label="bench (synthetic city)")[1]


# The account the benchmarks' reports are filed as: a system feeding reports through the API (as a
# hotline or IoT platform would), with no jurisdiction, so that its reports (thousands a run, all open)
# do not land in the queue of the dispatcher whose pages the read benchmarks measure.
REPORTER = "syn-bench-api"


def bench_reporter_token() -> str:
    """A token for ``REPORTER`` (created once; labelled synthetic like the seeded accounts)."""
    from governance.models import User

    User.objects.get_or_create(username=REPORTER, defaults={"full_name": "基准接口账号（合成）"})
    return bench_token(REPORTER, scopes=("dispatch:read", "dispatch:report"))


def grid_points(n: int = 2000, *, district_code: str | None = None, seed: int = 7) -> list[tuple[float, float]]:
    """``n`` (lon, lat) points inside real grids of the city (grid centroids checked with the locator)."""
    from grids.models import Grid
    from grids.selectors import locate_point

    rows = Grid.objects.filter(is_active=True, centroid_lon__isnull=False)
    if district_code:
        rows = rows.filter(community__code__startswith=district_code[:6])
    rows = list(rows.values_list("pk", "centroid_lon", "centroid_lat"))
    random.Random(seed).shuffle(rows)
    points = []
    for pk, lon, lat in rows:
        located = locate_point(lon, lat)
        if getattr(located, "grid", None) is not None:
            points.append((round(lon, 6), round(lat, 6)))
        if len(points) >= n:
            break
    return points


def report_category() -> int:
    """A plain minor class (normal urgency, general track, not auto-dispatched), as the stack's seed picks."""
    from dispatch.models import MinorClass, Track, Urgency

    minor = (MinorClass.objects.filter(is_active=True, major__is_active=True, urgency=Urgency.NORMAL,
                                       track=Track.GENERAL, self_handling=False)
             .order_by("major__kind", "major__code", "code").first())
    return minor.pk


class Reports:
    """Reports as the intake benchmarks file them: by ``REPORTER``, at centroids of real grids, in one
    plain category, titled ``title``（合成）, a unique Idempotency-Key each."""

    def __init__(self, *, title: str, description: str, kind: str):
        self.title, self.description, self.kind = title, description, kind
        self.points = grid_points(2000)
        self.category = report_category()
        self.run = uuid.uuid4().hex[:8]
        self.headers = {"Authorization": f"Bearer {bench_reporter_token()}", "Accept-Language": "en"}

    def request(self, n: int, phase: str = "") -> Request:
        lon, lat = self.points[n % len(self.points)]
        label = "-".join(filter(None, (self.run, phase, str(n))))
        body = {"category": self.category, "title": f"{self.title} {label}（合成）", "description": self.description,
                "address": f"基准路 {n} 号（合成）", "lon": lon, "lat": lat}
        return json_request(self.kind, "/api/v1/dispatch/events/", body,
                            {**self.headers, "Idempotency-Key": f"{self.kind}-{label}"})


# --- The app processes -------------------------------------------------------------------------------


class Servers:
    """gunicorn + a Celery worker on ``database_url`` / ``redis_url``; a context manager.

    ``max_requests`` (the Dockerfile recycles workers every ~1000 requests) is off by default so that
    the soak sees the same worker processes throughout; pass 1000 to run exactly as the image does."""

    def __init__(self, *, database_url: str = DATABASE_URL, redis_url: str = REDIS_URL, web_workers: int = 3,
                 web_threads: int = 4, celery_concurrency: int = 2, worker: bool = True, max_requests: int = 0,
                 collectstatic: bool = False, extra_env: dict[str, str] | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="gridgov-bench-"))
        (self.dir / "logs").mkdir()
        self.env = app_env(database_url, redis_url, self.dir / "var", extra_env)
        self.port = free_port()
        self.web_workers, self.web_threads = web_workers, web_threads
        self.celery_concurrency, self.want_worker = celery_concurrency, worker
        self.max_requests, self.collectstatic = max_requests, collectstatic
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def __enter__(self) -> Servers:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        out = open(self.dir / "logs" / f"{name}.log", "ab")
        return subprocess.Popen(_dies_with_us(command), cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> None:
        if self.collectstatic:  # HTML pages with DEBUG off need the manifest (STATIC_ROOT, git-ignored)
            subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=self.env,
                           check=True, capture_output=True)
        self.web = self._spawn("gunicorn", gunicorn_command(
            self.port, workers=self.web_workers, threads=self.web_threads, timeout=60, graceful_timeout=30,
            max_requests=self.max_requests))
        if self.want_worker:
            self.worker = self._spawn("celery", celery_worker_command(concurrency=self.celery_concurrency,
                                                                      name=f"bench-{self.port}"))
        wait_for(self._web_ready, timeout=120, what="gunicorn", log=self.dir / "logs" / "gunicorn.log")
        if self.worker:
            log = self.dir / "logs" / "celery.log"
            wait_for(lambda: log.exists() and b" ready." in log.read_bytes(), timeout=120, what="celery", log=log)

    def _web_ready(self) -> bool:
        if self.web.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {tail(self.dir / 'logs' / 'gunicorn.log')}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
        except OSError:
            return False
        return len(self.web_pids()) >= self.web_workers

    def web_pids(self) -> list[int]:
        return children_of(self.web.pid) if self.web and self.web.poll() is None else []

    def worker_pids(self) -> list[int]:
        """The Celery main process and its pool processes."""
        if not self.worker or self.worker.poll() is not None:
            return []
        return [self.worker.pid, *children_of(self.worker.pid)]

    def log_tail(self, name: str, lines: int = 40) -> str:
        return tail(self.dir / "logs" / f"{name}.log", lines)

    def close(self) -> None:
        for proc in (self.worker, self.web):
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in (self.worker, self.web):
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if not os.environ.get("BENCH_KEEP"):
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)


def session_cookie(base_url: str, username: str, password: str = SYNTHETIC_PASSWORD) -> str:
    """Log in through /login/ like a browser; returns the Cookie header value (session + CSRF)."""
    import re

    import requests

    s = requests.Session()
    page = s.get(f"{base_url}/login/", timeout=30)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    done = s.post(f"{base_url}/login/", data={"username": username, "password": password,
                                              "csrfmiddlewaretoken": csrf},
                  headers={"Referer": f"{base_url}/login/"}, timeout=30, allow_redirects=False)
    if done.status_code != 302 or "sessionid" not in s.cookies:
        raise RuntimeError(f"login as {username} failed: {done.status_code}")
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


# --- Measuring ----------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) of ``values``, nearest-rank on the sorted list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def summary(seconds: list[float]) -> dict:
    """Latencies in ms: n, p50, p95, p99, max."""
    return {"n": len(seconds), "p50_ms": round(pct(seconds, 50) * 1000, 1), "p95_ms": round(pct(seconds, 95) * 1000, 1),
            "p99_ms": round(pct(seconds, 99) * 1000, 1),
            "max_ms": round(max(seconds) * 1000, 1) if seconds else None}


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids) -> float:
    """User + system CPU seconds used so far by ``pids`` (from /proc; a process gone counts 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the benchmark's database is the busy one)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds spent by the web workers, the Celery worker, PostgreSQL and this process (the load
    generator) between ``start()`` and ``stop()``: where each request's cost goes on a shared machine."""

    def __init__(self, servers: Servers):
        self.servers = servers

    def _read(self) -> dict[str, float]:
        import resource

        me = resource.getrusage(resource.RUSAGE_SELF)
        return {"web": cpu_seconds(self.servers.web_pids()), "celery": cpu_seconds(self.servers.worker_pids()),
                "postgres": cpu_seconds(postgres_pids()), "load_generator": me.ru_utime + me.ru_stime}

    def start(self) -> CpuMeter:
        self.before = self._read()
        return self

    def per_request_ms(self, requests: int) -> dict[str, float]:
        after = self._read()
        used = {k: after[k] - self.before[k] for k in after}
        used["total"] = sum(used.values())
        return {k: round(v * 1000 / max(requests, 1), 1) for k, v in used.items()}


def emit(figures: dict) -> None:
    """The benchmark's one JSON line (last line of stdout)."""
    print(json.dumps(figures, ensure_ascii=False, separators=(",", ":")), flush=True)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Request:
    """One request a load thread sends: ``kind`` labels it in the figures."""

    __slots__ = ("kind", "method", "path", "body", "headers", "ok")

    def __init__(self, kind: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                 ok: tuple[int, ...] = (200, 201)):
        self.kind, self.method, self.path, self.body, self.headers, self.ok = kind, method, path, body, headers or {}, ok


def json_request(kind: str, path: str, payload: dict, headers: dict) -> Request:
    return Request(kind, "POST", path, json.dumps(payload).encode(), {**headers, "Content-Type": "application/json"})


def get(kind: str, path: str, headers: dict, params: dict | None = None) -> Request:
    return Request(kind, "GET", path + ("?" + urlencode(params) if params else ""), None, headers)


class Load:
    """``threads`` clients on keep-alive connections, each sending ``next_request(thread, n)``.

    Stops after ``total`` requests or ``seconds``; ``rate`` (requests/s across all threads) paces
    the load (open loop per thread: a slow answer does not delay the schedule, so queueing shows in
    the latencies), otherwise each thread sends as fast as it gets answers (closed loop)."""

    def __init__(self, port: int, next_request: Callable[[int, int], Request], *, threads: int,
                 total: int | None = None, seconds: float | None = None, rate: float | None = None,
                 timeout: float = 30):
        self.port, self.next_request, self.threads = port, next_request, threads
        self.total, self.seconds, self.rate, self.timeout = total, seconds, rate, timeout
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.error_samples: list[str] = []
        self._lock = threading.Lock()
        self._counter = 0
        self.elapsed = 0.0

    def _take(self) -> int | None:
        with self._lock:
            if self.total is not None and self._counter >= self.total:
                return None
            self._counter += 1
            return self._counter - 1

    def _thread(self, index: int, stop_at: float, start: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        interval = self.threads / self.rate if self.rate else 0
        next_at = start + random.Random(index).random() * interval
        lat, errs = defaultdict(list), defaultdict(lambda: defaultdict(int))
        samples = []
        while time.monotonic() < stop_at:
            if interval:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at += interval
            n = self._take()
            if n is None:
                break
            req = self.next_request(index, n)
            t0 = time.monotonic()
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                resp = conn.getresponse()
                body = resp.read()
                status = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except Exception as exc:  # noqa: BLE001 — counted, reconnect and go on
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                errs[req.kind][type(exc).__name__] += 1
                continue
            took = time.monotonic() - t0
            if status in req.ok:
                lat[req.kind].append(took)
            else:
                errs[req.kind][str(status)] += 1
                if len(samples) < 3:
                    samples.append(f"{req.kind} {status} {body[:300]!r}")
        conn.close()
        with self._lock:
            for kind, values in lat.items():
                self.latencies[kind].extend(values)
            for kind, counts in errs.items():
                for code, count in counts.items():
                    self.errors[kind][code] += count
            self.error_samples.extend(samples)

    def run(self) -> Load:
        start = time.monotonic()
        stop_at = start + (self.seconds if self.seconds else 10**9)
        workers = [threading.Thread(target=self._thread, args=(i, stop_at, start), daemon=True)
                   for i in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.elapsed = time.monotonic() - start
        return self

    def figures(self) -> dict:
        done = sum(len(v) for v in self.latencies.values())
        errors = sum(sum(c.values()) for c in self.errors.values())
        return {"requests": done + errors, "ok": done, "errors": errors,
                "errors_by_kind": {k: dict(v) for k, v in self.errors.items()},
                "seconds": round(self.elapsed, 2), "rps": round(done / self.elapsed, 1) if self.elapsed else None,
                "kinds": {k: summary(v) for k, v in sorted(self.latencies.items())}}
