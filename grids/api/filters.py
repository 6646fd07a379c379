"""Query filters of the grids API lists (django-filter), so the schema describes them and a bad value
answers 400 naming the parameter instead of being ignored.

Ids given as filters (``grid``, ``worker``, ``parent``) are matched, not looked up: an id that does
not exist and one outside the caller's jurisdiction both give an empty list, so a filter never
tells an outsider whether something exists.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from governance.api.filters import IdFilter, UtcIsoDateTimeFilter
from governance.models import AdministrativeUnit, UnitLevel
from grids import selectors
from grids.models import GridMembership, Patrol, PatrolStatus, Visit


class StrictBooleanField(forms.NullBooleanField):
    """true/false/1/0; anything else is refused (django-filter's BooleanFilter would ignore it)."""

    widget = forms.TextInput
    TRUE, FALSE = ("true", "1"), ("false", "0")

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(_("Give true or false (or 1 or 0)."), code="invalid")

    def validate(self, value):
        pass


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UnitFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=UnitLevel.choices)
    parent = IdFilter(field_name="parent", help_text=_("The parent unit's id: its direct children."))

    class Meta:
        model = AdministrativeUnit
        fields: list[str] = []


class GridWorkerFilter(django_filters.FilterSet):
    include_ended = StrictBooleanFilter(
        method="keep", help_text=_("true: the team's history too (ended memberships); default: current members."))

    class Meta:
        model = GridMembership
        fields: list[str] = []

    def keep(self, queryset, name, value):
        return queryset  # applied in filter_queryset: its default (absent) narrows the list too

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return queryset if self.form.cleaned_data.get("include_ended") else queryset.filter(ended_on__isnull=True)


class PatrolFilter(django_filters.FilterSet):
    grid = IdFilter(field_name="grid", help_text=_("Grid id."))
    worker = IdFilter(field_name="worker", help_text=_("The grid worker's user id."))
    status = django_filters.ChoiceFilter(choices=PatrolStatus.choices)
    started_after = UtcIsoDateTimeFilter(
        field_name="started_at", lookup_expr="gte", help_text=_("Started at or after (ISO 8601 with time zone)."))
    started_before = UtcIsoDateTimeFilter(
        field_name="started_at", lookup_expr="lt", help_text=_("Started before (ISO 8601 with time zone)."))

    class Meta:
        model = Patrol
        fields: list[str] = []


class VisitFilter(django_filters.FilterSet):
    due = StrictBooleanFilter(
        method="filter_due",
        help_text=_("true: only your own visits whose follow-up is due today or earlier and not yet done."))
    grid = IdFilter(field_name="grid", help_text=_("Grid id."))
    worker = IdFilter(field_name="worker", help_text=_("The grid worker's user id."))
    visited_after = UtcIsoDateTimeFilter(
        field_name="visited_at", lookup_expr="gte", help_text=_("Visited at or after (ISO 8601 with time zone)."))
    visited_before = UtcIsoDateTimeFilter(
        field_name="visited_at", lookup_expr="lt", help_text=_("Visited before (ISO 8601 with time zone)."))

    class Meta:
        model = Visit
        fields: list[str] = []

    def filter_due(self, queryset, name, value):
        # The same follow-ups as "My grid" shows, within the list's jurisdiction.
        return queryset & selectors.follow_ups_due(self.request.user) if value else queryset
