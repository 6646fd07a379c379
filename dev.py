#!/usr/bin/env python3
"""Set up and run GridGov, or its tests, from a fresh clone. Needs only Python 3.11+.

    python3 dev.py run    # virtualenv, requirements, migrate, demo district, serve on 127.0.0.1:8000
    python3 dev.py test   # virtualenv, test requirements, every test (non-zero exit on any failure)

With nothing configured the platform runs on SQLite with Celery tasks in-process; set DATABASE_URL
and REDIS_URL to use PostgreSQL and Redis (see README.md).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def run(*args: str, **kwargs) -> None:
    result = subprocess.run(args, cwd=ROOT, **kwargs)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_venv(requirements: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"GridGov needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PY.exists():
        say(f"Creating a virtual environment in {VENV.name}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = "".join((ROOT / name).read_text() for name in ("requirements.txt", requirements))
    stamp = VENV / f".installed-{Path(requirements).stem}"
    digest = hashlib.sha256(wanted.encode()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        say(f"Installing {requirements}")
        run(str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "--upgrade", "pip")
        run(str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", requirements)
        stamp.write_text(digest)


def manage(*args: str) -> None:
    run(str(PY), "manage.py", *args)


def cmd_run() -> None:
    ensure_venv("requirements.txt")
    say("Migrating the database")
    manage("migrate", "--noinput")
    say("Loading the demo district (real division codes, synthetic people and cases)")
    manage("load_demo")
    if os.environ.get("REDIS_URL"):
        background = [str(PY), "-m", "celery", "-A", "governance", "worker", "--beat", "-l", "info"]
        say("Starting a Celery worker with beat on Redis")
    else:
        background = [str(PY), "manage.py", "run_periodic"]
        say("No REDIS_URL: tasks run in-process; periodic jobs run in `manage.py run_periodic`")
    worker = subprocess.Popen(background, cwd=ROOT)
    say("Serving on http://127.0.0.1:8000 — stop with Ctrl+C")
    try:
        subprocess.run([str(PY), "manage.py", "runserver", "127.0.0.1:8000"], cwd=ROOT)
    except KeyboardInterrupt:
        pass
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def cmd_test(extra: list[str]) -> None:
    ensure_venv("requirements-dev.txt")
    say("Checking that every model change has its migration")
    manage("makemigrations", "--check", "--dry-run")
    say("Checking that the compiled translations match their sources")
    run(str(PY), "scripts/check_translations.py")
    say("Running every test")
    run(str(PY), "-m", "pytest", *extra)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        sys.exit(__doc__)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if sys.argv[1] == "run":
        cmd_run()
    else:
        cmd_test(sys.argv[2:])


if __name__ == "__main__":
    main()
