"""Run the Celery beat schedule in this process, for installations without Redis.

Without a broker, tasks run in-process when they are sent (CELERY_TASK_ALWAYS_EAGER); nothing would
start the periodic ones. This command reads the same CELERY_BEAT_SCHEDULE that `celery beat` uses
and runs each entry when it is due, one at a time, so behaviour matches the Redis deployment.
"""

from __future__ import annotations

import logging
import time

from celery.schedules import schedule as every
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from governance.celery import app

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic jobs (CELERY_BEAT_SCHEDULE) in-process, without Redis."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once now and exit.")

    def handle(self, *args, once: bool = False, **options):
        app.loader.import_default_modules()  # registers every app's tasks, as a worker would
        entries = {name: dict(entry) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
        if once:
            for name, entry in entries.items():
                self._run(name, entry)
            return
        last_run = {name: timezone.now() for name in entries}
        self.stdout.write(f"Running {len(entries)} periodic job(s) in-process: {', '.join(entries) or 'none'}")
        try:
            while True:
                wait = 60.0
                for name, entry in entries.items():
                    schedule = entry["schedule"]
                    if not hasattr(schedule, "is_due"):  # a plain number of seconds
                        schedule = entry["schedule"] = every(schedule)
                    due, next_in = schedule.is_due(last_run[name])
                    if due:
                        last_run[name] = timezone.now()
                        self._run(name, entry)
                    wait = min(wait, max(next_in, 1.0))
                time.sleep(wait)
        except KeyboardInterrupt:
            return

    def _run(self, name: str, entry: dict) -> None:
        # apply() runs the task here and now and never raises: a failing job is reported and the
        # others go on, as they would under celery beat.
        task = app.tasks[entry["task"]]
        result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
        stamp = f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"
        if result.failed():
            logger.error("periodic job %s failed: %r\n%s", name, result.result, result.traceback)
            self.stderr.write(f"{stamp} {name} FAILED: {result.result!r}")
        else:
            self.stdout.write(f"{stamp} {name}: {result.result}")
