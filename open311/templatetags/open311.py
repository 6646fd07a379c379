"""``{{ event.attributes|further_details }}``: a case's answers to its service's further questions
(``open311.attributes``) as rows of label and value, for the case page."""

from django import template

from open311.attributes import answers_display

register = template.Library()


@register.filter
def further_details(answers) -> list[dict]:
    return answers_display(answers if isinstance(answers, dict) else {})
