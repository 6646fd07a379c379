"""Long <select>s read as (id, label) rows (governance.choices): the same options, in the same order,
named as the models name themselves, and the chosen row still cleans to the model instance."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.test import RequestFactory
from django.utils import timezone

from dispatch.case_forms import BulkForm
from dispatch.filters import EventFilter
from dispatch.models import MajorClass, MinorClass
from dispatch.selectors import events_visible_to
from governance.models import Department

pytestmark = pytest.mark.django_db


def instance_options(field) -> list[tuple[str, str]]:
    """What Django's own model choice field would offer: one instance per option, named by __str__."""
    empty = [("", str(field.empty_label))] if field.empty_label is not None else []
    return empty + [(str(obj.pk), str(obj)) for obj in field.queryset]


def offered(field) -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in field.choices]


def test_department_lists_offer_what_instances_would(loop):
    field = BulkForm().fields["department"]
    assert offered(field) == instance_options(field)
    assert len(offered(field)) == Department.objects.filter(is_active=True).count() + 1


def test_the_filters_offer_units_and_classes_named_as_the_models_name_them(loop):
    other = MajorClass.objects.create(kind="event", code="77", name="甲类")
    MinorClass.objects.create(major=other, code="03", name="乙项", lead_department=loop.tree.bureau,
                              limit_amount=2, limit_unit="work_days")
    request = RequestFactory().get("/dispatch/")
    request.user = loop.operator
    form = EventFilter(None, queryset=events_visible_to(loop.operator), request=request, now=timezone.now()).form
    for name in ("unit", "major", "minor"):
        assert offered(form.fields[name]) == instance_options(form.fields[name]), name
    assert len(offered(form.fields["minor"])) == MinorClass.objects.filter(is_active=True).count() + 1


def test_a_chosen_row_cleans_to_the_instance_and_shows_as_selected(loop):
    department = loop.tree.bureau
    form = BulkForm(QueryDict(f"action=dispatch&department={department.pk}&cases=1:1"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["department"] == department
    assert f'<option value="{department.pk}" selected>' in str(form["department"])
    refused = BulkForm(QueryDict("action=dispatch&department=999999&cases=1:1"))
    assert not refused.is_valid() and "department" in refused.errors
