"""[practice] settings that an administrator may override at run time (``governance.models.Parameter``).

Code declares each parameter's default where it is used (``get_param("grids.household_range", [300, 500])``);
a ``Parameter`` row with the same key overrides it. Values are JSON.
"""

from __future__ import annotations

from typing import Any

from governance.models import Parameter


def get_param(key: str, default: Any) -> Any:
    """The administrator's value for ``key``, or ``default`` when none is set (one query)."""
    value = Parameter.objects.filter(key=key).values_list("value", flat=True).first()
    return default if value is None else value
