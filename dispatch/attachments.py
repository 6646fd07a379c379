"""Photos on cases: checked by content, size-limited, re-encoded without metadata for display.

``prepare`` reads and checks an upload *before* anything is written, so a bad photo refuses the
whole submission with a clear message and leaves nothing half-saved; ``attachment_save`` then
stores the prepared photo inside the caller's transaction.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

from dispatch.models import Attachment, Event
from governance.params import get_param

# Formats accepted, by what Pillow finds in the bytes (never the file name or the browser's claim).
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
DEFAULT_MAX_MB = 10
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
DISPLAY_PX = 1600
THUMB_PX = 320
MAX_PHOTOS = 9


@dataclass
class PreparedPhoto:
    original: bytes
    name: str
    content_type: str
    width: int
    height: int
    display: bytes
    thumbnail: bytes


def max_mb() -> float:
    return float(get_param("dispatch.photo_max_mb", DEFAULT_MAX_MB))


def max_bytes() -> int:
    return int(max_mb() * 1024 * 1024)


def prepare(upload) -> PreparedPhoto:
    """Check one uploaded file and make its metadata-free copies; ValidationError if unfit."""
    limit_mb = max_mb()
    if upload.size > int(limit_mb * 1024 * 1024):
        raise ValidationError(
            gettext("“%(name)s” is %(size).1f MB; photos may be at most %(max)s MB.")
            % {"name": upload.name, "size": upload.size / 1048576, "max": f"{limit_mb:g}"}
        )
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise ValidationError(gettext("“%(name)s” has too many pixels.") % {"name": upload.name})
            probe.verify()
        if fmt not in FORMATS:
            raise UnidentifiedImageError(fmt)
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant, then drop EXIF
            display = _encode(image, DISPLAY_PX)
            thumbnail = _encode(image, THUMB_PX)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            gettext("“%(name)s” is not a photo we can read. Send a JPEG, PNG or WebP image.") % {"name": upload.name}
        ) from None
    content_type, ext = FORMATS[fmt]
    return PreparedPhoto(
        original=data, name=f"{uuid.uuid4().hex}.{ext}", content_type=content_type,
        width=width, height=height, display=display, thumbnail=thumbnail,
    )


def prepare_all(uploads) -> list[PreparedPhoto]:
    """Prepare each upload; photos a form already prepared (to put its message on the right field)
    pass through, so nothing is decoded twice."""
    uploads = list(uploads or [])
    if len(uploads) > MAX_PHOTOS:
        raise ValidationError(gettext("At most %(n)d photos at a time.") % {"n": MAX_PHOTOS})
    return [upload if isinstance(upload, PreparedPhoto) else prepare(upload) for upload in uploads]


def _encode(image: Image.Image, box: int) -> bytes:
    copy = image.convert("RGB")
    copy.thumbnail((box, box))
    out = io.BytesIO()
    copy.save(out, format="JPEG", quality=82, optimize=True)  # a fresh JPEG carries no EXIF/GPS
    return out.getvalue()


def attachment_save(*, event: Event, photo: PreparedPhoto, stage: str, actor) -> Attachment:
    stem = photo.name.rsplit(".", 1)[0]
    attachment = Attachment(
        event=event, stage=stage, content_type=photo.content_type, size=len(photo.original),
        width=photo.width, height=photo.height, uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    attachment.image.save(photo.name, ContentFile(photo.original), save=False)
    attachment.display.save(f"{stem}.jpg", ContentFile(photo.display), save=False)
    attachment.thumbnail.save(f"{stem}.jpg", ContentFile(photo.thumbnail), save=False)
    attachment.save()
    return attachment
