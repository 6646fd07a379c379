"""Who sees which cases: one scoping selector for every list, and 404 for a case that is not yours."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from dispatch import services
from dispatch.models import Channel, MinorClass, State
from dispatch.selectors import (
    catalogue_search,
    events_visible_in_parts,
    events_visible_to,
    get_event_by_receipt,
    get_event_for_user,
    open_events,
)
from dispatch.tests.flow import bring_to, report
from governance.roles import Role
from governance.tests.factories import UserFactory

S = State


def fresh(user):
    """The same person as a new request would load them (scope and roles are cached per object)."""
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def cases(loop, persona):
    a = report(loop)
    b, _ = services.event_report(channel=Channel.CITIZEN, title="乙街道垃圾", minor=loop.rubbish,
                                 unit=loop.tree.community_b)
    return a, b


@pytest.mark.django_db
def test_a_street_operator_sees_its_streets_cases_only(loop, cases):
    a, b = cases
    assert set(events_visible_to(fresh(loop.operator))) == {a}
    assert set(events_visible_to(fresh(loop.outsider))) == {b}
    assert set(events_visible_to(fresh(loop.dispatcher))) == {a, b}
    assert set(events_visible_to(fresh(loop.worker))) == {a}


@pytest.mark.django_db
def test_a_handler_sees_its_departments_cases_lead_co_or_summoned(loop, persona):
    handler_b = persona(Role.DEPARTMENT_HANDLER, department=loop.tree.office_b)
    waiting = report(loop)  # not dispatched yet: no department sees it
    led = bring_to(loop, S.DISPATCHED)
    co = services.event_dispatch(event=bring_to(loop, S.REGISTERED), actor=loop.operator,
                                 department=loop.tree.office_b, co_departments=[loop.tree.bureau])
    summoned = bring_to(loop, S.ACCEPTED)
    services.event_summon(event=summoned, actor=loop.operator, departments=[loop.tree.bureau], note="到场")
    assert set(events_visible_to(fresh(loop.handler))) == {led, co, summoned}
    assert set(events_visible_to(fresh(handler_b))) == {co}
    assert waiting not in events_visible_to(fresh(handler_b))


@pytest.mark.django_db
def test_a_handler_keeps_seeing_a_case_it_returned(loop):
    event = services.event_return(event=bring_to(loop, S.DISPATCHED), actor=loop.handler, note="非本部门")
    assert event in events_visible_to(fresh(loop.handler))


@pytest.mark.django_db
def test_a_reporter_sees_their_own_reports(loop, cases):
    citizen = UserFactory()
    mine, _ = services.event_report(channel=Channel.CITIZEN, title="我的", minor=loop.rubbish,
                                    unit=loop.tree.community_b, reporter=citizen)
    assert list(events_visible_to(fresh(citizen))) == [mine]
    assert list(events_visible_to(AnonymousUser())) == []


@pytest.mark.django_db
def test_the_centre_running_a_case_sees_it_after_its_place_is_corrected(loop):
    event = services.event_edit(event=report(loop), actor=loop.operator, unit=loop.tree.community_b)
    assert event.owner_unit == loop.tree.street_a
    assert event in events_visible_to(fresh(loop.operator))
    assert get_event_for_user(fresh(loop.operator), event.pk) == event


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator", "dispatcher", "handler", "reporter", "superuser", "anonymous"])
def test_the_parts_of_a_scope_share_no_case_and_add_up_to_it(loop, cases, persona, who):
    """The tab counts add the parts up: a case counted twice or missed would show in every count."""
    reporter = UserFactory()
    services.event_report(channel=Channel.CITIZEN, title="我的", minor=loop.rubbish, unit=loop.tree.community_a,
                          reporter=reporter)
    moved = services.event_edit(event=report(loop), actor=loop.operator, unit=loop.tree.community_b)  # owner: street A
    bring_to(loop, S.IN_PROGRESS)  # the handler's department's
    services.event_report(channel=Channel.CITIZEN, title="乙街道", unit=loop.tree.community_b)
    user = {"operator": loop.operator, "dispatcher": persona(Role.DISTRICT_DISPATCHER), "handler": loop.handler,
            "reporter": reporter, "superuser": UserFactory(is_superuser=True)}.get(who)
    user = fresh(user) if user else AnonymousUser()
    parts = [list(part) for part in events_visible_in_parts(user)]
    together = [event for part in parts for event in part]
    assert len(together) == len(set(together))
    assert set(together) == set(events_visible_to(user))
    if who == "operator":
        assert moved in together and len(parts) >= 3


@pytest.mark.django_db
def test_a_superuser_sees_everything(loop, cases):
    admin = UserFactory(is_superuser=True)
    assert set(events_visible_to(fresh(admin))) == set(cases)


@pytest.mark.django_db
def test_get_event_for_user_is_404_for_outsiders_and_missing_cases(loop, cases):
    a, b = cases
    assert get_event_for_user(fresh(loop.operator), a.pk) == a
    for user, pk in [(loop.outsider, a.pk), (loop.operator, b.pk), (loop.handler, a.pk),
                     (loop.operator, 999999), (loop.operator, "abc"), (loop.operator, None)]:
        with pytest.raises(Http404):
            get_event_for_user(fresh(user), pk)
    with pytest.raises(Http404):
        get_event_for_user(AnonymousUser(), a.pk)


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_one_case_or_many(loop, django_assert_num_queries):
    report(loop)
    operator = fresh(loop.operator)

    def listing():
        rows = list(events_visible_to(operator).select_related("minor__major", "unit", "department"))
        return [(e.minor.full_code, e.unit.name, e.department) for e in rows]

    listing()  # the person's scope is computed once, on first use
    with django_assert_num_queries(1):
        assert len(listing()) == 1
    for _ in range(5):
        report(loop)
    with django_assert_num_queries(1):
        assert len(listing()) == 6


@pytest.mark.django_db
def test_a_receipt_code_finds_the_case_whatever_its_spelling(loop, cases):
    a, _ = cases
    code = a.receipt_code
    assert get_event_by_receipt(code) == a
    assert get_event_by_receipt(f" {code[:5].lower()}-{code[5:]} ") == a
    for wrong in ("", "NOPE", None):
        with pytest.raises(Http404):
            get_event_by_receipt(wrong)


@pytest.mark.django_db
def test_a_merged_receipt_code_answers_with_the_case_it_was_merged_into(loop):
    first, second, third = report(loop), report(loop), report(loop)
    services.event_merge(event=first, into=second, actor=loop.operator)
    services.event_merge(event=second, into=third, actor=loop.operator)
    assert get_event_by_receipt(first.receipt_code) == third


@pytest.mark.django_db
def test_catalogue_search_by_name_keyword_and_code(loop):
    MinorClass.objects.filter(pk=loop.litter.pk).update(keywords="纸屑 烟头")
    assert set(catalogue_search("垃圾")) == {loop.rubbish, loop.litter}
    assert list(catalogue_search("烟头")) == [loop.litter]
    assert list(catalogue_search("0109")) == [loop.manhole]
    assert set(catalogue_search("市容")) == {loop.rubbish, loop.litter, loop.manhole}
    MinorClass.objects.filter(pk=loop.manhole.pk).update(is_active=False)
    assert list(catalogue_search("井盖")) == []


@pytest.mark.django_db
def test_open_events_leave_out_finished_and_dead_cases(loop):
    live = bring_to(loop, S.IN_PROGRESS)
    bring_to(loop, S.CLOSED)
    bring_to(loop, S.INVALID)
    assert list(open_events()) == [live]
