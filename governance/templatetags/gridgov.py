import datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def minutes(value: datetime.timedelta | None) -> int:
    """Whole minutes of a duration, rounded up (a lockout of 14 min 30 s reads "15 minutes")."""
    if not value:
        return 0
    return -(-int(value.total_seconds()) // 60)


@register.filter
def select_options(optgroups) -> str:
    """A ``<select>`` widget's options and groups (``widget.optgroups``) as HTML, written in Python: the
    markup of Django's select.html, select_option.html and attrs.html (a test compares them), without a
    template include and an attribute loop per option, which cost more than the option on long lists."""
    parts = []
    for group_name, options, _index in optgroups:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        for option in options:
            attrs = "".join(
                format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
                for name, value in option["attrs"].items() if value is not False
            )
            parts.append(format_html('\n  <option value="{}"{}>{}</option>\n', option["value"], mark_safe(attrs),
                                     option["label"]))
        if group_name:
            parts.append("\n  </optgroup>")
    return mark_safe("".join(parts))
