"""Long model ``<select>``s without a model instance per option.

Django's model choice fields build an instance of every row to name its option; a city's 300
departments (each with its unit) cost more than the rest of a queue page's form. These fields read
the same queryset (its filters and order) as ``(id, label)`` rows, ``label`` being a field or an
expression that says what the model's ``__str__`` says (a test holds each to it). Validation and the
cleaned value are Django's own: the chosen row is fetched as an instance, as before.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.forms.models import ModelChoiceIterator


class RowChoiceIterator(ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self.queryset.values_list("pk", self.field.option_label)


class RowOptionsMixin:
    iterator = RowChoiceIterator

    def __init__(self, *args, option_label="name", **kwargs):
        self.option_label = option_label  # before the queryset is set: setting it builds the choices
        super().__init__(*args, **kwargs)


class RowModelChoiceField(RowOptionsMixin, forms.ModelChoiceField):
    pass


class RowModelMultipleChoiceField(RowOptionsMixin, forms.ModelMultipleChoiceField):
    pass


class _FilterField(RowOptionsMixin, django_filters.fields.ModelChoiceField):
    pass


class RowModelChoiceFilter(django_filters.ModelChoiceFilter):
    """``django_filters.ModelChoiceFilter`` with the options read as rows (``option_label=``); without
    django-filter's ``null_label`` option, which no filter here uses."""

    field_class = _FilterField
