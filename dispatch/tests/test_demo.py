"""The dispatch part of ``manage.py load_demo``: labelled demo cases in every state, loaded once."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from dispatch.demo import CASES
from dispatch.models import Event, HotlineCall, MinorClass, RoutingRule, State, Transition
from dispatch.routing import route
from governance.demo import DEMO_SUFFIX
from governance.models import AdministrativeUnit

pytestmark = pytest.mark.django_db


def totals():
    return (Event.objects.count(), Transition.objects.count(), HotlineCall.objects.count(),
            RoutingRule.objects.count(), MinorClass.objects.filter(lead_department__isnull=False).count())


def test_the_demo_cases_are_labelled_spread_over_the_loop_routed_and_loaded_once():
    call_command("load_demo")
    first = totals()
    demo = Event.objects.filter(idempotency_key__startswith="demo:")
    assert demo.count() == len([c for c in CASES if not c.hotline_outcome]) >= 30
    assert all(e.title.endswith(DEMO_SUFFIX) and e.description.endswith(DEMO_SUFFIX) for e in demo)
    assert HotlineCall.objects.filter(outcome="answered").exists()
    assert HotlineCall.objects.filter(outcome="not_taken", not_taken_reason="emergency").exists()

    states = set(demo.values_list("state", flat=True))
    assert states >= {State.REPORTED, State.ACCEPTED, State.REGISTERED, State.DISPATCHED, State.RETURNED,
                      State.SIGNED, State.IN_PROGRESS, State.EXTENSION_REQUESTED, State.SUSPENDED, State.BACKLOG,
                      State.VERIFYING, State.REWORK, State.CLOSED, State.EVALUATED, State.INVALID, State.MERGED}
    now = timezone.now()
    overdue = demo.filter(step_due_at__lt=now)
    assert overdue.filter(step="handle", state=State.IN_PROGRESS).exists()
    assert overdue.filter(step="sign").exists()
    assert demo.filter(step_yellow_at__lt=now, step_due_at__gt=now).exists()
    assert demo.filter(listed_supervision=True, supervision__kind="order").exists()
    # Each case's history starts with its report and runs in order, however far back it was moved.
    for event in demo:
        history = list(event.history.order_by("at", "pk"))
        assert history[0].action == "report" and history[0].at == event.created_at
    assert demo.filter(created_at__lt=now - datetime.timedelta(days=7), state=State.EVALUATED).exists()

    call_command("load_demo")
    assert totals() == first

    # The demo's departments and rules route cases in the demo district.
    street = AdministrativeUnit.objects.get(code="610104001000")
    community = street.children.order_by("code").first()
    stalls = MinorClass.objects.get(major__kind="event", major__code="05", code="02")
    assert route(stalls, community).name == "青年路街道城管执法中队" + DEMO_SUFFIX  # the street's rule
    rubbish = MinorClass.objects.get(major__kind="event", major__code="01", code="02")
    assert route(rubbish, community).short_name == "城管局"  # the lead department
    enquiry = MinorClass.objects.get(major__kind="governance", major__code="07", code="03")
    assert route(enquiry, community) is None  # left to the operator
