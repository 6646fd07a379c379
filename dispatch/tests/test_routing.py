"""routing.route: the most specific rule wins, else the class's lead department, else nobody."""

import pytest

from dispatch.models import MinorClass, RoutingRule
from dispatch.routing import route
from governance.tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def classes():
    """Two minor classes of one major class (暴露垃圾, 道路不洁) and one of another (占道经营)."""
    rubbish = MinorClass.objects.get(major__kind="event", major__code="01", code="02")
    sweeping = MinorClass.objects.get(major__kind="event", major__code="01", code="04")
    stalls = MinorClass.objects.get(major__kind="event", major__code="05", code="02")
    return rubbish, sweeping, stalls


def rule(unit, department, *, major=None, minor=None):
    return RoutingRule.objects.create(unit=unit, department=department, major=major or (minor.major if minor else None),
                                      minor=minor)


def test_without_rules_it_falls_back_to_the_lead_department(tree, classes):
    rubbish, sweeping, _ = classes
    rubbish.lead_department = tree.bureau
    rubbish.save()
    assert route(rubbish, tree.community_a) == tree.bureau
    assert route(sweeping, tree.community_a) is None  # no rule, no lead: the operator chooses
    assert route(None, tree.community_a) is None


def test_a_minor_rule_beats_a_major_rule_which_beats_an_any_class_rule(tree, classes):
    rubbish, sweeping, stalls = classes
    anything, major_dep, minor_dep = DepartmentFactory.create_batch(3, unit=tree.district)
    rubbish.lead_department = DepartmentFactory(unit=tree.district)
    rubbish.save()
    rule(tree.district, anything)
    assert route(rubbish, tree.community_a) == anything  # any rule beats the lead department
    rule(tree.district, major_dep, major=rubbish.major)
    assert route(rubbish, tree.community_a) == major_dep
    assert route(stalls, tree.community_a) == anything  # another major class
    rule(tree.district, minor_dep, minor=rubbish)
    assert route(rubbish, tree.community_a) == minor_dep
    assert route(sweeping, tree.community_a) == major_dep  # another minor class of the same major


def test_a_rule_for_a_deeper_unit_beats_its_parents_rules(tree, classes):
    rubbish, _, _ = classes
    district_dep, street_dep = DepartmentFactory.create_batch(2, unit=tree.district)
    rule(tree.district, district_dep, minor=rubbish)
    rule(tree.street_a, street_dep)  # any class, but within street A
    assert route(rubbish, tree.community_a) == street_dep
    assert route(rubbish, tree.street_a) == street_dep
    assert route(rubbish, tree.community_b) == district_dep  # street B is not under street A
    assert route(rubbish, tree.district) == district_dep


def test_an_inactive_department_is_passed_over(tree, classes):
    rubbish, _, _ = classes
    fallback, closed = DepartmentFactory.create_batch(2, unit=tree.district)
    rule(tree.district, fallback, major=rubbish.major)
    rule(tree.street_a, closed, minor=rubbish)
    closed.is_active = False
    closed.save()
    assert route(rubbish, tree.community_a) == fallback

    RoutingRule.objects.all().delete()
    rubbish.lead_department = closed
    rubbish.save()
    assert route(rubbish, tree.community_a) is None


def test_nothing_routes_when_no_rule_covers_the_place(tree, classes):
    rubbish, _, _ = classes
    rule(tree.street_b, DepartmentFactory(unit=tree.street_b), minor=rubbish)
    assert route(rubbish, tree.community_a) is None
