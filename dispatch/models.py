"""Dispatch: the event catalogue, cases (事件) and everything that happens to them.

A case's ``state`` is written only by ``dispatch.workflow.transition`` (states and allowed moves are
the table in ``dispatch.workflow``). Each step's clock is stored on the case (``step_*`` fields) so
the periodic sweep finds yellow and red cases with two indexed range queries instead of computing
working time for every open case.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Case, ExpressionWrapper, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.deadlines import LimitUnit
from governance.models import AdministrativeUnit, Department

LIMIT_UNIT_CHOICES = [
    (LimitUnit.MINUTES.value, _("minutes")),
    (LimitUnit.HOURS.value, _("hours")),
    (LimitUnit.DAYS.value, _("calendar days")),
    (LimitUnit.WORKING_HOURS.value, _("working hours")),
    (LimitUnit.WORKING_DAYS.value, _("working days")),
]


# --- The catalogue -------------------------------------------------------------------------------


class ClassKind(models.TextChoices):
    EVENT = "event", _("Event (事件)")
    COMPONENT = "component", _("Component (部件)")
    GOVERNANCE = "governance", _("Social governance")


class Track(models.TextChoices):
    GENERAL = "general", _("General matter")
    EMERGENCY = "emergency", _("Emergency")
    DISPUTE = "dispute", _("Dispute (to mediation)")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class MajorClass(models.Model):
    """大类. Codes are two digits, unique within a kind (event 01 and component 01 both exist)."""

    kind = models.CharField(_("kind"), max_length=16, choices=ClassKind.choices)
    code = models.CharField(_("code"), max_length=2)
    name = models.CharField(_("name"), max_length=64)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("major class")
        verbose_name_plural = _("major classes")
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="majorclass_unique_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class MinorClass(models.Model):
    """小类: what a case is about, and how it is handled by default."""

    major = models.ForeignKey(MajorClass, verbose_name=_("major class"), on_delete=models.PROTECT, related_name="minors")
    code = models.CharField(_("code"), max_length=2, help_text=_("Two digits within the major class."))
    name = models.CharField(_("name"), max_length=64)
    keywords = models.CharField(_("search keywords"), max_length=255, blank=True)
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_classes",
        help_text=_("Default handler when no routing rule matches; empty means the operator chooses."),
    )
    co_departments = models.ManyToManyField(
        Department, verbose_name=_("co-handling departments"), blank=True, related_name="co_classes"
    )
    limit_amount = models.PositiveIntegerField(_("handling time limit"), default=5)
    limit_unit = models.CharField(
        _("time limit unit"), max_length=16, choices=LIMIT_UNIT_CHOICES, default=LimitUnit.WORKING_DAYS.value
    )
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    track = models.CharField(_("track"), max_length=16, choices=Track.choices, default=Track.GENERAL)
    self_handling = models.BooleanField(
        _("grid worker may handle it himself"), default=False, help_text=_("自行处置: reported and closed in one go.")
    )
    auto_dispatch = models.BooleanField(
        _("dispatch automatically"),
        default=False,
        help_text=_("Accept, register and dispatch to the routed department as soon as it is reported."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("minor class")
        verbose_name_plural = _("minor classes")
        ordering = ["major__kind", "major__code", "code"]
        constraints = [models.UniqueConstraint(fields=["major", "code"], name="minorclass_unique_code")]

    def __str__(self) -> str:
        return f"{self.full_code} {self.name}"

    @property
    def full_code(self) -> str:
        """Major + minor code (the county prefix of GB/T 30428 is the case's own unit)."""
        return f"{self.major.code}{self.code}"


class RoutingRule(models.Model):
    """Which department handles a class of case within a unit (and everything under it).

    The most specific rule wins: a rule for a deeper unit beats one for its parent, a rule naming a
    minor class beats one naming only the major class, which beats a rule for any class.
    """

    unit = models.ForeignKey(
        AdministrativeUnit, verbose_name=_("within unit"), on_delete=models.CASCADE, related_name="routing_rules"
    )
    major = models.ForeignKey(MajorClass, verbose_name=_("major class"), null=True, blank=True, on_delete=models.CASCADE)
    minor = models.ForeignKey(MinorClass, verbose_name=_("minor class"), null=True, blank=True, on_delete=models.CASCADE)
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.CASCADE, related_name="+")
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["unit__path"]

    def __str__(self) -> str:
        what = self.minor or self.major or _("any class")
        return f"{self.unit} · {what} → {self.department}"


# --- Cases ---------------------------------------------------------------------------------------


class Channel(models.TextChoices):
    GRID = "grid", _("Grid worker")
    CITIZEN = "citizen", _("Citizen")
    HOTLINE = "hotline", _("12345 hotline")
    WALK_IN = "walk_in", _("Walk-in")
    IOT = "iot", _("Video/IoT alert")
    API = "api", _("Other system (API)")


class RequestType(models.TextChoices):
    ENQUIRY = "enquiry", _("Enquiry (咨询)")
    HELP = "help", _("Request for help (求助)")
    COMPLAINT = "complaint", _("Complaint (投诉)")
    REPORT = "report", _("Report (举报)")
    SUGGESTION = "suggestion", _("Suggestion (建议)")


class State(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ACCEPTED = "accepted", _("Accepted")
    INVALID = "invalid", _("Invalid")
    NOT_REGISTERED = "not_registered", _("Not registered")
    MERGED = "merged", _("Merged into another case")
    REGISTERED = "registered", _("Registered")
    DISPATCHED = "dispatched", _("Dispatched")
    RETURNED = "returned", _("Returned")
    SIGNED = "signed", _("Signed")
    IN_PROGRESS = "in_progress", _("In progress")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
    SUSPENDED = "suspended", _("Suspended")
    BACKLOG = "backlog", _("On the backlog list")
    HANDLED = "handled", _("Handled")
    VERIFYING = "verifying", _("Verifying")
    REWORK = "rework", _("Rework")
    CLOSED = "closed", _("Closed")
    EVALUATED = "evaluated", _("Evaluated")


class Alert(models.IntegerChoices):
    NONE = 0, _("On time")
    YELLOW = 1, _("Yellow warning")
    RED = 2, _("Overdue")


# The states of a case not yet finished (closed and evaluated are finished; invalid, not registered
# and merged are dead): see dispatch.workflow, which uses them.
OPEN_STATES = frozenset({
    State.REPORTED, State.ACCEPTED, State.REGISTERED, State.DISPATCHED, State.RETURNED, State.SIGNED,
    State.IN_PROGRESS, State.EXTENSION_REQUESTED, State.SUSPENDED, State.BACKLOG, State.HANDLED, State.VERIFYING,
    State.REWORK,
})
# Where a case's work still goes on: the open states and closed cases waiting for their call-back.
# The queues and the deadline sweep read only these rows, through the partial indexes on Event: a
# small share of a city's cases, however many years are closed. Sorted: the migrations name them.
LIVE_STATES = tuple(sorted(OPEN_STATES | {State.CLOSED}))
# The states whose step clock the deadline sweep watches: the live ones less those paused.
SWEPT_STATES = tuple(s for s in LIVE_STATES if s not in (State.SUSPENDED, State.BACKLOG))
# What the queues' tab counts read of a live case besides its state (dispatch.filters.GROUPS): carried
# in the scope indexes below, so a tab count is read from the index alone, without visiting the cases.
TAB_COLUMNS = ["alert", "step_due_at", "step_yellow_at", "paused_at", "listed_supervision"]
# A case placed outside the area of the centre that runs it (its place corrected after it was taken).
OUTSIDE_OWNER_AREA = ~Q(unit_path__startswith=F("owner_path"))
# The command-centre queue's order: urgent first, then the step falling due soonest (cases without a
# clock last), then oldest. An index over the live cases holds this order, so a large queue's first
# page is read from the head of the index instead of sorting every case in scope.
# ("No clock" is a key of its own: SQLite indexes cannot say NULLS LAST.)
URGENCY_RANK = Case(When(urgency=Urgency.URGENT, then=Value(0)), default=Value(1), output_field=IntegerField())
NO_CLOCK = ExpressionWrapper(Q(step_due_at__isnull=True), output_field=BooleanField())
QUEUE_ORDER = (URGENCY_RANK, NO_CLOCK, F("step_due_at"), F("created_at"), F("id"))


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY = "basically", _("Basically satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


_STATE_LABELS = dict(State.choices)
_CHANNEL_LABELS = dict(Channel.choices)


class Event(models.Model):
    """One case (事件/案卷), whatever channel it came in by."""

    number = models.CharField(_("case number"), max_length=24, unique=True)
    receipt_code = models.CharField(
        _("receipt code"), max_length=16, unique=True, help_text=_("What a citizen tracks the case with.")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    request_type = models.CharField(_("request type"), max_length=16, choices=RequestType.choices, blank=True)
    minor = models.ForeignKey(
        MinorClass, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    unit = models.ForeignKey(
        AdministrativeUnit,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="events",
        help_text=_("Where it happened: the community of its grid, or the unit the operator chose."),
    )
    unit_path = models.CharField(max_length=255, db_index=True, editable=False)
    outside_grids = models.BooleanField(
        _("outside every grid"), default=False, help_text=_("The point lies in no grid; the operator routes it.")
    )
    owner_unit = models.ForeignKey(
        AdministrativeUnit,
        verbose_name=_("command centre"),
        on_delete=models.PROTECT,
        related_name="owned_events",
        help_text=_("The level whose command centre currently runs the case (community, street, district)."),
    )
    owner_path = models.CharField(max_length=255, db_index=True, editable=False)
    state = models.CharField(_("state"), max_length=24, choices=State.choices, default=State.REPORTED, db_index=True)
    version = models.PositiveIntegerField(default=0, editable=False, help_text="Bumped by every transition.")
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    track = models.CharField(_("track"), max_length=16, choices=Track.choices, default=Track.GENERAL)
    department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lead_events",
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reported by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="reported_events",
    )
    contact_name = models.CharField(_("contact name"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    attributes = models.JSONField(
        _("further details"), default=dict, blank=True,
        help_text=_("Answers to the category's further questions, e.g. from Open311 clients: {code: value}."),
    )
    idempotency_key = models.CharField(max_length=80, null=True, blank=True, editable=False)
    self_handled = models.BooleanField(_("handled on the spot"), default=False)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verifier"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    # The clock of the current step (None when the step has no limit, e.g. closed).
    step = models.CharField(_("step"), max_length=24, blank=True)
    step_started_at = models.DateTimeField(null=True, blank=True)
    step_limit_amount = models.PositiveIntegerField(null=True, blank=True)
    step_limit_unit = models.CharField(max_length=16, choices=LIMIT_UNIT_CHOICES, blank=True)
    step_yellow_at = models.DateTimeField(null=True, blank=True)
    step_due_at = models.DateTimeField(_("step due"), null=True, blank=True)
    step_rule = models.CharField(_("deadline rule"), max_length=400, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    alert = models.PositiveSmallIntegerField(_("deadline"), choices=Alert.choices, default=Alert.NONE)
    escalated_at = models.DateTimeField(_("escalated for overdue"), null=True, blank=True)
    handling_due_at = models.DateTimeField(_("handling due"), null=True, blank=True)
    listed_supervision = models.BooleanField(_("listed for supervision (挂牌督办)"), default=False)
    rework_count = models.PositiveSmallIntegerField(_("rework count"), default=0)
    # Call-back (回访) and rating.
    callback_contacted = models.BooleanField(_("contacted"), null=True, blank=True)
    callback_solved = models.BooleanField(_("solved"), null=True, blank=True)
    satisfaction = models.CharField(_("satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("reported at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="event_unique_idempotency_key"),
        ]
        indexes = [
            models.Index(fields=["state", "step_yellow_at"], name="event_state_yellow"),
            models.Index(fields=["state", "step_due_at"], name="event_state_due"),
            models.Index(fields=["minor", "created_at"], name="event_minor_created"),
            # The queues' scope over live cases only, covering the tab counts: a unit's subtree by place,
            # and by owning centre for the few cases placed outside their centre's area (the others are
            # found by place: see selectors.visibility_branches).
            # The state is a key, not only carried: PostgreSQL then narrows a tab's cases in the index
            # itself instead of ANDing in the state index (all cases), which it misjudges as selective.
            models.Index(fields=["unit_path", "state"], opclasses=["varchar_pattern_ops", "varchar_ops"],
                         include=TAB_COLUMNS, condition=Q(state__in=LIVE_STATES), name="event_live_unit_path"),
            models.Index(fields=["owner_path", "state"], opclasses=["varchar_pattern_ops", "varchar_ops"],
                         include=[*TAB_COLUMNS, "unit_path"], condition=Q(state__in=LIVE_STATES) & OUTSIDE_OWNER_AREA,
                         name="event_live_owner_path"),
            models.Index(*QUEUE_ORDER, condition=Q(state__in=LIVE_STATES), name="event_live_queue_order"),
            # Open cases per grid, the map's measure (index-only: a grid's few live cases, not its years).
            models.Index(fields=["grid", "state"], condition=Q(state__in=LIVE_STATES), name="event_live_grid"),
            # The sweep's two lines: only the cases that have not crossed them yet.
            models.Index(fields=["step_due_at"], condition=Q(state__in=SWEPT_STATES, alert__lt=Alert.RED),
                         name="event_sweep_red"),
            models.Index(fields=["step_yellow_at"], condition=Q(state__in=SWEPT_STATES, alert__lt=Alert.YELLOW),
                         name="event_sweep_yellow"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    # Django's own get_FOO_display rebuilds a dict of every choice on each call, translating each
    # label to hash it; a queue page asks for these on every row. Same answers, looked up directly.
    def get_state_display(self) -> str:
        return _STATE_LABELS.get(self.state, self.state)

    def get_channel_display(self) -> str:
        return _CHANNEL_LABELS.get(self.channel, self.channel)


class Assignment(models.Model):
    """A department's part in a case: the lead, a co-handler, or one called by a summons (吹哨)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("Lead")
        CO = "co", _("Co-handling")
        SUMMONED = "summoned", _("Summoned (吹哨报到)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be signed")
        SIGNED = "signed", _("Signed")
        RETURNED = "returned", _("Returned")
        DONE = "done", _("Done")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey(Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("part"), max_length=16, choices=Role.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now)
    sign_due_at = models.DateTimeField(_("sign by"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("department assignment")
        verbose_name_plural = _("department assignments")
        ordering = ["assigned_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "department"],
                condition=Q(status__in=["pending", "signed"]),
                name="assignment_one_open_per_department",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event.number} → {self.department}"


class Transition(models.Model):
    """The history row every workflow action writes (the case timeline)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="history")
    action = models.CharField(_("action"), max_length=32)
    from_state = models.CharField(_("from"), max_length=24, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=24, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("by"), max_length=128, blank=True, help_text=_("Who, when not a user (system, citizen)."))
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)
    # Set by the follow-up task (notifications, webhooks) once done; rows left unset for long are
    # re-sent by ``dispatch.tasks.follow_ups_resend`` (e.g. after the broker was down).
    followed_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case history")
        verbose_name_plural = _("case history")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["followed_up_at", "at"], name="transition_follow_up")]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.action} {self.from_state}→{self.to_state}"


class Reporter(models.Model):
    """Everyone who reported a case, kept when duplicates are merged, each told the outcome."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reporters")
    source_event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    notified_at = models.DateTimeField(_("told the outcome at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reporter")
        verbose_name_plural = _("reporters")
        ordering = ["reported_at", "pk"]


class Stage(models.TextChoices):
    REPORT = "report", _("As reported")
    BEFORE = "before", _("Before handling")
    AFTER = "after", _("After handling")
    VERIFY = "verify", _("Verification")


class Attachment(models.Model):
    """A photo. ``image`` keeps the upload as received (evidence, staff only); ``display`` and
    ``thumbnail`` are re-encoded without any metadata (no GPS), and are all the public ever sees."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attachments")
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    image = models.FileField(_("original"), upload_to="dispatch/originals/%Y/%m/")
    display = models.FileField(upload_to="dispatch/display/%Y/%m/")
    thumbnail = models.FileField(upload_to="dispatch/thumbs/%Y/%m/")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "pk"]


class SupervisionOrder(models.Model):
    """催办 (a reminder) or 督办单 (a supervision order with its own deadline)."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder (催办)")
        ORDER = "order", _("Supervision order (督办)")
        ESCALATION = "escalation", _("Overdue escalation")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="supervision")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    to_unit = models.ForeignKey(
        AdministrativeUnit, verbose_name=_("supervising level"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("instructions"), blank=True)
    due_at = models.DateTimeField(_("respond by"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    response = models.TextField(_("response"), blank=True)

    class Meta:
        verbose_name = _("supervision")
        verbose_name_plural = _("supervision")
        ordering = ["issued_at", "pk"]
        constraints = [
            # The sweep escalates an overdue step once, even if two sweeps overlap.
            models.UniqueConstraint(
                fields=["event", "kind", "due_at"], condition=Q(kind="escalation"), name="supervision_one_escalation"
            )
        ]


class HotlineCall(models.Model):
    """One 12345 call as the operator recorded it: a case, an answer, or a reason it was not taken."""

    class Outcome(models.TextChoices):
        CASE = "case", _("Taken as a case")
        ANSWERED = "answered", _("Answered at once")
        NOT_TAKEN = "not_taken", _("Not taken as a case")

    class NotTakenReason(models.TextChoices):
        EMERGENCY = "emergency", _("Emergency: transferred to 110/119/120/122")
        STATUTORY = "statutory", _("Has a statutory route (litigation, arbitration, review)")
        PETITION = "petition", _("Already in the petition (信访) process")
        REPEAT = "repeat", _("Repeat without new facts")
        PRIVACY = "privacy", _("State secrets or others' privacy")
        OUTSIDE_REMIT = "outside_remit", _("Outside any unit's remit")
        UNLAWFUL = "unlawful", _("Unlawful or unreasonable request")

    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    caller_name = models.CharField(_("caller"), max_length=64, blank=True)
    caller_phone = models.CharField(_("caller's phone"), max_length=32, blank=True)
    request_type = models.CharField(_("request type"), max_length=16, choices=RequestType.choices)
    summary = models.TextField(_("what the caller said"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    answer = models.TextField(_("answer given"), blank=True)
    not_taken_reason = models.CharField(_("reason not taken"), max_length=16, choices=NotTakenReason.choices, blank=True)
    event = models.OneToOneField(Event, null=True, blank=True, on_delete=models.PROTECT, related_name="hotline_call")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("hotline call")
        verbose_name_plural = _("hotline calls")
        ordering = ["-created_at"]
