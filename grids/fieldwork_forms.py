"""Forms of the field-work pages (patrols, household visits). Shape and input checks only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from grids.models import Grid, VisitOutcome, VisitPurpose


class VisitForm(forms.Form):
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Grid.objects.none(), empty_label=None)
    household = forms.CharField(
        label=_("Household"),
        max_length=128,
        help_text=_("Describe the household without identifying it, e.g. building 3, unit 2, room 401."),
    )
    purpose = forms.ChoiceField(label=_("Purpose"), choices=VisitPurpose.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=VisitOutcome.choices)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_on = forms.DateField(
        label=_("Follow up on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, grids: list[Grid], **kwargs):
        super().__init__(*args, **kwargs)
        # Only the grids whose team the worker is on: a visit is always in one's own grid.
        self.fields["grid"].queryset = Grid.objects.filter(pk__in=[g.pk for g in grids]).order_by("code")


class PatrolStartForm(forms.Form):
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Grid.objects.none(), empty_label=None)

    def __init__(self, *args, grids: list[Grid], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = Grid.objects.filter(pk__in=[g.pk for g in grids])
