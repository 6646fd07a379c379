"""Queue filters: the command-centre workbench and its map, the department handler's queue and the
grid worker's cases to verify.

The rows always come from ``selectors.events_visible_to``; these filters only narrow them. The queue
groups (tabs) are kept apart from the FilterSet so one query per part of the scope can count every tab
under the other filters (``group_counts``).
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import django_filters
from django import forms
from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from dispatch.models import (
    LIVE_STATES,
    QUEUE_ORDER,
    Alert,
    Assignment,
    Channel,
    Event,
    MajorClass,
    MinorClass,
    State,
    Urgency,
)
from dispatch.workflow import DEAD_STATES, FINISHED_STATES, OPEN_STATES, WITH_DEPARTMENT
from governance.choices import RowModelChoiceFilter
from governance.models import AdministrativeUnit, UnitLevel
from governance.roles import Role
from governance.selectors import active_assignments, scope_for, units_visible_to
from grids.selectors import my_grids

S = State
CLOCKED_OPEN = frozenset(LIVE_STATES)  # open, and closed: the call-back step still runs on a closed case


@dataclass(frozen=True)
class Group:
    """A queue tab: the cases in ``states``, or those ``when(now)`` selects."""

    key: str
    label: Promise
    states: frozenset[str] | None = None
    when: Callable[[datetime.datetime], Q] | None = None

    def condition(self, now: datetime.datetime) -> Q:
        return Q(state__in=self.states) if self.states is not None else self.when(now)


def overdue_q(now: datetime.datetime) -> Q:
    """Open, not paused, and past the step's due time (or marked red by the sweep)."""
    return Q(state__in=CLOCKED_OPEN, paused_at__isnull=True) & (Q(step_due_at__lte=now) | Q(alert=Alert.RED))


def yellow_q(now: datetime.datetime) -> Q:
    """Open, past the yellow warning but not yet overdue."""
    return (
        Q(state__in=CLOCKED_OPEN, paused_at__isnull=True)
        & (Q(step_yellow_at__lte=now) | Q(alert=Alert.YELLOW))
        & ~(Q(step_due_at__lte=now) | Q(alert=Alert.RED))
    )


GROUPS: list[Group] = [
    Group("open", _("All open"), states=OPEN_STATES),
    Group("accept", _("Waiting for acceptance"), states=frozenset({S.REPORTED})),
    Group("register", _("To register"), states=frozenset({S.ACCEPTED})),
    Group("dispatch", _("To dispatch"), states=frozenset({S.REGISTERED})),
    Group("returned", _("Returned"), states=frozenset({S.RETURNED})),
    Group("extension", _("Extension requests"), states=frozenset({S.EXTENSION_REQUESTED})),
    Group("departments", _("With departments"), states=WITH_DEPARTMENT | {S.BACKLOG}),
    Group("verify", _("To verify"), states=frozenset({S.HANDLED, S.VERIFYING})),
    Group("callback", _("Call-backs due"), states=frozenset({S.CLOSED})),
    Group("overdue", _("Overdue"), when=overdue_q),
    Group("listed", _("Listed supervision"), when=lambda now: Q(listed_supervision=True, state__in=CLOCKED_OPEN)),
    Group("closed", _("Closed"), states=FINISHED_STATES | DEAD_STATES),
]
GROUPS_BY_KEY = {g.key: g for g in GROUPS}
DEFAULT_GROUP = "open"


# Tabs counted over the live cases; "closed" is the archive of every year, counted only when open.
COUNTED_GROUPS = [g for g in GROUPS if g.key != "closed"]


def group_counts(parts: list[QuerySet[Event]], now: datetime.datetime) -> dict[str, int]:
    """How many cases fall in each live group (every group but "closed"), summed over ``parts``:
    querysets sharing no case (``selectors.events_visible_in_parts``), each counted by one query over
    its live cases, which PostgreSQL answers from a covering partial index without reading the cases.
    The query counts by state (the tabs that are sets of states add those up) and counts the other
    tabs' conditions alongside."""
    by_state: Counter[str] = Counter()
    counts = {g.key: 0 for g in COUNTED_GROUPS if g.states is None}
    for part in parts:
        # Counting "state" (never null), which the index holds: counting "pk" would read each case's id.
        rows = (part.filter(state__in=LIVE_STATES).order_by().values("state")
                .annotate(cases=Count("state"), **{key: Count("state", filter=GROUPS_BY_KEY[key].condition(now))
                                                   for key in counts}))
        for row in rows:
            by_state[row["state"]] += row["cases"]
            for key in counts:
                counts[key] += row[key]
    for group in COUNTED_GROUPS:
        if group.states is not None:
            counts[group.key] = sum(by_state[state] for state in group.states)
    return counts


def in_group(events: QuerySet[Event], key: str, now: datetime.datetime) -> QuerySet[Event]:
    return events.filter(GROUPS_BY_KEY.get(key, GROUPS_BY_KEY[DEFAULT_GROUP]).condition(now))


def queue_order(events: QuerySet[Event]) -> QuerySet[Event]:
    """Urgent first, then the step falling due soonest (cases without a clock last), then oldest."""
    return events.order_by(*QUEUE_ORDER)


def tab_order(events: QuerySet[Event], key: str) -> QuerySet[Event]:
    """A tab's order: the queue's for work in hand; the archive ("closed"), newest first (read from the
    head of the reporting-time index rather than sorting a district's years of cases)."""
    return events.order_by("-created_at", "-pk") if key == "closed" else queue_order(events)


# --- The department handler's queue and the grid worker's checks --------------------------------


def my_department_ids(user) -> list[int]:
    """The departments the user handles cases for."""
    return [a.department_id for a in active_assignments(user) if a.role == Role.DEPARTMENT_HANDLER and a.department_id]


DEPARTMENT_WORKING = (S.SIGNED, S.IN_PROGRESS, S.EXTENSION_REQUESTED, S.SUSPENDED, S.BACKLOG)


def department_groups(department_ids: list[int], now: datetime.datetime) -> list[tuple[str, Promise, Q]]:
    """(key, label, condition) of the handler's tabs: cases the departments lead, or help on through
    an open co-handling or summons assignment."""
    lead = Q(department__in=department_ids)
    mine = Assignment.objects.filter(event=OuterRef("pk"), department__in=department_ids)
    pending = Exists(mine.filter(status=Assignment.Status.PENDING))
    signed = Exists(mine.filter(status=Assignment.Status.SIGNED))
    live = Q(state__in=OPEN_STATES)
    return [
        ("sign", _("To sign"), (lead & Q(state=S.DISPATCHED)) | (pending & live)),
        ("progress", _("In progress"), (lead & Q(state__in=DEPARTMENT_WORKING)) | (signed & ~lead & live)),
        ("rework", _("Rework"), lead & Q(state=S.REWORK)),
        ("due", _("Due soon or overdue"),
         lead & Q(state__in=[S.DISPATCHED, *DEPARTMENT_WORKING, S.REWORK]) & (overdue_q(now) | yellow_q(now))),
    ]


def to_verify_q(user) -> Q:
    """Cases waiting for a check on the spot by ``user``: named as verifier, or on a grid of his team."""
    grid_ids = [g.pk for g in my_grids(user)]
    return Q(state=S.VERIFYING) & (Q(verifier=user) | Q(grid__in=grid_ids))


# --- The workbench's filters ----------------------------------------------------------------------

# Units offered in the unit filter: the top of the person's scope and the two levels below it
# (a district dispatcher sees the district, its streets and their communities).
UNIT_CHOICE_DEPTH = 2


def unit_choices(request) -> QuerySet[AdministrativeUnit]:
    if request is None:
        return AdministrativeUnit.objects.none()
    scope = scope_for(request.user)
    levels = UnitLevel.values
    if scope.everything:
        top = 0
    else:
        top_levels = list(AdministrativeUnit.objects.filter(path__in=scope.unit_paths).values_list("level", flat=True))
        if not top_levels:
            return AdministrativeUnit.objects.none()
        top = min(levels.index(level) for level in top_levels)
    allowed = levels[top: top + UNIT_CHOICE_DEPTH + 1]
    return units_visible_to(request.user).filter(level__in=allowed).defer("boundary").order_by("path")


# What MajorClass.__str__ and MinorClass.__str__ say, as SQL: the filter's options are read as rows.
MAJOR_LABEL = Concat("code", Value(" "), "name", output_field=CharField())
MINOR_LABEL = Concat("major__code", "code", Value(" "), "name", output_field=CharField())


class AlertChoice:
    YELLOW = "yellow"
    RED = "red"
    CHOICES = [(YELLOW, _("Yellow warning")), (RED, _("Overdue"))]


class EventFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_text",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Number, title or address")}),
    )
    urgency = django_filters.ChoiceFilter(label=_("Urgency"), choices=Urgency.choices, empty_label=_("Any urgency"))
    alert = django_filters.ChoiceFilter(label=_("Deadline"), choices=AlertChoice.CHOICES, method="filter_alert",
                                        empty_label=_("Any deadline"))
    unit = RowModelChoiceFilter(label=_("Unit"), queryset=unit_choices, method="filter_unit", empty_label=_("Any unit"))
    major = RowModelChoiceFilter(label=_("Major class"), field_name="minor__major",
                                 queryset=MajorClass.objects.filter(is_active=True), option_label=MAJOR_LABEL,
                                 empty_label=_("Any major class"))
    minor = RowModelChoiceFilter(label=_("Minor class"), queryset=MinorClass.objects.filter(is_active=True),
                                 option_label=MINOR_LABEL, empty_label=_("Any minor class"))
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices, empty_label=_("Any channel"))
    since = django_filters.DateFilter(label=_("Reported from"), field_name="created_at", lookup_expr="date__gte",
                                      widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(label=_("Reported until"), field_name="created_at", lookup_expr="date__lte",
                                      widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Event
        fields: list[str] = []

    def __init__(self, *args, now: datetime.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def narrow(self, queryset: QuerySet[Event]) -> QuerySet[Event]:
        """``queryset`` under these filters, as ``qs`` is the scope's cases under them."""
        if not self.is_bound:
            return queryset
        self.errors  # noqa: B018 (validates the form: the filters read its cleaned data)
        return self.filter_queryset(queryset)

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__icontains=value) | Q(title__icontains=value) | Q(address__icontains=value))

    def filter_alert(self, queryset, name, value):
        return queryset.filter(overdue_q(self.now) if value == AlertChoice.RED else yellow_q(self.now))

    def filter_unit(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)
