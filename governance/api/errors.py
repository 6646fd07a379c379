"""One error format for every API refusal, installed as DRF's EXCEPTION_HANDLER::

    {"error": {"code": "invalid", "message": "…", "fields": {"category": ["…"]}}}

``code`` is stable for machines (``invalid``, ``not_found``, ``not_authenticated``,
``permission_denied``, ``throttled``, ``conflict``, ``not_allowed`` …), ``message`` is for people
(in the request's language), ``fields`` names each refused input field ("parent.child" for nested
ones, "non_field_errors" for the whole). Django's ValidationError raised by a service answers 400,
and so does any domain error that carries ``status`` and ``message`` (``DomainError``).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from governance.errors import DomainError

NON_FIELD = "non_field_errors"
# Field names that services use and the API names differently.
FIELD_NAMES = {"__all__": NON_FIELD, "to_unit": "unit", "minor": "category"}


def error_response(status_code: int, code: str, message: str, fields: dict | None = None, headers=None,
                   **extra) -> Response:
    return Response({"error": {"code": code, "message": message, "fields": fields or {}, **extra}},
                    status=status_code, headers=headers)


def flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail → {"field": ["message", …]}, nested fields as "parent.child" / "list.0.child"."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else FIELD_NAMES.get(key, key)
            out.update(flatten(value, name))
        return out
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            if item:
                out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    messages = [str(m) for m in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or NON_FIELD: messages}


def invalid_response(fields: dict[str, list[str]]) -> Response:
    if set(fields) == {NON_FIELD}:
        message = " ".join(fields[NON_FIELD])
    else:
        message = gettext("Check these fields: %(fields)s.") % {"fields": ", ".join(sorted(fields))}
    return error_response(status.HTTP_400_BAD_REQUEST, "invalid", message, fields)


DATABASE_DOWN_RETRY_S = 5


def api_exception_handler(exc, context) -> Response | None:
    """The API's answer to every refused request; None (→ 500) for real faults."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database is restarting or unreachable (found by the PostgreSQL-restart drill): a clean
        # 503 a client can retry, not the HTML error page. Django reconnects on the next request.
        return error_response(status.HTTP_503_SERVICE_UNAVAILABLE, "unavailable",
                              gettext("The database is not answering; try again in a moment."),
                              headers={"Retry-After": str(DATABASE_DOWN_RETRY_S)})
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        return invalid_response(flatten(detail))
    if isinstance(exc, DomainError):
        set_rollback()
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return invalid_response(flatten(exc.detail))
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = "%d" % exc.wait
        code = exc.detail.code if isinstance(exc.detail, exceptions.ErrorDetail) else exc.default_code
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)
    return None
