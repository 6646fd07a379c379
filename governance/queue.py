"""Sending Celery tasks after the transaction that asked for them commits, without losing work.

A task is sent only once the rows it will read are committed (a worker must never find them
missing). If the broker is down at that moment, the request still succeeds — its writes are
committed — and the failure is logged; each app keeps what a task must do recorded in its own
rows (e.g. ``dispatch.Transition.followed_up_at``) and a periodic task picks up what was never
sent once the broker is back.
"""

from __future__ import annotations

import logging
import threading

from django.db import transaction

logger = logging.getLogger(__name__)
_discovery = threading.Lock()


def enqueue_on_commit(task_name: str, *args) -> None:
    transaction.on_commit(lambda: send_now(task_name, *args))


def send_now(task_name: str, *args) -> bool:
    """Send ``task_name`` with ``args``; False (and a warning in the log) if the broker refused it."""
    from governance.celery import app

    try:
        _task(app, task_name).apply_async(args=args, retry=False)
    except Exception:  # kombu OperationalError, redis ConnectionError, …: the sweep re-sends later
        logger.warning("could not send task %s%r; it will be re-sent when the broker is back", task_name, args,
                       exc_info=True)
        return False
    return True


def _task(app, name: str):
    """The registered task ``name``. Web and command processes never start a worker, so the apps'
    ``tasks.py`` modules are imported (Celery's autodiscovery) the first time one is needed."""
    if name not in app.tasks:
        # One thread at a time: Celery's autodiscovery returns nothing to a second thread while the
        # first is still importing (its race protection), and that thread's task was refused as
        # unregistered (found by the worker-killed and Redis-down drills, gthread workers).
        with _discovery:
            if name not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[name]
