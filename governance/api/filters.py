"""Query filters shared by every API list, so a bad value answers 400 naming the parameter instead
of being ignored or failing in the database:

- ``StrictOrderingFilter``: ``?ordering=field`` or ``-field`` among the view's ``ordering_fields``;
  an unknown field is refused rather than silently ignored, so a client's typo is seen.
- ``IdFilter``: a whole number id within a database id's range.
- ``UtcIsoDateTimeFilter``: an ISO 8601 time the database can compare with.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField
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

    def get_schema_operation_parameters(self, view):
        fields = [name for name in getattr(view, "ordering_fields", None) or [] if isinstance(name, str)]
        if not fields:
            return super().get_schema_operation_parameters(view)
        choices = [term for name in fields for term in (name, f"-{name}")]
        return [{
            "name": self.ordering_param, "required": False, "in": "query",
            "description": str(self.ordering_description),
            "schema": {"type": "string", "enum": choices},
        }]


ID_MAX = 2**63 - 1  # the largest id a bigint column holds (PostgreSQL; SQLite's INTEGER alike)


class StrictIdField(forms.IntegerField):
    """A whole number from 1 to ID_MAX ("1.5", "1e30" and "abc" are refused; django-filter's
    NumberFilter would round, and a number too large for the column would fail in the database)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", ID_MAX)
        super().__init__(**kwargs)


class IdFilter(django_filters.Filter):
    """Exact match of a foreign key's id (the schema types it from the model field)."""

    field_class = StrictIdField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, converted to UTC here: a time whose UTC value lies outside the years
    1–9999 (``0001-01-01T00:00:00+01:00``), or whose offset PostgreSQL does not take (``+19:07``),
    is refused (400) instead of failing in the database (500)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(datetime.timezone.utc)
        except OverflowError:
            raise forms.ValidationError(_("Give a time between the years 1 and 9999."), code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
