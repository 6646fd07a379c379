"""The further questions of each service and the checking of answers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from dispatch.models import Urgency
from open311.attributes import answers_clean, answers_display, attributes_for, urgency_for

pytestmark = pytest.mark.django_db


def test_every_service_asks_about_danger_and_components_ask_for_their_code(services):
    assert [(a.code, a.order) for a in attributes_for(services.rubbish)] == [("danger", 1)]
    assert [(a.code, a.order, a.required) for a in attributes_for(services.manhole)] == [
        ("danger", 1, True), ("component_code", 2, False)]


def test_answers_are_cleaned(services):
    answers = answers_clean(services.manhole, {"danger": [" yes "], "component_code": ["6101 0201 0100 0123"]})
    assert answers == {"danger": "yes", "component_code": "6101020101000123"}
    assert answers_clean(services.manhole, {"danger": ["no"], "component_code": [""]}) == {"danger": "no"}


@pytest.mark.parametrize("raw, message", [
    ({}, "attribute[danger] is required"),
    ({"danger": [""]}, "attribute[danger] is required"),
    ({"danger": ["yes", "no"]}, "attribute[danger]: give one value."),
    ({"danger": ["YES"]}, "attribute[danger]: choose one of yes, no."),
    ({"danger": ["no"], "component_code": ["６１０１０２０１０１０００１２３"]}, "attribute[component_code]: The component code"),
    ({"danger": ["no"], "component_code": ["6101020101000123\n"  "x"]}, "attribute[component_code]: give one line"),
    ({"danger": ["no"], "depth": ["3"]}, "attribute[depth]: this service has no such attribute."),
])
def test_bad_answers_are_refused(services, raw, message):
    with pytest.raises(ValidationError) as refused:
        answers_clean(services.manhole, raw)
    assert any(m.startswith(message) for m in refused.value.messages), refused.value.messages


def test_danger_makes_a_case_urgent():
    assert urgency_for({"danger": "yes"}) == Urgency.URGENT
    assert urgency_for({"danger": "no"}) is None and urgency_for({}) is None


def test_answers_are_shown_in_words_and_unknown_ones_as_sent():
    rows = answers_display({"danger": "yes", "component_code": "6101020101000123", "legacy": "x"})
    assert [(r["label"], r["value"]) for r in rows] == [
        ("Immediate danger", "Yes, there is danger now"), ("Component code (部件标识码)", "6101020101000123"),
        ("legacy", "x")]
    assert answers_display({}) == [] and answers_display(None) == []
