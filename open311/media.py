"""media_url: a link to one photo of a request, always the copy re-encoded without metadata (no GPS).

The public tracking page's photo links carry the receipt code, which is the request's token, so
Open311 lists cannot use them. Instead each link is signed (so photo ids cannot be enumerated):

- for anyone: the latest photo taken after handling or at verification (what the tracking page
  shows anyone holding the code); the link does not expire;
- for an api_key whose account may see the case: the first photo of the report itself, which may
  show more of people and places; its link expires after ``FULL_MAX_AGE`` (ask again for a new one).
"""

from __future__ import annotations

import datetime

from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext

from dispatch.models import Attachment, Event, Stage
from dispatch.views.public import PUBLIC_PHOTO_STAGES
from open311.errors import Open311Error
from open311.mapping import PUBLIC_KINDS

PUBLIC_SALT = "open311.media.public"
FULL_SALT = "open311.media.full"
FULL_MAX_AGE = datetime.timedelta(days=7)


def media_url(request, event: Event, *, full: bool) -> str | None:
    """The link for ``event`` (its ``attachments`` prefetched, oldest first), None without a photo."""
    photos = list(event.attachments.all())
    chosen = next((a for a in photos if a.stage == Stage.REPORT), None) if full else None
    if chosen is not None:
        signed = signing.TimestampSigner(salt=FULL_SALT).sign(str(chosen.pk))
    else:
        public = [a for a in photos if a.stage in PUBLIC_PHOTO_STAGES]
        if not public:
            return None
        signed = signing.Signer(salt=PUBLIC_SALT).sign(str(public[-1].pk))
    return request.build_absolute_uri(reverse("open311:media", args=[signed]))


def attachment_get(signed: str) -> Attachment:
    """The photo a link names, if it may still be shown (its case is still of a public service)."""
    rows = Attachment.objects.filter(event__minor__major__kind__in=PUBLIC_KINDS).only("pk", "display")
    try:
        pk = signing.Signer(salt=PUBLIC_SALT).unsign(signed)
        rows = rows.filter(stage__in=PUBLIC_PHOTO_STAGES)
    except signing.BadSignature:
        try:
            pk = signing.TimestampSigner(salt=FULL_SALT).unsign(signed, max_age=FULL_MAX_AGE)
        except signing.BadSignature:  # SignatureExpired included
            pk = None
    attachment = rows.filter(pk=pk).first() if pk and pk.isdigit() else None
    if attachment is None:
        raise Open311Error(404, gettext("This media was not found, or its link has expired."))
    return attachment
