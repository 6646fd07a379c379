"""Every object endpoint of /api/v1, across apps: a token of a client outside the jurisdiction gets
404 for real objects — the same answer as for ids that do not exist — and changes nothing.

The table below must name every /api/v1 route that takes an object id, so a new endpoint cannot
be added without being checked here.
"""

from __future__ import annotations

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from dispatch import services
from dispatch.models import Channel, Event
from governance.api.webhooks import subscription_create
from governance.models import WebhookDelivery, WebhookSubscription
from grids.models import Patrol
from grids.services import patrol_start

pytestmark = pytest.mark.django_db

MISSING = 987654321

# route name → (how to get the id of a real object of the insider, requests to try: (method, extra args, body))
ENDPOINTS = {
    "dispatch-api:event_detail": ("event", [("get", (), None)]),
    "dispatch-api:event_action": ("event", [("post", ("accept",), {"note": "", "version": 0}),
                                            ("post", ("dispatch",), {"note": "", "version": 0})]),
    "grids-api:grid_detail": ("grid", [("get", (), None)]),
    "grids-api:grid_workers": ("grid", [("get", (), None)]),
    "grids-api:unit_detail": ("unit", [("get", (), None)]),
    "grids-api:patrol_detail": ("patrol", [("get", (), None)]),
    # Patrol points come from the worker's phone with a session: closed to every token (403 for any
    # id, real or not, so the answer tells an outsider nothing).
    "grids-api:patrol_points": ("patrol", [("post", (), [])]),
    "api:webhook_subscription": ("subscription", [("get", (), None), ("patch", (), {"is_active": False}),
                                                  ("delete", (), None)]),
    "api:webhook_delivery": ("delivery", [("get", (), None)]),
    "api:webhook_delivery_replay": ("delivery", [("post", (), {})]),
}


def api_object_routes() -> set[str]:
    def walk(patterns, prefix="", namespace=None):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            else:
                yield prefix + str(p.pattern), f"{namespace}:{p.name}" if namespace else p.name

    return {name for route, name in walk(get_resolver().url_patterns) if route.startswith("api/v1/") and "<int:" in route}


def test_the_table_names_every_object_endpoint():
    assert api_object_routes() == set(ENDPOINTS)


@pytest.fixture
def insider_objects(loop, token_for):
    lon, lat = loop.inside
    event, _ = services.event_report(channel=Channel.GRID, title="垃圾堆", minor=loop.rubbish, lon=lon, lat=lat,
                                     reporter=loop.worker)
    patrol = patrol_start(grid=loop.grid, worker=loop.worker, actor=loop.worker)
    insider = token_for(loop.operator)
    subscription = subscription_create(client=insider.api_client, url="https://hooks.example.invalid/a",
                                       events=["case.created"])
    delivery = WebhookDelivery.objects.create(subscription=subscription, event_type="case.created",
                                              object_id=event.pk, payload={"type": "case.created"},
                                              created_at=timezone.now())
    return {"event": event.pk, "grid": loop.grid.pk, "unit": loop.tree.community_a.pk, "patrol": patrol.pk,
            "subscription": subscription.pk, "delivery": delivery.pk}


def test_an_outsider_token_gets_404_on_every_object_endpoint(loop, token_for, insider_objects):
    outsider = token_for(loop.outsider)  # every scope, a street operator of street B
    before = (Event.objects.get(pk=insider_objects["event"]).version, WebhookSubscription.objects.count(),
              WebhookDelivery.objects.count(), Patrol.objects.get(pk=insider_objects["patrol"]).ended_at)
    for name, (kind, calls) in ENDPOINTS.items():
        for method, extra, body in calls:
            answers = []
            for pk in (insider_objects[kind], MISSING):
                response = getattr(outsider, method)(reverse(name, args=[pk, *extra]), body, format="json")
                answers.append((response.status_code, response.json()["error"]["code"]))
            real, missing = answers
            assert real == missing, (name, method, answers)  # nothing tells the outsider the object exists
            expected = 403 if name == "grids-api:patrol_points" else 404
            assert real[0] == expected, (name, method, real)
    after = (Event.objects.get(pk=insider_objects["event"]).version, WebhookSubscription.objects.count(),
             WebhookDelivery.objects.count(), Patrol.objects.get(pk=insider_objects["patrol"]).ended_at)
    assert after == before


def test_the_insider_token_reaches_the_same_objects(loop, token_for, insider_objects):
    """The control: the 404s above come from the jurisdiction, not from broken URLs."""
    insider = token_for(loop.operator)
    for name in ("dispatch-api:event_detail", "grids-api:grid_detail", "grids-api:grid_workers",
                 "grids-api:unit_detail", "grids-api:patrol_detail"):
        kind = ENDPOINTS[name][0]
        assert insider.get(reverse(name, args=[insider_objects[kind]])).status_code == 200, name
