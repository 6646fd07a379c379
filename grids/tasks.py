"""Periodic upkeep of the grids app."""

import datetime

from celery import shared_task
from django.core.files.storage import default_storage
from django.utils import timezone

IMPORT_UPLOADS = "grid-imports"
IMPORT_UPLOAD_MAX_AGE = datetime.timedelta(days=1)


@shared_task
def import_uploads_expire() -> int:
    """Delete uploaded import files whose dry run was never confirmed (a day is long enough to decide).

    Idempotent; files confirmed in the meantime are already gone.
    """
    if not default_storage.exists(IMPORT_UPLOADS):
        return 0
    cutoff = timezone.now() - IMPORT_UPLOAD_MAX_AGE
    deleted = 0
    user_dirs, _ = default_storage.listdir(IMPORT_UPLOADS)
    for user_dir in user_dirs:
        _, files = default_storage.listdir(f"{IMPORT_UPLOADS}/{user_dir}")
        for name in files:
            path = f"{IMPORT_UPLOADS}/{user_dir}/{name}"
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                deleted += 1
    return deleted
