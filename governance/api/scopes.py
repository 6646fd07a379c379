"""The scopes a client's tokens may hold. A token can never do more than its client's account could
do in the browser: scopes only narrow. Apps register theirs here (one place to read them all)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

SCOPES: dict[str, str] = {
    "dispatch:read": _("Read cases and the catalogue"),
    "dispatch:report": _("File reports"),
    "dispatch:act": _("Take workflow actions on cases"),
    "grids:read": _("Read units, grids and grid workers"),
    "personal_data": _("See personal data unmasked, where the account's role may"),
    "webhooks": _("Manage the client's own webhook subscriptions"),
    "open311": _("File and follow reports through Open311 GeoReport v2"),
}


def scope_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} — {label}") for name, label in SCOPES.items()]
