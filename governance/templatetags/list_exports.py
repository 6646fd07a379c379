"""``{% export_links %}``: "Export CSV" / "Export Excel" links for a list page, keeping its filters."""

from django import template

from governance.exports import export_links as links_for

register = template.Library()


@register.inclusion_tag("governance/_export_links.html", takes_context=True)
def export_links(context) -> dict:
    """Links to the current page's address with ``export=csv|xlsx`` added; the view answers them with
    every row its filters select (governance.exports.page_export)."""
    return {"links": links_for(context["request"])}
