"""Ordering for API lists: ``?ordering=field`` or ``-field`` among the view's ``ordering_fields``;
an unknown field is refused (400) rather than silently ignored, so a client's typo is seen."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import filters
from rest_framework.exceptions import ValidationError


class StrictOrderingFilter(filters.OrderingFilter):
    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            allowed = {name for name, _label in self.get_valid_fields(queryset, view, {"request": request})}
            asked = [term.strip() for term in params.split(",") if term.strip()]
            unknown = [term for term in asked if term.lstrip("-") not in allowed]
            if unknown:
                raise ValidationError({self.ordering_param: [
                    _("Order by one of: %(fields)s (with - for descending).") % {"fields": ", ".join(sorted(allowed))}
                ]})
        return super().get_ordering(request, queryset, view)
