"""Personal data (name, ID number, phone, address of residents, reporters, petitioners): shown
only to those whose part needs it, masked everywhere else — on pages, in exports and in API
responses — and every view of it unmasked is audited (../shared/domain/grids.md, "Personal data").

Apps decide who needs it (e.g. ``dispatch.permissions.is_centre``); this module masks, and for API
requests adds the second condition: a token's client must hold the ``personal_data`` scope.
"""

from __future__ import annotations

from governance.api.auth import has_scope
from governance.audit import audit_log

PERSONAL_SCOPE = "personal_data"


def mask_phone(value: str) -> str:
    """138****5678: the first three and last four digits of a mobile; short numbers keep the last two."""
    value = (value or "").strip()
    if len(value) >= 11:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if len(value) > 2:
        return "*" * (len(value) - 2) + value[-2:]
    return "*" * len(value)


def mask_name(value: str) -> str:
    """张*, 欧阳** — the family name (first character) only."""
    value = (value or "").strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""


def mask_id_number(value: str) -> str:
    """110***********1234: the first three and last four characters of an ID number."""
    value = (value or "").strip()
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def may_see_unmasked(request, needs_it: bool) -> bool:
    """``needs_it``: the app's rule for the person and the record; API tokens also need the scope."""
    return bool(needs_it) and has_scope(request, PERSONAL_SCOPE)


def audit_personal_view(*, actor, obj, fields: list[str], channel: str) -> None:
    """Record that ``actor`` saw ``fields`` of ``obj`` unmasked (``channel``: page, api, export)."""
    audit_log(actor=actor, action="governance.personal_data.viewed", obj=obj,
              data={"fields": fields, "channel": channel})
