import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dispatch import services
from dispatch.models import Channel, State


def photo(name="p.jpg"):
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(out, "JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


@pytest.mark.django_db
def test_the_whole_loop(loop):
    event, created = services.event_report(channel=Channel.GRID, title="垃圾堆", minor=loop.rubbish,
                                           lon=loop.inside[0], lat=loop.inside[1], reporter=loop.worker,
                                           photos=[photo()])
    assert created and event.grid == loop.grid and event.owner_unit == loop.tree.street_a
    assert event.step == "accept" and event.step_due_at
    event = services.event_accept(event=event, actor=loop.operator)
    event = services.event_register(event=event, actor=loop.operator)
    event = services.event_dispatch(event=event, actor=loop.operator)
    assert event.department == loop.tree.bureau and event.state == State.DISPATCHED
    event = services.event_sign(event=event, actor=loop.handler)
    assert event.step == "handle" and event.step_limit_unit == "working_hours"
    event = services.event_handle(event=event, actor=loop.handler, note="已清理", photos=[photo()])
    assert event.state == State.VERIFYING and event.verifier == loop.worker
    event = services.event_verify(event=event, actor=loop.worker, passed=True)
    assert event.state == State.CLOSED
    event = services.event_callback(event=event, actor=loop.operator, contacted=True, solved=True,
                                    satisfaction="satisfied")
    assert event.state == State.EVALUATED
    assert [t.action for t in event.history.all()] == [
        "report", "accept", "register", "dispatch", "sign", "handle", "send_to_verify", "verify_pass", "evaluate"]
