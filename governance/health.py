"""Liveness of what the platform depends on, for /healthz and container health checks."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the message says which
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def check_broker() -> str | None:
    if not settings.REDIS_URL:
        return None
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def health_report() -> tuple[bool, dict]:
    failures = {name: error for name, error in (("database", check_database()), ("broker", check_broker())) if error}
    checks = {
        "database": "failed" if "database" in failures else "ok",
        "broker": "failed" if "broker" in failures else ("ok" if settings.REDIS_URL else "not configured (tasks run in-process)"),
    }
    body = {"status": "error" if failures else "ok", "checks": checks}
    if failures:
        body["failed"] = sorted(failures)
        body["errors"] = failures
    return not failures, body
