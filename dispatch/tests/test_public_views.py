"""The citizens' pages: report, receipt, track, rate; throttled, and never showing what is not public."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from dispatch import services
from dispatch.models import Attachment, Channel, Event, Stage, State
from dispatch.tests.images import photo
from governance.models import Parameter

pytestmark = pytest.mark.django_db

REPORT = reverse("public:report")
PHONE = "13800138000"



def visitor() -> Client:
    """An anonymous visitor from an address of its own (the throttles count per address, in a cache
    that outlives a test when it is Redis)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}")


@pytest.fixture
def citizen():
    return visitor()


def citizen_data(loop, **overrides):
    data = {"idem": str(uuid.uuid4()), "title": "路灯不亮", "description": "晚上很黑", "category": "",
            "lon": loop.inside[0], "lat": loop.inside[1], "address": "", "community": "", "name": "李先生",
            "phone": PHONE, "website": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def file_report(citizen, loop, **overrides) -> Event:
    response = citizen.post(REPORT, citizen_data(loop, **overrides))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Event.objects.order_by("-pk").first()


def track_url(event):
    return reverse("public:track_case", args=[event.receipt_code])


# --- Report --------------------------------------------------------------------------------------------


def test_anyone_may_open_the_report_page(citizen, loop):
    response = citizen.get(REPORT)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="website"' in html and 'class="hp"' in html
    assert '<option value="" selected>Not sure</option>' in html


def test_a_citizen_files_a_report_and_gets_a_receipt(citizen, loop):
    response = citizen.post(REPORT, citizen_data(loop, photos=[photo()], category=loop.rubbish.pk))
    event = Event.objects.get()
    assert response["Location"] == reverse("public:thanks", args=[event.receipt_code])
    assert event.channel == Channel.CITIZEN and event.reporter is None and event.grid == loop.grid
    assert event.contact_name == "李先生" and event.contact_phone == PHONE and event.minor == loop.rubbish
    assert event.attachments.count() == 1
    html = citizen.get(response["Location"]).content.decode()
    code = event.receipt_code
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in html and track_url(event) in html


def test_a_citizen_may_give_the_address_and_community_instead_of_a_point(citizen, loop):
    event = file_report(citizen, loop, lon="", lat="", address="甲一路 5 号", community=loop.tree.community_a.pk)
    assert event.unit == loop.tree.community_a and event.lon is None and event.address == "甲一路 5 号"


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"lon": "", "lat": ""}, "address", "Say where"),
        ({"lon": "", "lat": "", "address": "甲一路"}, "address", "Say where"),
        ({"lon": 39.9, "lat": 116.4}, "lon", "Latitude 116.4 is out of range"),
        ({"category": "4242"}, "category", "not one of them"),
        ({"phone": "call me"}, "phone", "digits only"),
        ({"title": ""}, "title", "required"),
    ],
)
def test_a_bad_citizen_report_is_refused_and_nothing_written(citizen, loop, overrides, field, message):
    response = citizen.post(REPORT, citizen_data(loop, photos=[photo()], **overrides))
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert message in response.content.decode()
    assert "Your report was not sent. Please correct the fields marked below." in response.content.decode()
    assert "Photos have to be chosen again." in response.content.decode()
    assert Event.objects.count() == Attachment.objects.count() == 0


def test_a_bot_filling_the_hidden_field_is_refused(citizen, loop):
    response = citizen.post(REPORT, citizen_data(loop, website="http://spam.example"))
    assert response.status_code == 400 and Event.objects.count() == 0


def test_a_double_submit_files_one_report(citizen, loop):
    data = citizen_data(loop)
    first, second = citizen.post(REPORT, data), citizen.post(REPORT, data)
    assert Event.objects.count() == 1 and first["Location"] == second["Location"]


def test_citizen_reports_are_throttled_per_address(citizen, loop):
    Parameter.objects.create(key="dispatch.citizen_reports_per_hour", value=2)
    file_report(citizen, loop)
    file_report(citizen, loop)
    response = citizen.post(REPORT, citizen_data(loop))
    assert response.status_code == 429
    assert "several reports in the last hour" in response.content.decode()
    assert Event.objects.count() == 2
    file_report(visitor(), loop)  # another address is not held back
    assert Event.objects.count() == 3


# --- Track and rate ------------------------------------------------------------------------------------


def close(event, loop, **handle):
    event = services.event_accept(event=event, actor=loop.operator, note="内部备注：先联系李先生")
    event = services.event_register(event=event, actor=loop.operator, minor=loop.rubbish)
    event = services.event_dispatch(event=event, actor=loop.operator)
    event = services.event_sign(event=event, actor=loop.handler)
    event = services.event_handle(event=event, actor=loop.handler, note="处置人员内部说明", **handle)
    return services.event_verify(event=event, actor=loop.operator, passed=True, note="核查备注")


def test_a_citizen_tracks_the_case_by_receipt_code(citizen, loop):
    event = file_report(citizen, loop)
    code = event.receipt_code
    typed = f"{code[:4]}-{code[4:8]}-{code[8:]}".lower()
    response = citizen.get(reverse("public:track"), {"code": typed})
    assert response.status_code == 302 and response["Location"] == track_url(event)
    html = citizen.get(track_url(event)).content.decode()
    assert "Received; the command centre will check it soon." in html and "Reported" in html

    services.event_accept(event=event, actor=loop.operator, note="内部备注")
    html = citizen.get(track_url(event)).content.decode()
    assert "Accepted; being registered and assigned." in html
    assert '<ol class="timeline">' in html and html.count("<li><time>") == 2


def test_the_public_pages_never_show_contacts_staff_or_notes(citizen, loop):
    event = file_report(citizen, loop, photos=[photo()])
    close(event, loop, photos=[photo(colour="blue")])
    html = citizen.get(track_url(event)).content.decode()
    assert "Done. Please tell us whether you are satisfied." in html
    for secret in (PHONE, "李先生", "内部备注", "处置人员内部说明", "核查备注", loop.operator.full_name,
                   loop.handler.full_name, loop.operator.username, "/dispatch/photos/", "originals"):
        assert secret not in html, secret
    photos = Attachment.objects.filter(event=event)
    for attachment in photos:
        assert reverse("public:track_thumb", args=[event.receipt_code, attachment.pk]) in html


def test_a_citizen_rates_a_closed_case_once(citizen, loop):
    event = file_report(citizen, loop)
    close(event, loop)
    response = citizen.post(reverse("public:rate", args=[event.receipt_code]),
                            {"satisfaction": "basically", "comment": "再快一点更好"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.state == State.EVALUATED and event.satisfaction == "basically"
    assert event.rating_comment == "再快一点更好"
    html = citizen.get(track_url(event)).content.decode()
    assert 'id="rated"' in html and 'id="send-rating"' not in html
    again = citizen.post(reverse("public:rate", args=[event.receipt_code]), {"satisfaction": "dissatisfied"})
    assert again.status_code == 400 and "already been rated" in again.content.decode()
    event.refresh_from_db()
    assert event.satisfaction == "basically"


def test_rating_needs_a_closed_case_and_a_choice(citizen, loop):
    event = file_report(citizen, loop)
    html = citizen.get(track_url(event)).content.decode()
    assert 'id="send-rating"' not in html
    response = citizen.post(reverse("public:rate", args=[event.receipt_code]), {"satisfaction": "satisfied"})
    assert response.status_code == 400 and "once it is closed" in response.content.decode()
    close(event, loop)
    response = citizen.post(reverse("public:rate", args=[event.receipt_code]), {"satisfaction": "thrilled"})
    assert response.status_code == 400 and Event.objects.get().state == State.CLOSED


def test_a_merged_duplicate_shows_the_case_it_joined(citizen, loop):
    first = file_report(citizen, loop)
    second = file_report(citizen, loop, title="门口路灯坏了", photos=[photo()])
    services.event_merge(event=second, into=first, actor=loop.operator)
    services.event_accept(event=first, actor=loop.operator)
    html = citizen.get(track_url(second)).content.decode()
    assert 'id="merged-note"' in html and "Accepted; being registered and assigned." in html
    assert "Another report of the same problem joined this case" in html
    own = second.attachments.get()  # the citizen still sees their own (re-encoded) photo
    assert reverse("public:track_thumb", args=[second.receipt_code, own.pk]) in html
    assert citizen.get(reverse("public:track_thumb", args=[second.receipt_code, own.pk])).status_code == 200
    assert 'id="merged-note"' not in citizen.get(track_url(first)).content.decode()


def test_an_unknown_code_gets_a_friendly_404_and_guessing_is_throttled(citizen, loop):
    event = file_report(citizen, loop)
    Parameter.objects.create(key="dispatch.receipt_misses_per_hour", value=3)
    for guess in ("AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"):
        response = citizen.get(reverse("public:track_case", args=[guess]))
        assert response.status_code == 404
        assert "We could not find that receipt code" in response.content.decode()
    blocked = citizen.get(track_url(event))  # even a right code: no oracle for a guesser
    assert blocked.status_code == 429 and "Too many receipt codes" in blocked.content.decode()
    assert visitor().get(track_url(event)).status_code == 200


# --- Public photos -------------------------------------------------------------------------------------


def test_public_photos_are_only_the_reencoded_public_ones(citizen, loop):
    by_worker, _ = services.event_report(channel=Channel.GRID, title="井盖", minor=loop.rubbish, lon=loop.inside[0],
                                         lat=loop.inside[1], reporter=loop.worker, photos=[photo()])
    worker_photo = by_worker.attachments.get()
    close(by_worker, loop, photos=[photo(colour="green")])
    after = by_worker.attachments.get(stage=Stage.AFTER)
    code = by_worker.receipt_code

    for name, kind in (("public:track_photo", "display"), ("public:track_thumb", "thumbnail")):
        response = citizen.get(reverse(name, args=[code, after.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"].startswith("private")
        with getattr(after, kind).open("rb") as f:
            assert b"".join(response.streaming_content) == f.read()
    # A grid worker's report photo is staff-only; so is another case's photo under this code.
    assert citizen.get(reverse("public:track_photo", args=[code, worker_photo.pk])).status_code == 404
    other = file_report(citizen, loop, photos=[photo()])
    assert citizen.get(reverse("public:track_photo", args=[code, other.attachments.get().pk])).status_code == 404
    assert citizen.get(reverse("public:track_photo", args=["ZZZZZZZZZZ", after.pk])).status_code == 404
