"""Duplicates: finding an open case of the same class nearby and recently, and merging into it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from dispatch import services
from dispatch.models import Channel, Event, Reporter, State, Transition
from dispatch.selectors import duplicate_candidates
from dispatch.tests.flow import bring_to, report
from dispatch.workflow import Forbidden, NotAllowed
from governance.models import AuditEntry, Parameter
from grids.tests.gridmaps import lonlat

S = State


def at_metres(loop, x: float, y: float = 100):
    """A point x metres east of the grid's origin (the loop's inside point is at x = 100)."""
    return tuple(lonlat(x, y))


def citizen_report(loop, point, minor=None, **fields):
    event, _ = services.event_report(channel=Channel.CITIZEN, title="垃圾没人清", minor=minor or loop.rubbish,
                                     lon=point[0], lat=point[1], contact_name="李女士",
                                     contact_phone="13900000000", **fields)
    return event


def _counts():
    return Event.objects.count(), Transition.objects.count(), AuditEntry.objects.count(), Reporter.objects.count()


@pytest.mark.django_db
def test_it_finds_an_open_case_of_the_same_class_nearby(loop):
    first = report(loop)
    again = citizen_report(loop, at_metres(loop, 120))
    [(found, metres)] = duplicate_candidates(again)
    assert found == first
    assert metres == pytest.approx(20, abs=0.5)
    # Both ways round, and never the case itself.
    assert [e for e, _ in duplicate_candidates(first)] == [again]


@pytest.mark.django_db
def test_it_lists_the_nearest_first(loop):
    far = citizen_report(loop, at_metres(loop, 140))
    near = citizen_report(loop, at_metres(loop, 105))
    new = report(loop)
    assert [e for e, _ in duplicate_candidates(new)] == [near, far]


@pytest.mark.django_db
def test_it_ignores_another_class_a_far_case_and_a_dead_one(loop):
    citizen_report(loop, at_metres(loop, 110), minor=loop.litter)  # another class
    citizen_report(loop, at_metres(loop, 180))  # 80 m away, beyond 50 m
    rejected = citizen_report(loop, at_metres(loop, 101))
    services.event_reject(event=rejected, actor=loop.operator, note="虚假")
    assert duplicate_candidates(report(loop)) == []


@pytest.mark.django_db
def test_it_ignores_a_closed_case_the_new_report_is_the_problem_back_again(loop):
    bring_to(loop, S.CLOSED)
    assert duplicate_candidates(citizen_report(loop, at_metres(loop, 110))) == []


@pytest.mark.django_db
def test_it_ignores_a_case_too_old(loop):
    old = citizen_report(loop, at_metres(loop, 110))
    Event.objects.filter(pk=old.pk).update(created_at=old.created_at - datetime.timedelta(hours=73))
    assert duplicate_candidates(report(loop)) == []


@pytest.mark.django_db
def test_radius_and_window_are_parameters(loop):
    far = citizen_report(loop, at_metres(loop, 180))
    old = citizen_report(loop, at_metres(loop, 110))
    Event.objects.filter(pk=old.pk).update(created_at=old.created_at - datetime.timedelta(hours=100))
    new = report(loop)
    assert duplicate_candidates(new) == []
    Parameter.objects.create(key="dispatch.duplicate_radius_m", value=100)
    assert [e for e, _ in duplicate_candidates(new)] == [far]
    Parameter.objects.create(key="dispatch.duplicate_window_hours", value=120)
    assert [e for e, _ in duplicate_candidates(new)] == [old, far]
    Parameter.objects.filter(key="dispatch.duplicate_radius_m").update(value=5)
    assert duplicate_candidates(new) == []


@pytest.mark.django_db
def test_a_case_without_a_class_or_a_point_has_no_candidates(loop):
    report(loop)
    unclassified = citizen_report(loop, loop.inside, minor=None)
    unclassified.minor = None
    assert duplicate_candidates(unclassified) == []
    placed, _ = services.event_report(channel=Channel.HOTLINE, title="垃圾", minor=loop.rubbish,
                                      unit=loop.tree.community_a)
    assert duplicate_candidates(placed) == []


@pytest.mark.django_db
def test_merge_keeps_every_reporter_on_the_case_it_repeats(loop):
    master = report(loop)
    duplicate = citizen_report(loop, at_metres(loop, 110))
    merged = services.event_merge(event=duplicate, into=master, actor=loop.operator, note="同一堆垃圾")
    assert merged.state == S.MERGED and merged.merged_into == master
    assert merged.step == "" and merged.step_due_at is None  # nothing left to do on it
    assert merged.history.last().data == {"into": master.number}
    reporters = master.reporters.order_by("pk")
    assert [(r.user, r.name, r.source_event) for r in reporters] == [
        (loop.worker, "", master), (None, "李女士", duplicate)]
    assert not Reporter.objects.filter(event=duplicate).exists()
    absorbed = master.history.last()
    assert (absorbed.action, absorbed.actor, absorbed.data) == ("absorb", loop.operator, {"merged": duplicate.number})
    master.refresh_from_db()
    assert master.state == S.REPORTED and master.version == 1


@pytest.mark.django_db
def test_merging_a_master_moves_the_reporters_it_gathered(loop):
    first, second, third = report(loop), citizen_report(loop, at_metres(loop, 110)), report(loop, title="第三次")
    services.event_merge(event=second, into=first, actor=loop.operator)
    services.event_merge(event=first, into=third, actor=loop.operator)
    assert third.reporters.count() == 3


@pytest.mark.django_db
def test_merge_into_itself_is_refused(loop):
    event = report(loop)
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        services.event_merge(event=event, into=event, actor=loop.operator)
    assert "into" in refused.value.message_dict and _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("dead", [S.INVALID, S.NOT_REGISTERED, S.MERGED])
def test_merge_into_a_case_closed_off_is_refused(loop, dead):
    target = bring_to(loop, dead)
    stale_target = Event.objects.get(pk=target.pk)
    stale_target.state = S.REPORTED  # the operator's page was rendered before it was closed off
    event = citizen_report(loop, at_metres(loop, 110))
    before = _counts()
    with pytest.raises(ValidationError) as refused:
        services.event_merge(event=event, into=stale_target, actor=loop.operator)
    assert "into" in refused.value.message_dict and _counts() == before
    assert Event.objects.get(pk=event.pk).state == S.REPORTED


@pytest.mark.django_db
def test_merge_of_a_registered_case_is_refused(loop):
    master = report(loop)
    registered = bring_to(loop, S.REGISTERED)
    before = _counts()
    with pytest.raises(NotAllowed):
        services.event_merge(event=registered, into=master, actor=loop.operator)
    assert _counts() == before


@pytest.mark.django_db
def test_merge_by_another_street_or_into_its_case_is_refused(loop):
    ours, duplicate = report(loop), citizen_report(loop, at_metres(loop, 110))
    theirs, _ = services.event_report(channel=Channel.CITIZEN, title="垃圾", minor=loop.rubbish,
                                      unit=loop.tree.community_b)
    before = _counts()
    with pytest.raises(Forbidden):
        services.event_merge(event=duplicate, into=ours, actor=loop.outsider)
    # Street A may not fold its case into street B's: the absorbing side refuses, and the whole merge
    # is undone.
    with pytest.raises(Forbidden):
        services.event_merge(event=duplicate, into=theirs, actor=loop.operator)
    assert _counts() == before
    assert Event.objects.get(pk=duplicate.pk).state == S.REPORTED
