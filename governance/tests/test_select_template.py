"""templates/django/forms/widgets/select.html writes the options inline (speed): same markup as Django's."""

from django import forms
from django.forms.renderers import DjangoTemplates

CHOICES = [("", "---------"), ("水果 & <果>", [(1, "苹果 & <梨>"), (2, '香蕉 "大"')]), (3, "其他")]


def test_the_inline_select_renders_what_djangos_own_template_renders():
    django_own = DjangoTemplates()  # Django's built-in widget templates only
    cases = [
        (forms.Select(choices=CHOICES, attrs={"class": "wide", "required": True}), 2),
        (forms.Select(choices=CHOICES), None),
        (forms.SelectMultiple(choices=CHOICES), [1, 3]),
        (forms.NullBooleanSelect(), True),
    ]
    for widget, value in cases:
        ours = widget.render("field", value)
        assert ours == widget.render("field", value, renderer=django_own)
        assert "<option" in ours
