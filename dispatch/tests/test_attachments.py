"""Photos are checked by content, size-limited, and what may be shown carries no metadata."""

import io
import uuid

import pytest
from django.urls import reverse
from PIL import Image

from dispatch import attachments
from dispatch.models import Attachment, Event
from dispatch.tests.images import has_gps, image_bytes, photo, text_file
from governance.models import Parameter

pytestmark = pytest.mark.django_db

REPORT = reverse("dispatch:report")



@pytest.fixture
def worker(client, loop):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(loop.worker)
    return client


def send(client, loop, *photos):
    return client.post(REPORT, {"idem": str(uuid.uuid4()), "title": "垃圾", "category": loop.rubbish.pk,
                                "lon": loop.inside[0], "lat": loop.inside[1], "photos": list(photos)})


def read(field) -> bytes:
    with field.open("rb") as f:
        return f.read()


def test_gps_is_stripped_from_what_is_shown_and_kept_in_the_original(worker, loop):
    upload = photo("gps.jpg", size=(800, 600), gps=True)
    assert has_gps(upload.read())
    upload.seek(0)
    assert send(worker, loop, upload).status_code == 302
    stored = Attachment.objects.get()
    for field in (stored.display, stored.thumbnail):
        data = read(field)
        assert not has_gps(data)
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
    assert has_gps(read(stored.image))  # the original is evidence, served to staff only
    with Image.open(io.BytesIO(read(stored.thumbnail))) as thumb:
        assert max(thumb.size) == attachments.THUMB_PX
    assert (stored.width, stored.height, stored.content_type) == (800, 600, "image/jpeg")


def test_a_png_named_jpg_is_taken_as_the_png_it_is(worker, loop):
    upload = photo("screenshot.jpg", fmt="PNG")
    assert send(worker, loop, upload).status_code == 302
    stored = Attachment.objects.get()
    assert stored.content_type == "image/png" and stored.image.name.endswith(".png")
    assert read(stored.image).startswith(b"\x89PNG")
    assert read(stored.display).startswith(b"\xff\xd8")  # shown as a re-encoded JPEG


def test_a_text_file_named_jpg_is_refused(worker, loop):
    response = send(worker, loop, text_file("notes.jpg"))
    assert response.status_code == 400
    assert "“notes.jpg” is not a photo we can read. Send a JPEG, PNG or WebP image." in response.content.decode()
    assert Event.objects.count() == Attachment.objects.count() == 0


def test_an_oversized_photo_is_refused(worker, loop):
    Parameter.objects.create(key="dispatch.photo_max_mb", value=0.05)
    big = photo("big.jpg", size=(400, 400), noise=True)
    assert big.size > 0.05 * 1048576
    response = send(worker, loop, big)
    assert response.status_code == 400
    assert "photos may be at most 0.05 MB" in response.content.decode()
    assert Event.objects.count() == Attachment.objects.count() == 0
    assert send(worker, loop, photo("small.jpg")).status_code == 302  # a small one still goes through


def test_too_many_photos_at_once_are_refused(worker, loop):
    response = send(worker, loop, *[photo(f"{n}.jpg") for n in range(attachments.MAX_PHOTOS + 1)])
    assert response.status_code == 400 and "At most 9 photos at a time." in response.content.decode()
    assert Event.objects.count() == Attachment.objects.count() == 0


def test_prepared_photos_pass_through_without_being_decoded_again():
    upload = photo("a.jpg")
    prepared = attachments.prepare(upload)
    assert attachments.prepare_all([prepared]) == [prepared]
    assert image_bytes()[:2] == prepared.display[:2] == b"\xff\xd8"
