"""Unconfirmed import uploads are cleaned up after a day; recent ones are kept for the confirm step."""

import datetime
import os

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from grids.tasks import import_uploads_expire


def test_it_deletes_only_uploads_older_than_a_day(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    old = default_storage.save("grid-imports/7/" + "a" * 32 + ".geojson", ContentFile(b"{}"))
    fresh = default_storage.save("grid-imports/7/" + "b" * 32 + ".geojson", ContentFile(b"{}"))
    two_days_ago = (datetime.datetime.now() - datetime.timedelta(days=2)).timestamp()
    os.utime(tmp_path / old, (two_days_ago, two_days_ago))

    assert import_uploads_expire() == 1
    assert not default_storage.exists(old)
    assert default_storage.exists(fresh)
    assert import_uploads_expire() == 0  # idempotent


def test_it_does_nothing_when_nothing_was_uploaded(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    assert import_uploads_expire() == 0
