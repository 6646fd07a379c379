"""Photos for intake tests, made in memory with Pillow."""

from __future__ import annotations

import io
import os

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_IFD = 0x8825  # ExifTags.IFD.GPSInfo


def image_bytes(fmt: str = "JPEG", size=(64, 48), colour="red", gps: bool = False, noise: bool = False) -> bytes:
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else Image.new("RGB", size, colour)
    out = io.BytesIO()
    kwargs = {}
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make
        exif.get_ifd(GPS_IFD).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)})
        kwargs["exif"] = exif
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def photo(name: str = "photo.jpg", **kwargs) -> SimpleUploadedFile:
    fmt = kwargs.pop("fmt", "JPEG")
    return SimpleUploadedFile(name, image_bytes(fmt, **kwargs), content_type="image/jpeg")


def text_file(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"this is not a picture\n" * 20, content_type="image/jpeg")


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(GPS_IFD))
