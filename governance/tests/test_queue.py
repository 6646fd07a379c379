"""Sending tasks by name from processes that never start a Celery worker (web, commands)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "governance.settings"
import django
django.setup()
from governance.celery import app
from governance.queue import _task
assert "dispatch.transition_follow_up" not in app.tasks  # nothing imported dispatch.tasks yet
print(_task(app, "dispatch.transition_follow_up").name)
"""


def test_a_fresh_process_finds_tasks_it_has_not_imported():
    # In a web process nothing imports dispatch/tasks.py; before this fix every follow-up was
    # refused as "not sent" and waited for the periodic re-send.
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "dispatch.transition_follow_up"
