"""ETags on detail responses: a strong validator from the representation the client receives.

``etag_response(request, data)`` answers 304 Not Modified when the client's ``If-None-Match``
names the same representation, else 200 with the ``ETag``. The tag hashes what this client sees
(its masking and allowed actions included), so two clients never share a stale tag.
"""

from __future__ import annotations

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework import status
from rest_framework.response import Response


def etag_for(data) -> str:
    body = json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return '"%s"' % hashlib.sha256(body).hexdigest()[:32]


def _matches(header: str, tag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x" for GET.
    return any(t.strip().removeprefix("W/") == tag for t in header.split(","))


def etag_response(request, data, *, status_code: int = status.HTTP_200_OK, headers=None) -> Response:
    tag = etag_for(data)
    headers = {**(headers or {}), "ETag": tag}
    if request.method in ("GET", "HEAD") and _matches(request.headers.get("If-None-Match", ""), tag):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(data, status=status_code, headers=headers)
