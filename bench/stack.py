"""A throwaway GridGov stack for benchmarks and failure drills: PostgreSQL, Redis, gunicorn, Celery.

Every service is private to the stack: a PostgreSQL 15 cluster initialised in a temporary
directory, a Redis without persistence, gunicorn serving ``governance.wsgi`` and a Celery worker
(and beat, on request), each on a free loopback port. The machine's own PostgreSQL (5432) and
Redis (6379) are never touched, so a drill may stop, kill or restart what it likes while other
people's tests run against those.

    from bench.stack import Stack

    with Stack() as stack:                         # ~20 s: initdb, migrate, seed, start everything
        api = stack.client("reporter")              # requests.Session with the seeded client's token
        api.post(stack.url("/api/v1/dispatch/events/"), json={...}, headers={"Idempotency-Key": "k1"})
        stack.redis.stop(); stack.redis.start()     # each service: start / stop / kill / restart
        stack.postgres.restart(mode="fast")         # pg_ctl restart -m fast
        stack.worker.kill()                         # SIGKILL the whole Celery worker (pool included)
        stack.sql("SELECT count(*) FROM dispatch_event")  # [(n,)] straight from the stack's database
        stack.django("from dispatch.tasks import sweep; print(sweep())")  # code in a Django process

``Stack(...)`` options: ``web_workers``/``web_threads`` (gunicorn gthread, as the Dockerfile runs
it), ``celery_concurrency``, ``beat`` (run Celery beat with the settings' schedule),
``durable`` (keep PostgreSQL's fsync; off by default, which only matters if the machine crashes —
turn it on when measuring write throughput), ``redis_aof`` (Redis with an append-only file, as
docker-compose runs it; off by default, so a Redis restart loses its queue), ``seed`` (the small
synthetic data set below; False for an empty migrated database), ``env`` (extra environment for
the app processes, e.g. ``{"LOG_LEVEL": "INFO"}``), ``collectstatic`` (needed to serve HTML pages
with DEBUG off; API and JSON endpoints do not need it), ``preload`` (gunicorn ``--preload``, on by
default: workers boot in a fraction of the time; the app behaves the same), ``access_log``.

Also: ``stack.celery("call", "<task>", "--args", "[…]")`` (the CLI against the stack's broker),
``stack.manage(…)``, ``stack.value(sql)``, ``stack.web.worker_pids()``, ``stack.worker.kill_child()``,
``stack.refused_sends()`` (tasks the web and worker processes could not hand to the broker, by
name and exception, from their logs), ``stack.save_logs(dir)``, ``stack.describe()``.

The app processes run as production does (DEBUG=false, a random SECRET_KEY, ALLOWED_HOSTS for
loopback) except that plain HTTP is allowed (no SSL redirect, no secure cookies) and API clients
get a high rate limit (API_CLIENT_RATE), so load is not throttled.

The seed (``stack.data``, also written to ``<dir>/seed.json``): a synthetic district with one
street (街道) and two communities, four grids with square boundaries, a bureau with a handler,
``operators`` street operators, a reporting account, the catalogue's first plain minor class
(``category``) with the bureau as lead department, and API clients with tokens:
``reporter`` (dispatch:read, dispatch:report, acting as a district dispatcher), ``operator-<n>``
(dispatch:read, dispatch:act, acting as each street operator). ``points`` are (lon, lat) inside
each grid; ``outside`` is a point in no grid (reports there are routed by the street centre and
tell its staff).

Clean-up: ``close()`` (or leaving the ``with`` block, or SIGTERM/SIGHUP, or interpreter exit)
stops every process and removes the directory (``GRIDGOV_STACK_KEEP=1`` keeps it, logs and all).
Processes are started in sessions of their own and, when started from the main thread, die with
the process that started them (PR_SET_PDEATHSIG); PostgreSQL, which pg_ctl detaches, and anything
a SIGKILLed owner left behind are reaped by the next stack started on the machine, or by
``python bench/stack.py reap``. ``python bench/stack.py up`` starts a stack and waits, for
poking at it by hand; logs are in ``<dir>/logs``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
PG_BIN = Path(os.environ.get("GRIDGOV_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("GRIDGOV_REDIS_SERVER", "redis-server")
SETPRIV = shutil.which("setpriv")
STACK_PREFIX = "gridgov-stack-"
SHARED_PORTS = {5432, 6379, 8000}  # never hand these out, whatever the kernel says

# Environment variables of the app that the stack sets itself; inherited values (CI points
# DATABASE_URL and REDIS_URL at the shared services) are dropped so nothing leaks through.
APP_ENV_DROPPED = ("DATABASE_URL", "REDIS_URL", "CELERY_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "GRIDGOV_VAR_DIR",
                   "MEDIA_ROOT", "SITE_URL", "EMAIL_", "SECURE_", "SESSION_COOKIE_", "CSRF_", "API_",
                   "DJANGO_SETTINGS_MODULE", "WEB_CONCURRENCY", "PYTEST", "COV_")


def app_env(database_url: str, redis_url: str, var_dir: Path, extra: dict[str, str] | None = None, *,
            secret_key: str | None = None, api_rate: str = "1000000/minute") -> dict[str, str]:
    """The app processes' environment (the stack's, and bench/common.py's servers on the city database):
    production settings except plain HTTP, API rates high enough not to throttle the load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(APP_ENV_DROPPED)}
    env.update({
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "SECRET_KEY": secret_key or secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "GRIDGOV_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "API_CLIENT_RATE": api_rate,
        "API_USER_RATE": api_rate,
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    })
    env.update(extra or {})
    return env


def gunicorn_command(port: int, *, workers: int, threads: int, timeout: int, graceful_timeout: int = 10,
                     access_log: bool = False, preload: bool = True, max_requests: int = 0) -> list[str]:
    """gunicorn serving governance.wsgi as the Dockerfile runs it (gthread), on 127.0.0.1:``port``."""
    command = [PYTHON, "-m", "gunicorn", "governance.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
               "--timeout", str(timeout), "--graceful-timeout", str(graceful_timeout), "--keep-alive", "5",
               "--backlog", "2048", "--worker-tmp-dir", "/dev/shm", "--error-logfile", "-"]
    if access_log:
        command += ["--access-logfile", "-"]
    if preload:  # Django imported once, then forked: workers boot in a fraction of the time
        command += ["--preload"]
    if max_requests:  # the Dockerfile recycles workers; off by default so one set of processes serves
        command += ["--max-requests", str(max_requests), "--max-requests-jitter", "100"]
    return command


def celery_worker_command(*, concurrency: int, name: str) -> list[str]:
    """``celery -A governance worker`` with a prefork pool of ``concurrency`` processes."""
    return [PYTHON, "-m", "celery", "-A", "governance", "worker", "-l", "info", "-P", "prefork",
            "-c", str(concurrency), "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]


class StackUnavailable(RuntimeError):
    """This machine cannot run a stack; the message names what it lacks ("PostgreSQL 15 server
    binaries in …; redis-server …")."""


class StackError(RuntimeError):
    """A service did not start or answer in time (its log's tail is in the message)."""


# --- Small helpers --------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (never one of the shared services' ports)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in SHARED_PORTS:
            return port


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(check, *, timeout: float, interval: float = 0.1, what: str = "", log: Path | None = None):
    """Poll ``check()`` until it returns something truthy; StackError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise StackError(f"{what} not ready within {timeout:.0f} s" + (f"; log tail:\n{tail(log)}" if log else ""))
        time.sleep(interval)


def tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return sorted(found)


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (to tell a live owner from a reused pid)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _dies_with_us(command: list[str]) -> list[str]:
    """``command`` run so that the kernel SIGKILLs it when the process that started it dies
    (util-linux setpriv sets PR_SET_PDEATHSIG, then execs: same pid, no preexec_fn in a threaded
    parent). The kernel sends it when the starting *thread* ends, so only processes started from
    the main thread get it; the others rely on close(), atexit and ``reap_stale``."""
    if SETPRIV and threading.current_thread() is threading.main_thread():
        return [SETPRIV, "--pdeathsig", "KILL", *command]
    return command


def _owned_by_stack(pid: int, stack_id: str) -> bool:
    """Whether ``pid`` carries this stack's id in its environment (so a reused pid is never killed)."""
    try:
        return f"GRIDGOV_STACK_ID={stack_id}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


# --- Services -------------------------------------------------------------------------------------


class Service:
    """A process the stack owns: ``start()``, ``stop()`` (graceful), ``kill()`` (SIGKILL), ``restart()``."""

    name = "service"

    def __init__(self, stack: Stack, port: int):
        self.stack = stack
        self.port = port
        self.log = stack.dir / "logs" / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return port_open(self.port)

    def start(self, *, wait: bool = True, timeout: float = 60) -> None:
        if self.running:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:
            out.write(f"\n===== {time.strftime('%H:%M:%S')} start #{self.starts + 1}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                _dies_with_us(self.command()), cwd=ROOT, env=self.stack.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.starts += 1
        self.stack._record()
        if wait:
            wait_for(lambda: self._ready_or_dead(), timeout=timeout, what=self.name, log=self.log)

    def _ready_or_dead(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise StackError(f"{self.name} exited with {self.proc.returncode}; log tail:\n{tail(self.log)}")
        return self.ready()

    def stop(self, *, timeout: float = 30) -> None:
        """SIGTERM (a graceful stop), SIGKILL if it has not exited within ``timeout`` seconds."""
        if not self.running:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self._wait_group_gone()

    def kill(self) -> None:
        """SIGKILL the process and everything in its session (worker children included)."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._wait_group_gone()

    def restart(self, **kwargs) -> None:
        self.stop()
        self.start(**kwargs)

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)  # the session we started: the process and its children

    def _wait_group_gone(self, timeout: float = 10) -> None:
        """Children (gunicorn and Celery workers) may outlive their parent for a moment."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def describe(self) -> dict:
        return {"port": self.port, "pid": self.pid, "running": self.running, "starts": self.starts}


class Postgres(Service):
    """A PostgreSQL 15 cluster of its own, run with pg_ctl as the ``postgres`` OS user when we are root
    (initdb refuses root). Trust authentication on 127.0.0.1 only."""

    name = "postgres"
    database = "gridgov"

    def __init__(self, stack: Stack, port: int, *, durable: bool):
        super().__init__(stack, port)
        self.home = stack.dir / "postgres"
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"  # written by the postgres user
        self.durable = durable

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
               "GRIDGOV_STACK_ID": self.stack.id}
        done = subprocess.run(command, cwd="/", env=env, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode:
            raise StackError(f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n"
                             f"{tail(self.log)}")
        return done

    def init(self) -> None:
        self.home.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        self._as_owner(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                       "--locale=C.UTF-8", "--no-sync")

    def _options(self) -> str:
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.home}",
                   "-c max_connections=300", "-c shared_buffers=256MB"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return " ".join(options)

    def start(self, *, wait: bool = True, timeout: float = 60) -> None:
        if self.running:
            return
        self._as_owner(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                       "-w", "-t", str(int(timeout)), "start", timeout=timeout + 10)
        self.starts += 1
        self.stack._record()

    def stop(self, *, mode: str = "fast", timeout: float = 60) -> None:
        if not self.running:
            return
        self._as_owner(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", str(int(timeout)),
                       "stop", timeout=timeout + 10)

    def restart(self, *, mode: str = "fast", timeout: float = 60) -> None:
        """``pg_ctl restart -m fast``: every connection is cut, the server is back when this returns."""
        self._as_owner(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                       "-m", mode, "-w", "-t", str(int(timeout)), "restart", timeout=timeout + 10)
        self.starts += 1
        self.stack._record()

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash: the next start runs recovery)."""
        pid = self.pid
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not pid_alive(pid), timeout=10, what="postmaster exit")

    @property
    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def running(self) -> bool:
        return pid_alive(self.pid)

    def ready(self) -> bool:
        return port_open(self.port)

    def create_database(self) -> None:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.database}"')
        connection.close()


class Redis(Service):
    """redis-server on its own port: ``--save "" --appendonly no`` unless ``aof`` (then as docker-compose)."""

    name = "redis"

    def __init__(self, stack: Stack, port: int, *, aof: bool):
        super().__init__(stack, port)
        self.aof = aof
        self.home = stack.dir / "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        self.home.mkdir(exist_ok=True)
        return [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes" if self.aof else "no", "--daemonize", "no", "--dir", str(self.home),
                "--protected-mode", "yes"]

    def ready(self) -> bool:
        try:
            return self.client().ping()
        except Exception:
            return False

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1, socket_timeout=5)


class Gunicorn(Service):
    """gunicorn serving governance.wsgi (gthread, as the Dockerfile runs it; no max-requests, so the
    same worker processes serve throughout a drill)."""

    name = "gunicorn"

    def __init__(self, stack: Stack, port: int, *, workers: int, threads: int, timeout: int, access_log: bool,
                 preload: bool):
        super().__init__(stack, port)
        self.workers, self.threads, self.timeout, self.access_log = workers, threads, timeout, access_log
        self.preload = preload

    def command(self) -> list[str]:
        return gunicorn_command(self.port, workers=self.workers, threads=self.threads, timeout=self.timeout,
                                access_log=self.access_log, preload=self.preload)

    def ready(self) -> bool:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                pass
        except urllib.error.HTTPError:  # 503 (e.g. Redis down) is an answer: the app serves
            pass
        except OSError:
            return False
        # Every worker booted: the master has forked them all.
        return len(self.worker_pids()) >= self.workers

    def worker_pids(self) -> list[int]:
        return children_of(self.pid) if self.running else []


class CeleryWorker(Service):
    """``celery -A governance worker`` (prefork pool). ``kill()`` SIGKILLs the main process and its
    pool together (a crashed or OOM-killed machine); ``kill_child()`` one pool process only."""

    name = "celery"

    def __init__(self, stack: Stack, *, concurrency: int):
        super().__init__(stack, 0)
        self.concurrency = concurrency

    def command(self) -> list[str]:
        return celery_worker_command(concurrency=self.concurrency, name=f"stack-{self.stack.id}")

    def ready(self) -> bool:
        if not self.log.exists():
            return False
        with open(self.log, "rb") as f:
            f.seek(self._log_offset)
            return b" ready." in f.read()

    def child_pids(self) -> list[int]:
        return children_of(self.pid) if self.running else []

    def kill_child(self) -> int | None:
        """SIGKILL one pool process (the main process notices and replaces it); returns its pid."""
        children = self.child_pids()
        if not children:
            return None
        os.kill(children[0], signal.SIGKILL)
        return children[0]


class CeleryBeat(Service):
    """``celery -A governance beat`` with the settings' schedule (schedule file in the stack's dir)."""

    name = "beat"

    def __init__(self, stack: Stack):
        super().__init__(stack, 0)

    def command(self) -> list[str]:
        return [PYTHON, "-m", "celery", "-A", "governance", "beat", "-l", "info",
                "-s", str(self.stack.dir / "celerybeat-schedule"), "--pidfile", ""]

    def ready(self) -> bool:
        if not self.log.exists():
            return False
        with open(self.log, "rb") as f:
            f.seek(self._log_offset)
            return b"beat: Starting" in f.read()


# --- The stack ------------------------------------------------------------------------------------

_LIVE: list[Stack] = []
_HANDLERS_INSTALLED = False


def _close_all() -> None:
    for stack in list(_LIVE):
        stack.close()


def _on_signal(signum, frame) -> None:
    _close_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _on_signal)
    _HANDLERS_INSTALLED = True


def check_available() -> None:
    """Raise StackUnavailable naming what this machine lacks to run a stack."""
    missing = []
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        missing.append(f"PostgreSQL 15 server binaries in {PG_BIN} (Debian: apt-get install postgresql-15)")
    if shutil.which(REDIS_SERVER) is None:
        missing.append("redis-server (Debian: apt-get install redis-server)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser (to run initdb as the postgres user)")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a postgres OS user (initdb refuses to run as root)")
    modules = ("gunicorn", "celery", "psycopg2", "redis", "requests")
    probe = "import importlib.util as u; print(' '.join(m for m in %r if u.find_spec(m) is None))" % (modules,)
    absent = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True).stdout.split()
    missing += [f"the Python package {module} in {PYTHON}" for module in absent]
    if missing:
        raise StackUnavailable("; ".join(missing))


class Stack:
    """PostgreSQL + Redis + gunicorn + Celery of its own; see the module's docstring."""

    def __init__(self, *, web_workers: int = 3, web_threads: int = 4, web_timeout: int = 30,
                 celery_concurrency: int = 2, beat: bool = False, seed: bool = True, operators: int = 3,
                 durable: bool = False, redis_aof: bool = False, env: dict[str, str] | None = None,
                 collectstatic: bool = False, access_log: bool = False, preload: bool = True, verbose: bool = False):
        self.options = dict(seed=seed, operators=operators, collectstatic=collectstatic)
        self.verbose = verbose
        self.id = secrets.token_hex(4)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{STACK_PREFIX}{self.id}-"))
        self.dir.chmod(0o755)  # the postgres user must reach its own subdirectory
        (self.dir / "logs").mkdir()
        self.postgres = Postgres(self, free_port(), durable=durable)
        self.redis = Redis(self, free_port(), aof=redis_aof)
        self.web = Gunicorn(self, free_port(), workers=web_workers, threads=web_threads, timeout=web_timeout,
                            access_log=access_log, preload=preload)
        self.worker = CeleryWorker(self, concurrency=celery_concurrency)
        self.beat = CeleryBeat(self) if beat else None
        self.env = self._app_env(env or {})
        self.data: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self._closed = False

    # --- life cycle

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> Stack:
        check_available()
        reap_stale()
        _install_handlers()
        _LIVE.append(self)
        self._record()
        with self._timed("postgres"):
            self.postgres.init()
            self.postgres.start()
            self.postgres.create_database()
        with self._timed("redis"):
            self.redis.start()
        with self._timed("migrate"):
            self.manage("migrate", "--noinput")
        if self.options["collectstatic"]:
            with self._timed("collectstatic"):
                self.manage("collectstatic", "--noinput")
        with self._timed("seed_and_boot"):
            # The app processes boot (imports, forks) while the seed is written: they read no data
            # until a request or task arrives.
            for service in filter(None, (self.web, self.worker, self.beat)):
                service.start(wait=False)
            if self.options["seed"]:
                out = self.django(f"from bench.stack import seed; seed(operators={self.options['operators']})")
                self.data = json.loads(out.strip().splitlines()[-1])
                (self.dir / "seed.json").write_text(json.dumps(self.data, indent=2))
            for service in filter(None, (self.web, self.worker, self.beat)):
                wait_for(service._ready_or_dead, timeout=90, what=service.name, log=service.log)
        self._say(f"stack {self.id} up in {sum(self.timings.values()):.1f} s: {self.base_url} "
                  f"(postgres :{self.postgres.port}, redis :{self.redis.port}, dir {self.dir})")
        return self

    def close(self) -> None:
        """Stop every process (gracefully, then by force) and remove the stack's directory."""
        if self._closed:
            return
        self._closed = True
        t0 = time.monotonic()
        processes = [s for s in (self.beat, self.worker, self.web, self.redis) if s is not None and s.running]
        for service in processes:  # all at once: each winds down while the others do
            with contextlib.suppress(Exception):
                service._signal_group(signal.SIGTERM)
        for service in processes:
            with contextlib.suppress(Exception):
                service.stop(timeout=15)
            with contextlib.suppress(Exception):
                service.kill()
        with contextlib.suppress(Exception):
            self.postgres.stop(mode="fast", timeout=30)
        with contextlib.suppress(Exception):
            self.postgres.stop(mode="immediate", timeout=30)
        with contextlib.suppress(Exception):
            self.postgres.kill()
        self.timings["close"] = time.monotonic() - t0
        if os.environ.get("GRIDGOV_STACK_KEEP"):
            self._say(f"stack {self.id} stopped; GRIDGOV_STACK_KEEP set, logs kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            self._say(f"stack {self.id} stopped and removed in {self.timings['close']:.1f} s")
        if self in _LIVE:
            _LIVE.remove(self)

    # --- using it

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def client(self, name: str, **headers):
        """A requests.Session sending the bearer token of the seeded API client ``name``."""
        import requests

        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {self.data['tokens'][name]}", "Accept-Language": "en",
                                **headers})
        return session

    def sql(self, query: str, params: tuple | dict = ()) -> list[tuple]:
        """Run one statement on the stack's database (a fresh connection each time; autocommit)."""
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.postgres.port, user="postgres",
                                      dbname=self.postgres.database, connect_timeout=5)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def value(self, query: str, params: tuple | dict = ()) -> Any:
        rows = self.sql(query, params)
        return rows[0][0] if rows else None

    def manage(self, *args: str, timeout: float = 600) -> str:
        """``manage.py <args>`` against the stack; returns stdout (StackError on failure)."""
        return self._run([PYTHON, "manage.py", *args], timeout=timeout, what=f"manage.py {args[0]}")

    def django(self, code: str, *, timeout: float = 600) -> str:
        """Run Python ``code`` in a fresh process with Django set up on the stack; returns stdout."""
        script = f"import django\ndjango.setup()\n{code}\n"
        return self._run([PYTHON, "-c", script], timeout=timeout, what="django code")

    def celery(self, *args: str, timeout: float = 120) -> str:
        """``celery -A governance <args>`` against the stack's broker (e.g. ``call``, ``inspect``)."""
        return self._run([PYTHON, "-m", "celery", "-A", "governance", *args], timeout=timeout, what="celery")

    def save_logs(self, dest: Path) -> Path:
        """Copy the services' logs (and the seed) to ``dest``, e.g. to look at after a failed drill."""
        dest.mkdir(parents=True, exist_ok=True)
        for path in [*(self.dir / "logs").glob("*.log"), self.postgres.log, self.dir / "seed.json"]:
            if path.exists():
                shutil.copy(path, dest / path.name)
        return dest

    def refused_sends(self) -> dict[str, int]:
        """Tasks the web and worker processes could not hand to the broker so far, by task name
        (counted from governance.queue's warning in their logs)."""
        counts: dict[str, int] = {}

        def count(key: str | None) -> None:
            if key:
                counts[key] = counts.get(key, 0) + 1

        for service in (self.web, self.worker):
            if not service.log.exists():
                continue
            pending, reason = None, ""  # the task refused, and the last exception of its traceback
            for line in [*service.log.read_text(errors="replace").splitlines(), "[end]"]:
                record = line[:1].isdigit() or line.startswith("[")  # a new log record begins
                if pending and record:
                    count(f"{pending} ({reason or '?'})")
                    pending = None
                if "could not send task " in line:
                    pending, reason = f"{service.name}:{line.split('could not send task ', 1)[1].split('(', 1)[0]}", ""
                elif pending and line and not line[0].isspace() and ":" in line and not line.startswith(
                        ("Traceback", "During", "The above")):
                    reason = line.split(":", 1)[0].rsplit(".", 1)[-1]
        return counts

    def describe(self) -> dict:
        services = {"postgres": self.postgres, "redis": self.redis, "web": self.web, "worker": self.worker}
        if self.beat:
            services["beat"] = self.beat
        return {"id": self.id, "dir": str(self.dir), "base_url": self.base_url,
                "services": {name: s.describe() for name, s in services.items()},
                "setup_s": {k: round(v, 1) for k, v in self.timings.items()}}

    # --- internals

    def _app_env(self, extra: dict[str, str]) -> dict[str, str]:
        return app_env(self.postgres.url, self.redis.url, self.dir / "var", {"GRIDGOV_STACK_ID": self.id, **extra})

    def _run(self, command: list[str], *, timeout: float, what: str) -> str:
        done = subprocess.run(_dies_with_us(command), cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode:
            raise StackError(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        return done.stdout

    @contextlib.contextmanager
    def _timed(self, name: str):
        t0 = time.monotonic()
        yield
        self.timings[name] = time.monotonic() - t0

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def _record(self) -> None:
        """What ``reap_stale`` needs if this process dies without cleaning up."""
        record = {"owner": os.getpid(), "owner_start": _start_time(os.getpid()), "id": self.id,
                  "pg_data": str(self.postgres.data),
                  "pids": [s.pid for s in (self.redis, self.web, self.worker, self.beat) if s is not None and s.pid]}
        with contextlib.suppress(OSError):
            (self.dir / "stack.json").write_text(json.dumps(record))


def reap_stale() -> list[str]:
    """Stop and remove stacks whose owning process is gone (it was SIGKILLed); returns their dirs."""
    reaped = []
    for path in Path(tempfile.gettempdir()).glob(f"{STACK_PREFIX}*/stack.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        owner = record.get("owner")
        if pid_alive(owner) and _start_time(owner) == record.get("owner_start"):
            continue
        stack_id = record.get("id", "")
        for pid in record.get("pids", []):
            if pid_alive(pid) and _owned_by_stack(pid, stack_id):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        pg_data = Path(record.get("pg_data", ""))
        with contextlib.suppress(OSError, ValueError, IndexError):
            postmaster = int((pg_data / "postmaster.pid").read_text().split()[0])
            if pid_alive(postmaster) and _owned_by_stack(postmaster, stack_id):
                os.kill(postmaster, signal.SIGQUIT)  # immediate shutdown
                with contextlib.suppress(StackError):
                    wait_for(lambda: not pid_alive(postmaster), timeout=15, what="stale postmaster")
        shutil.rmtree(path.parent, ignore_errors=True)
        reaped.append(str(path.parent))
    return reaped


# --- The seed (runs inside a Django process of the stack: ``Stack.django``) ------------------------

SEED_ORIGIN = (108.70, 34.10)  # lon, lat: the north-west corner of the synthetic communities
SEED_CELL_DEG = 0.004  # one grid's side (~370 m north–south)


def _square(lon0: float, lat0: float, side: float) -> dict:
    corners = [(lon0, lat0), (lon0 + side, lat0), (lon0 + side, lat0 - side), (lon0, lat0 - side), (lon0, lat0)]
    return {"type": "Polygon", "coordinates": [[[round(x, 7), round(y, 7)] for x, y in corners]]}


def seed(*, operators: int = 3) -> None:
    """Create the stack's small synthetic data set and print it as one JSON line (see the module doc)."""
    from django.db import transaction

    from dispatch.models import MinorClass, Track, Urgency
    from governance.api.auth import token_issue
    from governance.models import AdministrativeUnit, ApiClient, Department, DepartmentKind, UnitLevel, User
    from governance.roles import Role
    from governance.services import role_assign
    from grids.services import grid_create, unit_set_boundary

    def unit(code: str, name: str, level: str, parent=None) -> AdministrativeUnit:
        return AdministrativeUnit.objects.create(code=code, name=f"{name}（合成）", level=level, parent=parent,
                                                 is_synthetic=True)

    def account(username: str, full_name: str, role: str, **where) -> User:
        user = User.objects.create(username=username, full_name=f"{full_name}（合成）")
        user.set_unusable_password()  # API tokens only: no login, no password hashing cost
        user.save(update_fields=["password"])
        role_assign(user=user, role=role, actor=None, **where)
        return user

    tokens: dict[str, str] = {}

    def client(name: str, user: User, scopes: list[str]) -> None:
        row = ApiClient.objects.create(name=f"stack-{name}", account=user, scopes=scopes)
        tokens[name] = token_issue(client=row, label="bench stack")[1]

    with transaction.atomic():
        city = unit("990100000000", "演练市", UnitLevel.CITY)
        district = unit("990101000000", "演练区", UnitLevel.COUNTY, city)
        street = unit("990101001000", "演练街道", UnitLevel.TOWNSHIP, district)
        communities = [unit(f"990101001{n:03d}", f"演练第{n}社区", UnitLevel.VILLAGE, street) for n in (1, 2)]
        bureau = Department.objects.create(name="演练城管局（合成）", kind=DepartmentKind.BUREAU, unit=district)
        points, grid_ids = [], []
        for index, community in enumerate(communities):
            lon0 = SEED_ORIGIN[0] + index * 2 * SEED_CELL_DEG
            unit_set_boundary(unit=community, boundary=_square(lon0, SEED_ORIGIN[1], 2 * SEED_CELL_DEG), actor=None)
            for sequence, (dx, dy) in enumerate([(0, 0), (1, 0)], start=1):
                lon, lat = lon0 + dx * SEED_CELL_DEG, SEED_ORIGIN[1] - dy * SEED_CELL_DEG
                grid = grid_create(community=community, name=f"演练网格{index + 1}-{sequence}（合成）",
                                   boundary=_square(lon, lat, SEED_CELL_DEG), sequence=sequence, is_synthetic=True,
                                   actor=None)
                grid_ids.append(grid.pk)
                points.append((round(lon + SEED_CELL_DEG / 2, 6), round(lat - SEED_CELL_DEG / 2, 6)))
        reporter = account("stack-reporter", "演练接口账号", Role.DISTRICT_DISPATCHER, unit=district)
        handler = account("stack-handler", "演练处置员", Role.DEPARTMENT_HANDLER, department=bureau)
        operator_ids = []
        for n in range(1, operators + 1):
            operator = account(f"stack-operator-{n}", f"演练街道调度{n}", Role.STREET_OPERATOR, unit=street)
            operator_ids.append(operator.pk)
            client(f"operator-{n}", operator, ["dispatch:read", "dispatch:act"])
        client("reporter", reporter, ["dispatch:read", "dispatch:report"])
        minor = (MinorClass.objects.filter(is_active=True, major__is_active=True, urgency=Urgency.NORMAL,
                                           track=Track.GENERAL, auto_dispatch=False, self_handling=False)
                 .select_related("major").order_by("major__kind", "major__code", "code").first())
        minor.lead_department = bureau
        minor.save(update_fields=["lead_department"])
    print(json.dumps({
        "units": {"district": district.pk, "street": street.pk, "communities": [c.pk for c in communities]},
        "department": bureau.pk, "grids": grid_ids, "points": points,
        "outside": [round(SEED_ORIGIN[0] + 5 * SEED_CELL_DEG, 6), round(SEED_ORIGIN[1], 6)],
        "category": minor.pk, "users": {"reporter": reporter.pk, "handler": handler.pk, "operators": operator_ids},
        "tokens": tokens,
    }))


# --- Command line ----------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a stack, print how to reach it, and wait for Ctrl+C")
    up.add_argument("--beat", action="store_true")
    sub.add_parser("reap", help="stop and remove stacks whose owner died")
    args = parser.parse_args(argv)
    if args.command == "reap":
        for path in reap_stale():
            print(f"reaped {path}")
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl+C even when started in the background
    with Stack(beat=args.beat, verbose=True) as stack:
        print(json.dumps({**stack.describe(), "env": {k: stack.env[k] for k in ("DATABASE_URL", "REDIS_URL")},
                          "tokens": stack.data.get("tokens", {})}, indent=2))
        print("Ctrl+C to stop and remove it.", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main(sys.argv[1:]))
