r"""``manage.py api_client create|token|revoke|list``: API clients and their tokens from the shell.

    manage.py api_client create --name 区城管系统 --account cgj_api --scopes dispatch:read,webhooks \
        [--rate 600/minute] [--contact 王工]
    manage.py api_client token --name 区城管系统 [--label 生产] [--expires-days 365]   # prints the token once
    manage.py api_client revoke --prefix ggv_AbCdEfGh
    manage.py api_client list
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.api.auth import token_issue, token_revoke
from governance.api.scopes import SCOPES
from governance.audit import audit_log, snapshot
from governance.models import ApiClient, ApiToken, User


class Command(BaseCommand):
    help = "Create API clients, issue and revoke their tokens, and list them."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True, metavar="create|token|revoke|list")
        create = commands.add_parser("create", help="Create a client acting as an existing account.")
        create.add_argument("--name", required=True)
        create.add_argument("--account", required=True, help="Username of the account the client acts as.")
        create.add_argument("--scopes", required=True, help="Comma-separated: " + ", ".join(SCOPES))
        create.add_argument("--rate", default="", help="e.g. 600/minute (default: API_CLIENT_RATE).")
        create.add_argument("--contact", default="")
        token = commands.add_parser("token", help="Issue a token to a client; it is printed once.")
        token.add_argument("--name", required=True)
        token.add_argument("--label", default="")
        token.add_argument("--expires-days", type=int, default=None)
        revoke = commands.add_parser("revoke", help="Revoke the token with this prefix.")
        revoke.add_argument("--prefix", required=True)
        commands.add_parser("list", help="List clients and their tokens.")

    def handle(self, *args, command: str, **options):
        getattr(self, f"_{command}")(**options)

    def _create(self, *, name: str, account: str, scopes: str, rate: str, contact: str, **_options):
        user = User.objects.filter(username=account).first()
        if user is None:
            raise CommandError(_("No account with the username “%(name)s”.") % {"name": account})
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in SCOPES]
        if unknown:
            raise CommandError(_("Unknown scopes: %(unknown)s. Known: %(known)s.")
                               % {"unknown": ", ".join(unknown), "known": ", ".join(SCOPES)})
        client = ApiClient(name=name, account=user, scopes=[s for s in SCOPES if s in wanted], rate_limit=rate,
                           contact=contact)
        try:
            client.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()))
        with transaction.atomic():
            client.save()
            audit_log(actor=None, action="governance.apiclient.created", obj=client,
                      data={**snapshot(client, ["name", "account_id", "scopes", "rate_limit"]), "via": "manage.py"})
        self.stdout.write(self.style.SUCCESS(_("Client “%(name)s” created, acting as %(account)s, scopes: %(scopes)s.")
                                             % {"name": name, "account": account,
                                                "scopes": ", ".join(client.scopes) or "-"}))

    def _token(self, *, name: str, label: str, expires_days: int | None, **_options):
        client = self._client(name)
        if expires_days is not None and expires_days < 1:
            raise CommandError(_("--expires-days must be 1 or more."))
        expires_at = timezone.now() + datetime.timedelta(days=expires_days) if expires_days else None
        token, key = token_issue(client=client, label=label, expires_at=expires_at)
        self.stdout.write(key)
        self.stderr.write(_("Token %(prefix)s… issued to “%(name)s”. Copy it now: it will not be shown again.")
                          % {"prefix": token.prefix, "name": name})

    def _revoke(self, *, prefix: str, **_options):
        tokens = list(ApiToken.objects.filter(prefix=prefix).select_related("client"))
        if not tokens:
            raise CommandError(_("No token starts with “%(prefix)s”.") % {"prefix": prefix})
        if len(tokens) > 1:
            raise CommandError(_("Several tokens start with “%(prefix)s”; revoke them in the administration.")
                               % {"prefix": prefix})
        token = tokens[0]
        if token.revoked_at is not None:
            self.stdout.write(_("Token %(prefix)s… was already revoked.") % {"prefix": prefix})
            return
        token_revoke(token=token)
        self.stdout.write(self.style.SUCCESS(_("Token %(prefix)s… of “%(name)s” revoked.")
                                             % {"prefix": prefix, "name": token.client.name}))

    def _list(self, **_options):
        now = timezone.now()
        for client in ApiClient.objects.select_related("account").prefetch_related("tokens"):
            state = "" if client.is_active else " " + _("(switched off)")
            self.stdout.write(f"{client.name}{state} · {client.account.username} · "
                              f"{', '.join(client.scopes) or '-'} · {client.rate_limit or '-'}")
            for token in client.tokens.all():
                status = _("in use") if token.usable(now) else (_("revoked") if token.revoked_at else _("expired"))
                used = f"{timezone.localtime(token.last_used_at):%Y-%m-%d %H:%M}" if token.last_used_at else "-"
                self.stdout.write(f"  {token.prefix}…  {token.label or '-'}  {status}  " + _("last used: %(when)s")
                                  % {"when": used})

    def _client(self, name: str) -> ApiClient:
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            raise CommandError(_("No client named “%(name)s”.") % {"name": name})
        return client
