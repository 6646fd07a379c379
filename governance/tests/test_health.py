"""/healthz: 200 when the database and broker answer; 503 naming what failed."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_healthy_without_a_broker_configured(client, settings):
    settings.REDIS_URL = None
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert "not configured" in body["checks"]["broker"]


def test_it_answers_503_naming_the_broker_when_it_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    assert body["checks"] == {"database": "ok", "broker": "failed"}
    assert "Connection" in body["errors"]["broker"]


def test_it_answers_503_naming_the_database_when_it_is_down(client, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]


def test_it_is_healthy_against_the_real_broker(client, settings, redis_url):
    settings.REDIS_URL = redis_url
    assert client.get("/healthz").status_code == 200
