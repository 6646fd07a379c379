"""Bearer tokens of API clients, and the scope check.

A client sends ``Authorization: Bearer <token>``. Only the SHA-256 of a token is stored; the token
itself is shown once when issued (admin, ``manage.py api_token``). A request made with a token acts
as the client's account (so the same scoping selectors apply) and may use only the views whose
``required_scopes`` name a scope the client holds; a view that names none is closed to tokens.
Browser sessions are not narrowed by scopes: the account's roles decide, as on the pages.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from governance.audit import audit_log, client_ip
from governance.models import ApiClient, ApiToken

TOKEN_PREFIX = "ggv_"
LAST_USED_PRECISION = datetime.timedelta(minutes=1)  # one write per token per minute at most


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def token_issue(*, client: ApiClient, actor=None, label: str = "", expires_at=None) -> tuple[ApiToken, str]:
    """A new token for ``client``; returns the row and the token, which is never shown again."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(client=client, prefix=key[:12], key_hash=hash_key(key), label=label,
                                    created_by=actor, expires_at=expires_at)
    audit_log(actor=actor, action="governance.api_token.issued", obj=token,
              data={"client": client.name, "prefix": token.prefix})
    return token, key


def token_revoke(*, token: ApiToken, actor=None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log(actor=actor, action="governance.api_token.revoked", obj=token,
                  data={"client": token.client.name, "prefix": token.prefix})
    return token


def authenticate_key(key: str, ip: str | None = None) -> ApiToken:
    """The usable token ``key`` names, its last use recorded; AuthenticationFailed otherwise."""
    try:
        token = ApiToken.objects.select_related("client__account").get(key_hash=hash_key(key))
    except ApiToken.DoesNotExist:
        raise exceptions.AuthenticationFailed(_("Unknown token.")) from None
    now = timezone.now()
    if not token.usable(now):
        raise exceptions.AuthenticationFailed(_("This token has been revoked or has expired."))
    if not token.client.is_active or not token.client.account.is_active:
        raise exceptions.AuthenticationFailed(_("This client has been switched off."))
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION or token.last_used_ip != ip:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token


class TokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` (``Token <token>`` is accepted too)."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Unknown token.")) from None
        token = authenticate_key(key, client_ip(request))
        return token.client.account, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def client_of(request) -> ApiClient | None:
    """The API client making the request, None for a browser session."""
    auth = getattr(request, "auth", None)
    return auth.client if isinstance(auth, ApiToken) else None


def has_scope(request, scope: str) -> bool:
    """True for browser sessions (roles decide) and for tokens whose client holds ``scope``."""
    client = client_of(request)
    return client is None or scope in client.scopes


class TokenHasScope(permissions.BasePermission):
    """Views name ``required_scopes = {"read": "dispatch:read", "write": "dispatch:report"}``:
    ``read`` for GET/HEAD/OPTIONS, ``write`` for the rest; a value of None lets any token in."""

    def has_permission(self, request, view) -> bool:
        client = client_of(request)
        if client is None or not hasattr(view, request.method.lower()):
            return True  # a session; or a method the view lacks, which DRF answers 405
        required = getattr(view, "required_scopes", None)
        kind = "read" if request.method in permissions.SAFE_METHODS else "write"
        if required is None or kind not in required:
            self.message = _("This endpoint is not open to API tokens.")
            return False
        scope = required[kind]
        if scope is not None and scope not in client.scopes:
            self.message = _("This token's client lacks the scope “%(scope)s”.") % {"scope": scope}
            return False
        return True
