"""The grid map's "open cases" measure (see grids.selectors.Measure), registered in DispatchConfig.ready."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from dispatch.models import Event
from dispatch.workflow import OPEN_STATES
from grids.selectors import Measure, register_measure


def _open_cases() -> dict:
    # A correlated count per grid: a join with Count would multiply rows with the other measures.
    per_grid = (
        Event.objects.filter(grid=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("grid")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {"open_cases": Coalesce(Subquery(per_grid, output_field=IntegerField()), Value(0))}


register_measure(Measure("open_cases", _("Open cases"), "count", lambda row: row["open_cases"], annotate=_open_cases))
