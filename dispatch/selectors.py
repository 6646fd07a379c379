"""Dispatch: reads, scoped to what a person may see (see governance.selectors).

``events_visible_to`` is the one scoping filter for every list, map, export and API of cases: a
case is visible through its place (the unit subtree a person's roles cover) or the command centre
running it, through a department that leads or helps on it, or to the person who reported it.
"""

from __future__ import annotations

import datetime
import math
import operator
from functools import reduce

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from dispatch.models import OUTSIDE_OWNER_AREA, Assignment, Event, HotlineCall, MajorClass, MinorClass
from dispatch.workflow import OPEN_STATES
from governance.params import get_param
from governance.selectors import scope_for, scope_q, users_visible_to
from grids.geometry import M_PER_DEG


def visibility_branches(user) -> list[Q | Exists] | None:
    """Each way a case can be visible to ``user``, as a filter (None: every case is)."""
    scope = scope_for(user)
    if scope.everything:
        return None
    branches: list[Q | Exists] = []
    if scope.unit_paths:
        # The owner too: a centre keeps seeing the case it runs after its place was corrected to a unit
        # outside the centre's own area. (A case inside its centre's area is already visible by place.)
        branches += [scope_q(user, unit_path="unit_path"), scope_q(user, unit_path="owner_path") & OUTSIDE_OWNER_AREA]
    if scope.department_ids:
        helping = Assignment.objects.filter(event=OuterRef("pk"), department__in=scope.department_ids)
        branches += [scope_q(user, department="department"), Exists(helping)]
    if getattr(user, "is_authenticated", False):
        branches.append(Q(reporter=user))
    return branches


def events_visible_to(user) -> QuerySet[Event]:
    branches = visibility_branches(user)
    if branches is None:
        return Event.objects.all()
    return Event.objects.filter(reduce(operator.or_, branches, Q(pk__in=[])))


def events_visible_in_parts(user) -> list[QuerySet[Event]]:
    """The cases of ``events_visible_to(user)`` split into parts that share no case, one per branch
    (each less the branches before it), for counts that add up: PostgreSQL reads each part from its
    own index (for a scope of one unit, as most are), where the whole scope's OR would need every
    case's row (see ``filters.group_counts``)."""
    branches = visibility_branches(user)
    if branches is None:
        return [Event.objects.all()]
    return [Event.objects.filter(branch, *(~earlier for earlier in branches[:i])) for i, branch in enumerate(branches)]


# What a case's page and detail show of its relations, loaded with the case; without the boundaries of
# its grid and units (polygons of hundreds of points, decoded for nothing: the page names them).
DETAIL_RELATED = ("minor__major", "grid", "unit", "owner_unit", "department", "reporter", "merged_into", "verifier")
NO_BOUNDARIES = ("grid__boundary", "unit__boundary", "owner_unit__boundary")
# What a row of a list of cases shows of its relations (API lists, sync feed, webhooks), likewise.
LIST_RELATED = ("minor__major", "unit", "grid", "department")


def with_list_relations(events: QuerySet[Event]) -> QuerySet[Event]:
    return events.select_related(*LIST_RELATED).defer("unit__boundary", "grid__boundary")


def get_event_for_user(user, pk) -> Event:
    """The case if ``user`` may see it; 404 for missing and for not yours alike."""
    try:
        return events_visible_to(user).select_related(*DETAIL_RELATED).defer(*NO_BOUNDARIES).get(pk=pk)
    except (Event.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_event_by_receipt(code: str) -> Event:
    """The case a citizen's receipt code names (normalised: case and separators do not matter);
    a merged duplicate answers with the case it was merged into."""
    cleaned = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    try:
        event = Event.objects.select_related("minor", "merged_into", "unit").get(receipt_code=cleaned)
    except Event.DoesNotExist:
        raise Http404 from None
    # A merged case may itself have been merged on; follow the chain (bounded, merges never loop).
    for _hop in range(10):
        if event.merged_into_id is None:
            break
        event = Event.objects.select_related("minor", "merged_into", "unit").get(pk=event.merged_into_id)
    return event


def active_minor_classes() -> QuerySet[MinorClass]:
    """The catalogue a case may be filed under: active minor classes of active major classes."""
    return MinorClass.objects.filter(is_active=True, major__is_active=True).select_related("major")


def catalogue_tree() -> QuerySet[MajorClass]:
    """Active major classes, each with its active minor classes in ``active_minors``."""
    return (
        MajorClass.objects.filter(is_active=True).order_by("kind", "code")
        .prefetch_related(Prefetch("minors", queryset=active_minor_classes().order_by("code"), to_attr="active_minors"))
    )


def hotline_calls_visible_to(user) -> QuerySet[HotlineCall]:
    """Calls recorded by operators within the user's jurisdiction, or whose case the user may see."""
    return HotlineCall.objects.filter(
        Q(operator__in=users_visible_to(user)) | Q(event__in=events_visible_to(user).values("pk"))
    ).select_related("operator", "event")


def catalogue_search(query: str = "", *, limit: int = 30) -> QuerySet[MinorClass]:
    rows = active_minor_classes()
    for word in query.split():
        condition = Q(name__icontains=word) | Q(keywords__icontains=word) | Q(major__name__icontains=word)
        if len(word) == 4 and word.isdigit():
            condition |= Q(major__code=word[:2], code=word[2:])
        rows = rows.filter(condition)
    return rows[:limit]


DUPLICATE_RADIUS_PARAM = "dispatch.duplicate_radius_m"
DUPLICATE_WINDOW_PARAM = "dispatch.duplicate_window_hours"


def duplicate_candidates(event: Event, *, limit: int = 5) -> list[tuple[Event, float]]:
    """Open cases of the same minor class near ``event`` and recent enough to be the same thing,
    nearest first, as (case, distance in metres). [practice] radius and window are parameters."""
    if event.minor_id is None or event.lon is None or event.lat is None:
        return []
    radius = float(get_param(DUPLICATE_RADIUS_PARAM, 50))
    hours = float(get_param(DUPLICATE_WINDOW_PARAM, 72))
    dlat = radius / M_PER_DEG
    dlon = dlat / max(math.cos(math.radians(event.lat)), 0.01)
    since = event.created_at - datetime.timedelta(hours=hours)
    rows = (
        Event.objects.filter(
            # Open cases only: a new report near a closed case is the problem back again, and merging
            # it into the closed case would leave it unhandled.
            minor_id=event.minor_id, state__in=OPEN_STATES, created_at__gte=since,
            created_at__lte=event.created_at + datetime.timedelta(hours=hours),
            lon__range=(event.lon - dlon, event.lon + dlon), lat__range=(event.lat - dlat, event.lat + dlat),
        )
        .exclude(pk=event.pk)
        .order_by("created_at")[:50]
    )
    found = []
    for other in rows:
        distance = _metres(event.lon, event.lat, other.lon, other.lat)
        if distance <= radius:
            found.append((other, distance))
    found.sort(key=lambda pair: pair[1])
    return found[:limit]


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = (lon2 - lon1) * M_PER_DEG * math.cos(math.radians((lat1 + lat2) / 2))
    dy = (lat2 - lat1) * M_PER_DEG
    return math.hypot(dx, dy)


def open_events(qs: QuerySet[Event] | None = None) -> QuerySet[Event]:
    return (qs if qs is not None else Event.objects.all()).filter(state__in=OPEN_STATES)

