"""The OpenAPI description of /api/v1 (served at /api/v1/schema/, read at /api/v1/docs/).

drf-spectacular describes each view from its serializers and ``extend_schema`` annotations; this
module adds what every view shares, so no app repeats it:

- ``TokenAuthenticationScheme``: bearer tokens (``governance.api.auth``) as the ``bearerAuth``
  security scheme; sessions are drf-spectacular's own ``cookieAuth``;
- ``document_errors`` (POSTPROCESSING_HOOKS): the one error format (``governance.api.errors``) as
  the ``Error`` component, declared on each operation for the refusals it can answer (400 where
  there is input, 401, 403, 404 where the path names an object, 409 on writes, 429 with
  ``Retry-After``);
- ``api_v1_only`` (PREPROCESSING_HOOKS): only /api/v1 is described, not Open311;
- ``AnyOf``: a request body that is one of several shapes, chosen by something outside the body
  (the action named in the path, say).

Imported by ``GovernanceConfig.ready()`` so the extensions are registered before any schema is built.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from rest_framework import serializers

from governance.api.errors import NON_FIELD

ERROR_COMPONENT = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refused request answers this shape (docs/api.md, “Errors”).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, for machines: invalid, not_authenticated, authentication_failed, "
                                   "permission_denied, not_found, not_allowed, conflict, throttled …",
                },
                "message": {"type": "string", "description": "For people, in the request's language."},
                "fields": {
                    "type": "object",
                    "description": "Each refused input field with its messages; nested fields as "
                                   f"“parent.child”, the input as a whole as “{NON_FIELD}”. Empty "
                                   "unless the code is invalid.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "allowed_actions": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "With code not_allowed: the actions you may take now.",
                },
            },
            "required": ["code", "message", "fields"],
        },
    },
    "required": ["error"],
}

# What each refusal means; which operations declare which: ``_error_codes``.
ERROR_RESPONSES = {
    "400": _("Invalid input: “fields” names each refused field."),
    "401": _("No credentials, or an unknown, revoked or expired token."),
    "403": _("The token's client lacks the scope, or the account's role may not do this."),
    "404": _("No such object, or not in your jurisdiction (the same answer for both)."),
    "409": _("Refused by the workflow now: the object changed meanwhile (a stale “version”), or the "
             "action is not allowed in its current state."),
    "429": _("Too many requests: wait the seconds “Retry-After” says."),
}
RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before asking again."},
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer realm=\"api\""},
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
API_PREFIX = "/api/v1/"


def api_v1_only(endpoints):
    """PREPROCESSING_HOOKS: describe /api/v1 only (Open311 has its own specification)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(API_PREFIX)]


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "governance.api.auth.TokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client's token: Authorization: Bearer ggv_… (issued in the admin or with "
                           "manage.py api_token). The client's scopes decide which operations it may call.",
        }


def document_errors(result, generator, request, public):
    """POSTPROCESSING_HOOKS: the ``Error`` component, and on each operation the refusals it can
    answer in that format (an answer the view described itself is kept). A hook rather than an
    AutoSchema subclass, so views with a schema class of their own are covered too."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for code in _error_codes(method.upper(), operation):
                if code not in responses:
                    responses[code] = _error_response(code, ref)
    return result


def _error_codes(method: str, operation: dict) -> list[str]:
    parameters = operation.get("parameters", [])
    codes = []
    if "requestBody" in operation or any(p["in"] == "query" for p in parameters):
        codes.append("400")
    codes += ["401", "403"]
    if any(p["in"] == "path" for p in parameters):
        codes.append("404")
    if method in WRITE_METHODS:
        codes.append("409")
    codes.append("429")
    return codes


def _error_response(code: str, ref: dict) -> dict:
    response = {"description": str(ERROR_RESPONSES[code]), "content": {"application/json": {"schema": ref}}}
    if code == "429":
        response["headers"] = RETRY_AFTER
    elif code == "401":
        response["headers"] = WWW_AUTHENTICATE
    return response


class AnyOf(serializers.Serializer):
    """A request body that takes one of ``choices`` (serializer classes), as ``anyOf`` in the schema.

    For bodies whose shape depends on something outside the body (``POST …/actions/<action>/``):
    no field tells the shapes apart, so the schema says "one or more of these" (``anyOf``) rather
    than "exactly one" (``oneOf``, which a body valid for two similar shapes would fail).
    """

    def __init__(self, choices: Sequence[type[serializers.Serializer]], *, component_name: str, **kwargs):
        self.choices = list(choices)
        self.component_name = component_name
        super().__init__(**kwargs)


class AnyOfExtension(OpenApiSerializerExtension):
    target_class = AnyOf

    def get_name(self, auto_schema, direction):
        return self.target.component_name

    def get_identity(self, auto_schema, direction):
        return self.target.component_name

    def map_serializer(self, auto_schema, direction):
        return {"anyOf": [auto_schema.resolve_serializer(choice, direction).ref for choice in self.target.choices]}
