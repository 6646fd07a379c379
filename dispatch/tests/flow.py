"""Helpers for the dispatch service tests: photos, a clock the test sets, and a case brought to any state.

``bring_to(loop, State.X)`` walks a fresh grid-worker report along the workflow through the services,
with the personas of the ``loop`` fixture (operator of street A, handler of the bureau, the grid worker
who reported it verifies), so each test starts from a real history rather than a hand-set state.
"""

from __future__ import annotations

import datetime
import io
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from dispatch import services, workflow
from dispatch.models import Channel, State

SHANGHAI = ZoneInfo("Asia/Shanghai")


def photo(name: str = "p.jpg", colour: str = "red") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def not_a_photo(name: str = "evil.jpg") -> SimpleUploadedFile:
    """A file that claims to be a JPEG by name and type but is not an image."""
    return SimpleUploadedFile(name, b"%PDF-1.4\n1 0 obj << >> endobj\n", content_type="image/jpeg")


# --- Time ------------------------------------------------------------------------------------------


def monday(weeks_ahead: int = 2) -> datetime.date:
    """A Monday at least a week after today. Role assignments start today, so a frozen clock must lie
    after today for the personas to hold their roles."""
    today = timezone.localdate()
    return today + datetime.timedelta(days=7 * weeks_ahead - today.weekday())


def at(day: datetime.date, hour: int = 0, minute: int = 0) -> datetime.datetime:
    """An aware instant in the calendar's zone (Asia/Shanghai)."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


class Clock:
    """``timezone.now`` as the test sets it: ``clock.now = at(day, 9)``."""

    def __init__(self, now: datetime.datetime):
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now


@contextmanager
def frozen(now: datetime.datetime):
    clock = Clock(now)
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


# --- Cases -----------------------------------------------------------------------------------------


def report(loop, *, minor=None, reporter=None, point=None, **fields):
    lon, lat = point or loop.inside
    fields.setdefault("title", "垃圾堆")
    event, created = services.event_report(
        channel=fields.pop("channel", Channel.GRID), minor=minor or loop.rubbish, lon=lon, lat=lat,
        reporter=reporter or loop.worker, **fields,
    )
    assert created
    return event


def _merge(loop, event):
    master = report(loop, title="同一堆垃圾")
    return services.event_merge(event=event, into=master, actor=loop.operator)


def _handled(loop, event):
    """HANDLED is passed through at once by ``event_handle``; reach it with the bare transition."""
    with transaction.atomic():
        return workflow.transition(event=event, action="handle", actor=loop.handler, note="已清理")


# state → (the state before it, the step that leads there)
STEPS = {
    State.ACCEPTED: (State.REPORTED, lambda l, e: services.event_accept(event=e, actor=l.operator)),
    State.INVALID: (State.REPORTED, lambda l, e: services.event_reject(event=e, actor=l.operator, note="重复上报")),
    State.MERGED: (State.REPORTED, _merge),
    State.NOT_REGISTERED: (
        State.ACCEPTED, lambda l, e: services.event_not_register(event=e, actor=l.operator, note="不属于受理范围")),
    State.REGISTERED: (State.ACCEPTED, lambda l, e: services.event_register(event=e, actor=l.operator)),
    State.DISPATCHED: (State.REGISTERED, lambda l, e: services.event_dispatch(event=e, actor=l.operator)),
    State.RETURNED: (State.DISPATCHED, lambda l, e: services.event_return(event=e, actor=l.handler, note="非本部门职责")),
    State.SIGNED: (State.DISPATCHED, lambda l, e: services.event_sign(event=e, actor=l.handler)),
    State.IN_PROGRESS: (State.SIGNED, lambda l, e: services.event_start(event=e, actor=l.handler)),
    State.EXTENSION_REQUESTED: (State.IN_PROGRESS, lambda l, e: services.event_request_extension(
        event=e, actor=l.handler, amount=2, unit="working_hours", note="需要调用车辆")),
    State.SUSPENDED: (State.IN_PROGRESS, lambda l, e: services.event_suspend(event=e, actor=l.handler, note="等待法院裁定")),
    State.BACKLOG: (State.IN_PROGRESS, lambda l, e: services.event_backlog(event=e, actor=l.operator, note="需纳入明年计划")),
    State.HANDLED: (State.IN_PROGRESS, _handled),
    State.VERIFYING: (State.IN_PROGRESS, lambda l, e: services.event_handle(event=e, actor=l.handler, note="已清理")),
    State.REWORK: (State.VERIFYING, lambda l, e: services.event_verify(event=e, actor=l.worker, passed=False,
                                                                        note="还有残留")),
    State.CLOSED: (State.VERIFYING, lambda l, e: services.event_verify(event=e, actor=l.worker, passed=True)),
    State.EVALUATED: (State.CLOSED, lambda l, e: services.event_callback(
        event=e, actor=l.operator, contacted=True, solved=True, satisfaction="satisfied")),
}


def path_to(state: str) -> list:
    steps = []
    while state != State.REPORTED:
        state, step = STEPS[state]
        steps.append(step)
    return steps[::-1]


def bring_to(loop, state: str, **report_fields):
    event = report(loop, **report_fields)
    for step in path_to(state):
        event = step(loop, event)
    assert event.state == state
    return event
