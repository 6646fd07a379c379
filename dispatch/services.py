"""Dispatch: writes. Views, the API, commands and tasks all call these (see /work/shared/style.md).

Each workflow service validates its input, then calls ``workflow.transition`` (which locks the row
and checks state, version and who is acting) and adds its own writes in the same transaction.
Bad input raises ``ValidationError`` before anything is written; a refused action raises a
``workflow.WorkflowError`` whose ``status`` is the HTTP answer.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from dispatch import attachments, clock, routing
from dispatch.journal import journal_events
from dispatch.models import (
    Alert,
    Assignment,
    Channel,
    Event,
    HotlineCall,
    MinorClass,
    Reporter,
    RequestType,
    Satisfaction,
    Stage,
    State,
    SupervisionOrder,
    Urgency,
)
from dispatch.permissions import Who
from dispatch.workflow import DEAD_STATES, WorkflowError, transition
from governance.audit import audit_log
from governance.calendar import current_calendar, deadline_for
from governance.deadlines import LimitUnit, TimeLimit, extend_deadline, shift_for_pause
from governance.models import AdministrativeUnit, Department, UnitLevel
from grids.coords import validate_lonlat
from grids.selectors import locate_point

RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))


def event_number(pk: int, created: datetime.datetime) -> str:
    return f"SJ{timezone.localtime(created):%Y%m%d}{pk:08d}"


def _locked(event: Event) -> Event:
    """The case's row, locked until the transaction ends. Services read what their writes depend on
    (owner, counters, the clock) from it, not from the caller's copy, which may be stale."""
    return Event.objects.select_for_update(of=("self",)).select_related("owner_unit", "minor").get(pk=event.pk)


IDEMPOTENCY_KEY_MAX = 80  # Event.idempotency_key max_length


# --- Intake --------------------------------------------------------------------------------------


@dataclass
class Located:
    unit: AdministrativeUnit
    grid: object | None
    outside_grids: bool


def locate(*, lon: float | None, lat: float | None, unit: AdministrativeUnit | None) -> Located:
    """Where a report belongs: the grid holding its point, else the unit given, else refused."""
    if lon is not None or lat is not None:
        try:
            validate_lonlat(lon, lat)
        except ValueError:
            raise ValidationError({"location": gettext(
                "These coordinates are not a place on Earth: longitude must lie between -180 and 180 and "
                "latitude between -90 and 90 (are they swapped?)."
            )}) from None
        found = locate_point(lon, lat)
        if found.grid is not None:
            return Located(unit=found.grid.community, grid=found.grid, outside_grids=False)
        if unit is None:
            # Accepted anyway: flagged, and the nearest grid's street centre routes it.
            near = found.nearest_grid
            if near is None:
                raise ValidationError({"location": gettext("This point is in no grid and no unit was given.")})
            return Located(unit=routing.centre_unit(near.community), grid=None, outside_grids=True)
        return Located(unit=unit, grid=None, outside_grids=True)
    if unit is None:
        raise ValidationError({"location": gettext("Give a location on the map or choose the community.")})
    return Located(unit=unit, grid=None, outside_grids=False)


def event_report(
    *,
    channel: str,
    title: str,
    description: str = "",
    minor: MinorClass | None = None,
    lon: float | None = None,
    lat: float | None = None,
    unit: AdministrativeUnit | None = None,
    address: str = "",
    reporter=None,
    contact_name: str = "",
    contact_phone: str = "",
    request_type: str = "",
    urgency: str | None = None,
    photos=(),
    idempotency_key: str | None = None,
    actor_label: str = "",
    attributes: dict | None = None,
) -> tuple[Event, bool]:
    """File a report from any channel. Returns (case, created); a repeated ``idempotency_key``
    returns the case the first submission made, and writes nothing."""
    if idempotency_key and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        # Refused here: PostgreSQL would fail the insert, SQLite would store it untruncated.
        raise ValidationError({"idempotency_key": gettext("The idempotency key may be at most %(n)d characters.")
                               % {"n": IDEMPOTENCY_KEY_MAX}})
    if idempotency_key:
        existing = Event.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    if channel not in Channel.values:
        raise ValidationError({"channel": gettext("Unknown channel.")})
    if minor is not None and not (minor.is_active and minor.major.is_active):
        raise ValidationError({"category": gettext("This category is no longer in use.")})
    if urgency and urgency not in Urgency.values:
        raise ValidationError({"urgency": gettext("Unknown urgency.")})
    if request_type and request_type not in RequestType.values:
        raise ValidationError({"request_type": gettext("Unknown request type.")})
    title = (title or "").strip() or (description or "").strip()[:60]
    if not title:
        raise ValidationError({"title": gettext("Say what happened.")})
    place = locate(lon=lon, lat=lat, unit=unit)
    prepared = attachments.prepare_all(photos)  # before any write: a bad photo refuses everything
    try:
        with transaction.atomic():
            event = _create(
                channel=channel, title=title[:120], description=description, minor=minor, place=place,
                lon=lon, lat=lat, address=address, reporter=reporter, contact_name=contact_name,
                contact_phone=contact_phone, request_type=request_type, urgency=urgency,
                idempotency_key=idempotency_key, actor_label=actor_label, attributes=attributes or {},
            )
            for photo in prepared:
                attachments.attachment_save(event=event, photo=photo, stage=Stage.REPORT, actor=reporter)
            if minor is not None and minor.auto_dispatch:
                event = _auto_dispatch(event)  # the caller gets the dispatched case, not the stale copy
    except IntegrityError:
        # Two submissions with one key raced; the other one won and its case is the answer.
        if idempotency_key:
            existing = Event.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing, False
        raise
    return event, True


def _create(*, channel, title, description, minor, place: Located, lon, lat, address, reporter, contact_name,
            contact_phone, request_type, urgency, idempotency_key, actor_label, attributes) -> Event:
    now = timezone.now()
    level = UnitLevel.COUNTY if channel == Channel.HOTLINE else UnitLevel.TOWNSHIP
    owner = routing.centre_unit(place.unit, level=level)
    event = Event(
        number=f"T{secrets.token_hex(10)}", receipt_code=new_receipt_code(), channel=channel,
        request_type=request_type, minor=minor, title=title, description=description, address=address[:255],
        lon=lon, lat=lat, grid=place.grid, unit=place.unit, unit_path=place.unit.path,
        outside_grids=place.outside_grids, owner_unit=owner, owner_path=owner.path,
        urgency=urgency or (minor.urgency if minor else Urgency.NORMAL),
        track=minor.track if minor else "general", reporter=reporter if getattr(reporter, "pk", None) else None,
        contact_name=contact_name[:64], contact_phone=contact_phone[:32], idempotency_key=idempotency_key or None,
        attributes=attributes, created_at=now,
    )
    clock.start_step(event, now)
    event.save()
    event.number = event_number(event.pk, now)
    event.save(update_fields=["number"])
    journal_events([event])
    Reporter.objects.create(
        event=event, source_event=event, user=event.reporter, name=contact_name[:64], phone=contact_phone[:32],
        channel=channel, reported_at=now,
    )
    from dispatch.models import Transition  # the creation row starts the timeline

    row = Transition.objects.create(
        event=event, action="report", from_state=State.REPORTED, to_state=State.REPORTED, actor=event.reporter,
        actor_label=actor_label, at=now, data={"channel": channel, "outside_grids": place.outside_grids},
    )
    from governance.queue import enqueue_on_commit

    audit_log(actor=event.reporter, action="dispatch.event.reported", obj=event, data={"channel": channel})
    enqueue_on_commit("dispatch.transition_follow_up", row.pk)
    return event


def _auto_dispatch(event: Event) -> Event:
    """Classes set to dispatch automatically go straight to their routed department."""
    department = routing.route(event.minor, event.unit)
    if department is None or event.outside_grids:
        return event  # the operator routes it
    label = gettext("Automatic dispatch")
    for action in ("accept", "register"):
        event = transition(event=event, action=action, actor=None, as_who=Who.SYSTEM, actor_label=label)
    return _dispatch(event, department=department, co_departments=list(event.minor.co_departments.all()),
                     actor=None, note="", expected_version=None, as_who=Who.SYSTEM, actor_label=label)


def event_self_handle(*, reporter, minor: MinorClass, before_photos, after_photos, note: str, **report) -> Event:
    """自行处置: a grid worker reports a small matter already handled; closed in one go, still counted."""
    if not minor.self_handling:
        raise ValidationError({"category": gettext("This category may not be handled on the spot; report it.")})
    if not before_photos or not after_photos:
        raise ValidationError({"photos": gettext("Handling on the spot needs a photo before and a photo after.")})
    if not note.strip():
        raise ValidationError({"note": gettext("Say what you did.")})
    after = attachments.prepare_all(after_photos)
    with transaction.atomic():
        event, created = event_report(channel=Channel.GRID, minor=minor, reporter=reporter, photos=before_photos,
                                      **report)
        if not created:
            return event
        # The photos filed with the report show the matter before it was handled.
        event.attachments.filter(stage=Stage.REPORT).update(stage=Stage.BEFORE)
        event = transition(event=event, action="self_handle", actor=reporter, note=note,
                           update={"self_handled": True, "handled_at": timezone.now(), "closed_at": timezone.now()})
        for photo in after:
            attachments.attachment_save(event=event, photo=photo, stage=Stage.AFTER, actor=reporter)
    return event


# --- Acceptance, registration, routing -----------------------------------------------------------


def event_accept(*, event: Event, actor, note: str = "", expected_version: int | None = None) -> Event:
    with transaction.atomic():
        return transition(event=event, action="accept", actor=actor, note=note, expected_version=expected_version)


def event_reject(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    with transaction.atomic():
        return transition(event=event, action="reject", actor=actor, note=note, expected_version=expected_version,
                          update={"closed_at": timezone.now()})


def event_register(*, event: Event, actor, minor: MinorClass | None = None, note: str = "",
                   expected_version: int | None = None) -> Event:
    minor = minor or event.minor
    if minor is None:
        raise ValidationError({"category": gettext("Choose the category before registering the case.")})
    if not (minor.is_active and minor.major.is_active):
        raise ValidationError({"category": gettext("This category is no longer in use.")})
    with transaction.atomic():
        locked = _locked(event)
        update = {"minor": minor, "track": minor.track}
        if locked.urgency != Urgency.URGENT:  # a case flagged urgent at intake stays urgent
            update["urgency"] = minor.urgency
        return transition(event=locked, action="register", actor=actor, note=note, expected_version=expected_version,
                          update=update, data={"category": minor.full_code})


def event_not_register(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    with transaction.atomic():
        return transition(event=event, action="not_register", actor=actor, note=note,
                          expected_version=expected_version, update={"closed_at": timezone.now()})


def event_merge(*, event: Event, into: Event, actor, note: str = "", expected_version: int | None = None) -> Event:
    """Merge a duplicate into the case it repeats; its reporters join that case and hear its outcome."""
    if into.pk == event.pk:
        raise ValidationError({"into": gettext("A case cannot be merged into itself.")})
    with transaction.atomic():
        into = _locked(into)  # its state now, not when the caller loaded it
        if into.state in DEAD_STATES:
            raise ValidationError({"into": gettext("Merge into a live case, not one that was closed off.")})
        event = transition(event=event, action="merge", actor=actor, note=note, expected_version=expected_version,
                           update={"merged_into": into}, data={"into": into.number})
        moved = Reporter.objects.filter(event=event)
        moved.update(event=into)
        transition(event=into, action="absorb", actor=actor, note=gettext("Duplicate %(number)s merged in.")
                   % {"number": event.number}, data={"merged": event.number})
    return event


def event_edit(*, event: Event, actor, expected_version: int | None = None, note: str = "", **changes) -> Event:
    """The centre corrects category, urgency, place or title before dispatch."""
    allowed = {"minor", "urgency", "title", "description", "address", "unit"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({NON_FIELD_ERRORS: gettext("These fields cannot be changed here: %s")
                               % ", ".join(sorted(unknown))})
    if "title" in changes and not (changes["title"] or "").strip():
        raise ValidationError({"title": gettext("Say what happened.")})
    if "urgency" in changes and changes["urgency"] not in Urgency.values:
        raise ValidationError({"urgency": gettext("Unknown urgency.")})
    if "unit" in changes and changes["unit"] is None:
        raise ValidationError({"unit": gettext("Choose the community.")})
    if "minor" in changes:
        minor = changes["minor"]
        if minor is None and event.state not in (State.REPORTED, State.ACCEPTED):
            # A registered case keeps a category: routing and the handling limit come from it.
            raise ValidationError({"category": gettext("A registered case needs a category.")})
        if minor is not None and not (minor.is_active and minor.major.is_active):
            raise ValidationError({"category": gettext("This category is no longer in use.")})
    update = dict(changes)
    if "unit" in update:
        update["unit_path"] = update["unit"].path
        update["outside_grids"] = event.grid_id is None
    if update.get("minor") is not None:
        update["track"] = update["minor"].track
    with transaction.atomic():
        return transition(event=event, action="edit", actor=actor, note=note, expected_version=expected_version,
                          update=update, data={k: str(v) for k, v in changes.items()})


def event_escalate(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    """上报: the level above takes the case over (community → street → district)."""
    with transaction.atomic():
        locked = _locked(event)  # the owner now: two escalations must not both start from the same level
        above = locked.owner_unit.parent
        if above is None:
            raise ValidationError({NON_FIELD_ERRORS: gettext("This case is already run by the highest level.")})
        return transition(event=locked, action="escalate", actor=actor, note=note, expected_version=expected_version,
                          update={"owner_unit": above, "owner_path": above.path}, data={"to": above.name})


def event_delegate(*, event: Event, actor, to_unit: AdministrativeUnit, note: str = "",
                   expected_version: int | None = None) -> Event:
    """下派: the level above hands the case to a level below it, on the case's own branch."""
    with transaction.atomic():
        locked = _locked(event)
        if not (locked.unit_path.startswith(to_unit.path) and to_unit.path.startswith(locked.owner_path)
                and to_unit.pk != locked.owner_unit_id):
            raise ValidationError(
                {"to_unit": gettext("Delegate to a unit below this centre that holds the case's place.")}
            )
        return transition(event=locked, action="delegate", actor=actor, note=note, expected_version=expected_version,
                          update={"owner_unit": to_unit, "owner_path": to_unit.path}, data={"to": to_unit.name})


def event_dispatch(*, event: Event, actor, department: Department | None = None, co_departments=(),
                   note: str = "", expected_version: int | None = None) -> Event:
    """派遣 to the lead department (the routed one unless the operator overrides) and co-handlers."""
    if department is None:  # route from the stored case: the caller's copy may predate registration
        current = Event.objects.select_related("minor", "unit").get(pk=event.pk)
        department = routing.route(current.minor, current.unit)
    if department is None:
        raise ValidationError({"department": gettext("No routing rule covers this case; choose the department.")})
    with transaction.atomic():
        return _dispatch(event, department=department, co_departments=co_departments, actor=actor, note=note,
                         expected_version=expected_version)


def _dispatch(event, *, department, co_departments, actor, note, expected_version, as_who=None, actor_label=""):
    if not department.is_active:
        raise ValidationError({"department": gettext("This department is no longer active.")})
    co = list({d.pk: d for d in co_departments if d.pk != department.pk}.values())  # each department once
    if any(not d.is_active for d in co):
        raise ValidationError({"co_departments": gettext("This department is no longer active.")})
    now = timezone.now()
    event = transition(
        event=event, action="dispatch", actor=actor, note=note, expected_version=expected_version,
        update={"department": department, "dispatched_at": now}, as_who=as_who, actor_label=actor_label,
        data={"department": department.name, "co": [d.name for d in co]},
    )
    # The previous lead and co-handlers step back; summoned departments stay, unless one of them now
    # becomes the lead or a co-handler (one open assignment per department, see the model).
    taking = [department.pk, *(d.pk for d in co)]
    event.assignments.filter(status__in=[Assignment.Status.PENDING, Assignment.Status.SIGNED]).filter(
        ~Q(role=Assignment.Role.SUMMONED) | Q(department__in=taking)
    ).update(status=Assignment.Status.WITHDRAWN)
    sign_due = event.step_due_at
    Assignment.objects.create(event=event, department=department, role=Assignment.Role.LEAD, assigned_at=now,
                              sign_due_at=sign_due)
    for other in co:
        Assignment.objects.create(event=event, department=other, role=Assignment.Role.CO, assigned_at=now,
                                  sign_due_at=sign_due)
    return event


def event_sign(*, event: Event, actor, note: str = "", expected_version: int | None = None) -> Event:
    with transaction.atomic():
        event = transition(event=event, action="sign", actor=actor, note=note, expected_version=expected_version)
        _mark_assignment(event, event.department_id, actor, Assignment.Status.SIGNED)
        return event


def event_return(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    """退单: not this department's remit; the centre re-dispatches."""
    with transaction.atomic():
        department_id = event.department_id
        event = transition(event=event, action="return", actor=actor, note=note, expected_version=expected_version,
                           update={"department": None})
        _mark_assignment(event, department_id, actor, Assignment.Status.RETURNED, note=note)
        return event


def _mark_assignment(event, department_id, actor, status, note=""):
    now = timezone.now()
    event.assignments.filter(department_id=department_id, status__in=["pending", "signed"]).update(
        status=status, note=note[:500], **({"signed_at": now, "signed_by": actor} if status == "signed" else {})
    )


def event_start(*, event: Event, actor, note: str = "", expected_version: int | None = None) -> Event:
    with transaction.atomic():
        return transition(event=event, action="start", actor=actor, note=note, expected_version=expected_version)


def event_summon(*, event: Event, actor, departments, note: str, expected_version: int | None = None) -> Event:
    """吹哨报到: the street calls departments; each must sign within the signing limit."""
    departments = list({d.pk: d for d in departments if d.is_active}.values())  # each department once
    if not departments:
        raise ValidationError({"departments": gettext("Choose at least one department to summon.")})
    with transaction.atomic():
        event = transition(event=event, action="summon", actor=actor, note=note, expected_version=expected_version,
                           data={"departments": [d.name for d in departments]})
        now = timezone.now()
        limit = clock.step_limit(event, "sign").limit
        due = deadline_for(now, limit).due
        open_ids = set(event.assignments.filter(status__in=["pending", "signed"]).values_list("department_id", flat=True))
        for department in departments:
            if department.pk not in open_ids:
                Assignment.objects.create(event=event, department=department, role=Assignment.Role.SUMMONED,
                                          assigned_at=now, sign_due_at=due, note=note[:500])
        return event


def event_co_sign(*, event: Event, actor, department: Department, note: str = "",
                  expected_version: int | None = None) -> Event:
    """A co-handling or summoned department signs (报到). The lead department signs with ``event_sign``."""
    from dispatch.permissions import handles_for

    if not handles_for(actor, department.pk):
        raise ValidationError({"department": gettext("You do not handle cases for this department.")})
    with transaction.atomic():
        event = transition(event=event, action="co_sign", actor=actor, note=note, expected_version=expected_version,
                           data={"department": department.name})
        updated = event.assignments.filter(
            department=department, status="pending", role__in=[Assignment.Role.CO, Assignment.Role.SUMMONED]
        ).update(status=Assignment.Status.SIGNED, signed_at=timezone.now(), signed_by=actor)
        if not updated:
            raise ValidationError({"department": gettext("This department has nothing to sign on this case.")})
        return event


# --- Handling ------------------------------------------------------------------------------------


EXTENSION_UNITS = (LimitUnit.WORKING_HOURS.value, LimitUnit.WORKING_DAYS.value, LimitUnit.DAYS.value)


def event_request_extension(*, event: Event, actor, amount: int, unit: str, note: str,
                            expected_version: int | None = None) -> Event:
    try:
        extra = TimeLimit(int(amount), unit)
    except (TypeError, ValueError):
        raise ValidationError({"amount": gettext("Give a positive whole number of hours or days.")}) from None
    if extra.unit.value not in EXTENSION_UNITS:
        raise ValidationError({"unit": gettext("Extensions are counted in working hours, working days or days.")})
    with transaction.atomic():
        return transition(event=event, action="request_extension", actor=actor, note=note,
                          expected_version=expected_version,
                          data={"amount": extra.amount, "unit": extra.unit.value})


def _requested_extension(event: Event) -> TimeLimit | None:
    row = event.history.filter(action="request_extension").order_by("-at", "-pk").first()
    return TimeLimit(row.data["amount"], row.data["unit"]) if row is not None else None


def event_approve_extension(*, event: Event, actor, note: str = "", expected_version: int | None = None) -> Event:
    with transaction.atomic():
        locked = _locked(event)
        extra = _requested_extension(locked) if locked.state == State.EXTENSION_REQUESTED else None
        if extra is None or locked.step_due_at is None:
            # Nothing was requested: the case is not waiting for an extension, and ``transition``
            # refuses with the actions that are possible (or a conflict, for a stale form).
            transition(event=locked, action="approve_extension", actor=actor, note=note,
                       expected_version=expected_version)
            raise WorkflowError(gettext("No extension was requested on this case."))
        current = clock.Deadline(locked.step_due_at, TimeLimit(locked.step_limit_amount, locked.step_limit_unit), "")
        due = extend_deadline(current, extra, current_calendar()).due
        event = transition(event=event, action="approve_extension", actor=actor, note=note,
                           expected_version=expected_version, data={"amount": extra.amount, "unit": extra.unit.value,
                                                                    "new_due": due.isoformat()})
        clock.set_clock(event, start=event.step_started_at, limit=current.limit, due=due,
                        source=gettext("%(source)s, extended by %(extra)s")
                        % {"source": event.step_rule, "extra": clock.limit_label(extra)})
        event.handling_due_at = due
        event.alert = 0
        event.escalated_at = None
        event.save(update_fields=["step_due_at", "step_yellow_at", "step_rule", "handling_due_at", "alert",
                                  "escalated_at"])
        return event


def event_refuse_extension(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    with transaction.atomic():
        return transition(event=event, action="refuse_extension", actor=actor, note=note,
                          expected_version=expected_version)


def event_suspend(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    """The clock stops while a case is suspended (e.g. waiting for a court or the weather)."""
    with transaction.atomic():
        return transition(event=event, action="suspend", actor=actor, note=note, expected_version=expected_version,
                          update={"paused_at": timezone.now()})


def event_resume(*, event: Event, actor, note: str = "", expected_version: int | None = None) -> Event:
    with transaction.atomic():
        event = transition(event=event, action="resume", actor=actor, note=note, expected_version=expected_version)
        _unpause(event)
        return event


def _unpause(event: Event) -> None:
    if event.paused_at is None or event.step_due_at is None:
        return
    now, cal, unit = timezone.now(), current_calendar(), event.step_limit_unit
    event.step_due_at = shift_for_pause(event.step_due_at, event.paused_at, now, unit, cal)
    event.step_yellow_at = shift_for_pause(event.step_yellow_at, event.paused_at, now, unit, cal)
    event.handling_due_at = event.step_due_at
    event.paused_at = None
    # The warning follows the moved clock (a sweep that ran during the pause may have coloured it).
    if now <= event.step_due_at:
        event.alert = Alert.YELLOW if event.step_yellow_at and now >= event.step_yellow_at else Alert.NONE
        event.escalated_at = None
    event.save(update_fields=["step_due_at", "step_yellow_at", "handling_due_at", "paused_at", "alert",
                              "escalated_at"])


def event_backlog(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    """挂账: cannot be solved even after extension; the written explanation is the note."""
    with transaction.atomic():
        return transition(event=event, action="backlog", actor=actor, note=note, expected_version=expected_version)


def event_reactivate(*, event: Event, actor, note: str = "", expected_version: int | None = None) -> Event:
    with transaction.atomic():
        return transition(event=event, action="reactivate", actor=actor, note=note, expected_version=expected_version)


def event_handle(*, event: Event, actor, note: str, photos=(), expected_version: int | None = None) -> Event:
    """The handler's feedback (with photos); the case goes straight on to verification."""
    prepared = attachments.prepare_all(photos)
    if not note.strip():
        raise ValidationError({"note": gettext("Describe what was done.")})
    with transaction.atomic():
        event = transition(event=event, action="handle", actor=actor, note=note, expected_version=expected_version,
                           update={"handled_at": timezone.now()})
        for photo in prepared:
            attachments.attachment_save(event=event, photo=photo, stage=Stage.AFTER, actor=actor)
        event.assignments.filter(department_id=event.department_id, status="signed").update(
            status=Assignment.Status.DONE
        )
        verifier = event.reporter if event.channel == Channel.GRID else None
        return transition(event=event, action="send_to_verify", actor=None, as_who=Who.SYSTEM,
                          actor_label=gettext("Platform"), update={"verifier": verifier})


def event_verify(*, event: Event, actor, passed: bool, note: str = "", photos=(),
                 expected_version: int | None = None) -> Event:
    """核查 on the spot: pass closes the case, otherwise it goes back to the department."""
    prepared = attachments.prepare_all(photos)
    with transaction.atomic():
        if passed:
            event = transition(event=event, action="verify_pass", actor=actor, note=note,
                               expected_version=expected_version, update={"closed_at": timezone.now()})
        else:
            locked = _locked(event)  # count on the row as it is now, not on the caller's copy
            event = transition(event=locked, action="rework", actor=actor, note=note,
                               expected_version=expected_version, update={"rework_count": locked.rework_count + 1})
            event.assignments.filter(department_id=event.department_id, status="done").update(
                status=Assignment.Status.SIGNED
            )
        for photo in prepared:
            attachments.attachment_save(event=event, photo=photo, stage=Stage.VERIFY, actor=actor)
        return event


# --- Call-back, rating, reopening ----------------------------------------------------------------


def event_callback(*, event: Event, actor, contacted: bool, solved: bool, satisfaction: str, note: str = "",
                   expected_version: int | None = None) -> Event:
    """回访: the operator records whether the caller was contacted, the matter solved, and how satisfied."""
    if satisfaction not in Satisfaction.values:
        raise ValidationError({"satisfaction": gettext("Choose satisfied, basically satisfied or dissatisfied.")})
    with transaction.atomic():
        return transition(event=event, action="evaluate", actor=actor, note=note, expected_version=expected_version,
                          update={"callback_contacted": contacted, "callback_solved": solved,
                                  "satisfaction": satisfaction},
                          data={"contacted": contacted, "solved": solved, "satisfaction": satisfaction})


def event_rate_by_citizen(*, event: Event, satisfaction: str, comment: str = "") -> Event:
    """The reporter rates the outcome through the receipt code (no login)."""
    if satisfaction not in Satisfaction.values:
        raise ValidationError({"satisfaction": gettext("Choose satisfied, basically satisfied or dissatisfied.")})
    with transaction.atomic():
        event = _locked(event)  # two ratings at once: the second sees the first
        if event.state not in (State.CLOSED, State.EVALUATED):
            raise WorkflowError(gettext("The case can be rated once it is closed."))
        # A reporter's rating is the "evaluate" (on a closed case) or "rate" row marked by="reporter";
        # a rating without a comment leaves nothing else behind.
        if event.history.filter(action__in=["evaluate", "rate"], data__by="reporter").exists():
            raise WorkflowError(gettext("This case has already been rated. Thank you."))
        action = "evaluate" if event.state == State.CLOSED else "rate"
        return transition(event=event, action=action, actor=None, as_who=Who.CITIZEN,
                          actor_label=gettext("Reporter (receipt code)"), note=comment,
                          update={"satisfaction": satisfaction, "rating_comment": comment[:500]},
                          data={"satisfaction": satisfaction, "by": "reporter"})


@transaction.atomic
def event_delete(*, event: Event, actor, reason: str) -> None:
    """Delete a case filed in error (a test, a duplicate nobody should see): administrators only,
    with a reason, audited; API clients mirroring cases are told by a tombstone in the sync feed.
    Ordinary closing, invalidating and merging never delete."""
    if not getattr(actor, "is_superuser", False):
        raise WorkflowError(gettext("Only an administrator may delete a case."))
    if not reason.strip():
        raise ValidationError({"reason": [gettext("Say why the case is deleted.")]})
    locked = Event.objects.select_for_update().get(pk=event.pk)
    if Event.objects.filter(merged_into=locked).exists() or HotlineCall.objects.filter(event=locked).exists():
        # Merged duplicates and the hotline call record point at it: they must stay traceable.
        raise WorkflowError(gettext("Other cases were merged into this one, or a hotline call records it: "
                                    "it cannot be deleted."))
    audit_log(actor=actor, action="dispatch.event.deleted", obj=locked,
              data={"number": locked.number, "state": locked.state, "reason": reason.strip()})
    journal_events([locked], deleted=True)
    locked.delete()


def event_reopen(*, event: Event, actor, note: str, expected_version: int | None = None) -> Event:
    with transaction.atomic():
        locked = _locked(event)
        event = transition(event=locked, action="reopen", actor=actor, note=note, expected_version=expected_version,
                           update={"closed_at": None, "rework_count": locked.rework_count + 1})
        event.assignments.filter(department_id=event.department_id, status="done").update(
            status=Assignment.Status.SIGNED
        )
        return event


# --- Supervision ---------------------------------------------------------------------------------


def event_remind(*, event: Event, actor, note: str = "", expected_version: int | None = None) -> SupervisionOrder:
    with transaction.atomic():
        event = transition(event=event, action="remind", actor=actor, note=note, expected_version=expected_version)
        return SupervisionOrder.objects.create(event=event, kind=SupervisionOrder.Kind.REMINDER, issued_by=actor,
                                               department=event.department, note=note)


def event_supervise(*, event: Event, actor, note: str, amount: int, unit: str,
                    expected_version: int | None = None) -> SupervisionOrder:
    """督办单: a supervision order to the handling department with its own deadline."""
    try:
        limit = TimeLimit(int(amount), unit)
    except (TypeError, ValueError):
        raise ValidationError({"amount": gettext("Give the time allowed as a positive whole number.")}) from None
    with transaction.atomic():
        due = deadline_for(timezone.now(), limit).due
        event = transition(event=event, action="supervise", actor=actor, note=note, expected_version=expected_version,
                           data={"amount": limit.amount, "unit": limit.unit.value, "due": due.isoformat()})
        return SupervisionOrder.objects.create(event=event, kind=SupervisionOrder.Kind.ORDER, issued_by=actor,
                                               department=event.department, note=note, due_at=due)


def event_respond(*, event: Event, actor, order: SupervisionOrder, note: str,
                  expected_version: int | None = None) -> SupervisionOrder:
    if order.event_id != event.pk or order.responded_at is not None:
        raise ValidationError({"order": gettext("This supervision order is not open on this case.")})
    with transaction.atomic():
        transition(event=event, action="respond", actor=actor, note=note, expected_version=expected_version,
                   data={"order": order.pk})
        order.responded_at = timezone.now()
        order.response = note
        order.save(update_fields=["responded_at", "response"])
        return order


def event_list_supervision(*, event: Event, actor, listed: bool, note: str = "",
                           expected_version: int | None = None) -> Event:
    """挂牌督办 by a leader (or taking the listing off)."""
    with transaction.atomic():
        if _locked(event).listed_supervision == listed:  # a second click writes no second history row
            raise ValidationError({"listed": gettext("The case is already listed for supervision.") if listed
                                   else gettext("The case is not listed for supervision.")})
        return transition(event=event, action="list_supervision" if listed else "unlist_supervision", actor=actor,
                          note=note, expected_version=expected_version, update={"listed_supervision": listed})


# --- Hotline -------------------------------------------------------------------------------------


def hotline_call_record(
    *,
    operator,
    caller_name: str,
    caller_phone: str,
    request_type: str,
    summary: str,
    outcome: str,
    answer: str = "",
    not_taken_reason: str = "",
    minor: MinorClass | None = None,
    lon: float | None = None,
    lat: float | None = None,
    unit: AdministrativeUnit | None = None,
    address: str = "",
    photos=(),
    idempotency_key: str | None = None,
):
    """One 12345 call as the operator records it (接诉即办): taken as a case (filed on the hotline
    channel and linked to the call), answered at once, or not taken, with the reason told to the
    caller. A repeated ``idempotency_key`` returns the call the first submission recorded."""
    from django.contrib.auth import get_user_model

    from dispatch.models import HotlineCall, RequestType
    from governance.models import AuditEntry

    Outcome, Reason = HotlineCall.Outcome, HotlineCall.NotTakenReason
    summary, answer = (summary or "").strip(), (answer or "").strip()
    errors = {}
    if request_type not in RequestType.values:
        errors["request_type"] = gettext("Choose the request type.")
    if not summary:
        errors["summary"] = gettext("Write down what the caller said.")
    if outcome not in Outcome.values:
        errors["outcome"] = gettext("Choose what became of the call.")
    elif outcome == Outcome.ANSWERED and not answer:
        errors["answer"] = gettext("Write down the answer the caller was given.")
    elif outcome == Outcome.NOT_TAKEN and not_taken_reason not in Reason.values:
        errors["not_taken_reason"] = gettext("Choose why the call is not taken as a case.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if idempotency_key:
            # HotlineCall has no key column: the audit row written with the call carries it. Locking
            # the operator's row makes a double-clicked submission wait for the first, then find it.
            get_user_model().objects.select_for_update().filter(pk=operator.pk).first()
            seen = AuditEntry.objects.filter(action="dispatch.hotline.recorded",
                                             data__idempotency_key=idempotency_key).first()
            if seen is not None:
                call = HotlineCall.objects.filter(pk=seen.object_id).first()
                if call is not None:
                    return call
        event = None
        if outcome == Outcome.CASE:
            event, _created = event_report(
                channel=Channel.HOTLINE, title=summary.splitlines()[0][:60], description=summary, minor=minor,
                lon=lon, lat=lat, unit=unit, address=address, contact_name=caller_name, contact_phone=caller_phone,
                request_type=request_type, photos=photos, idempotency_key=idempotency_key,
                actor_label=gettext("12345 hotline"),
            )
        call = HotlineCall.objects.create(
            operator=operator, caller_name=(caller_name or "").strip()[:64],
            caller_phone=(caller_phone or "").strip()[:32], request_type=request_type, summary=summary,
            outcome=outcome, answer=answer if outcome == Outcome.ANSWERED else "",
            not_taken_reason=not_taken_reason if outcome == Outcome.NOT_TAKEN else "", event=event,
        )
        audit_log(actor=operator, action="dispatch.hotline.recorded", obj=call,
                  data={"outcome": outcome, "request_type": request_type, "reason": call.not_taken_reason,
                        "event": event.number if event else None, "idempotency_key": idempotency_key or None})
    return call
