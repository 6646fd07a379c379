"""The shared core: people, administrative units, departments, roles, audit, calendar, parameters."""

from __future__ import annotations

import datetime
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.roles import DEPARTMENT_ROLES, Role

division_code_validator = RegexValidator(r"^\d{12}$", _("A division code has exactly 12 digits."))


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username


class UnitLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("District/county")
    TOWNSHIP = "township", _("Street/township")
    VILLAGE = "village", _("Community/village")


LEVEL_DEPTH = {level: depth for depth, level in enumerate(UnitLevel.values)}


class AdministrativeUnit(models.Model):
    """A node of the division tree: province → city → district/county → street/township → community/village.

    ``path`` is the chain of primary keys from the root ("/1/5/23/"): a unit's subtree is every row
    whose path starts with its own, which is how jurisdiction scoping stays a single indexed query.
    Keys, not codes, make up the path so that a code revision does not touch the subtree.
    """

    code = models.CharField(_("division code"), max_length=12, unique=True, validators=[division_code_validator])
    name = models.CharField(_("name"), max_length=128)
    level = models.CharField(_("level"), max_length=16, choices=UnitLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(_("path"), max_length=255, db_index=True, editable=False)
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    is_synthetic = models.BooleanField(
        _("synthetic"), default=False, help_text=_("Generated demo or benchmark data, not a real division.")
    )

    class Meta:
        verbose_name = _("administrative unit")
        verbose_name_plural = _("administrative units")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # The path is an invariant of the row (its place in the tree), kept here so that admin
        # edits, services and imports cannot disagree; moving a unit re-paths its subtree.
        old_path = self.path
        super().save(*args, **kwargs)
        new_path = (self.parent.path if self.parent_id else "/") + f"{self.pk}/"
        if new_path != old_path:
            type(self).objects.filter(pk=self.pk).update(path=new_path)
            self.path = new_path
            if old_path:
                for child in self.children.all():
                    child.save(update_fields=["path"])

    @property
    def kind_label(self) -> str:
        """The unit's kind as the statistical code tells it (街道, 镇, 乡; 社区, 村)."""
        if self.level == UnitLevel.TOWNSHIP:
            n = int(self.code[6:9])
            return str(_("Street") if n < 100 else _("Town") if n < 200 else _("Township"))
        if self.level == UnitLevel.VILLAGE:
            n = int(self.code[9:12])
            return str(_("Community") if n < 200 else _("Village") if n < 400 else _("Village-level unit"))
        return self.get_level_display()

    def lineage(self) -> list[AdministrativeUnit]:
        """This unit and the units above it, nearest first (community, street, district, …)."""
        return [self, *reversed(self.ancestors())]

    def ancestors(self) -> list[AdministrativeUnit]:
        ids = [int(pk) for pk in self.path.strip("/").split("/")[:-1] if pk]
        by_id = AdministrativeUnit.objects.defer("boundary").in_bulk(ids)  # names and paths, not polygons
        return [by_id[pk] for pk in ids if pk in by_id]


class UnitCodeChange(models.Model):
    """History of a unit's statistical code: the codes are revised every year."""

    unit = models.ForeignKey(AdministrativeUnit, on_delete=models.CASCADE, related_name="code_changes")
    old_code = models.CharField(_("old code"), max_length=12)
    new_code = models.CharField(_("new code"), max_length=12)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("division code change")
        verbose_name_plural = _("division code changes")
        ordering = ["-changed_at"]


class DepartmentKind(models.TextChoices):
    BUREAU = "bureau", _("District/county bureau")
    STREET_OFFICE = "street_office", _("Street/township office")
    POLICE_STATION = "police_station", _("Police station")
    COMMUNITY = "community", _("Community/village committee")
    UTILITY = "utility", _("Public utility or enterprise")
    OTHER = "other", _("Other")


class Department(models.Model):
    """A functional department (职能部门) that handles work: a district bureau, a street office, …"""

    name = models.CharField(_("name"), max_length=128)
    short_name = models.CharField(_("short name"), max_length=32, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=DepartmentKind.choices, default=DepartmentKind.BUREAU)
    unit = models.ForeignKey(
        AdministrativeUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="departments"
    )
    supervisor = models.ForeignKey(
        "self",
        verbose_name=_("supervising department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subordinates",
        help_text=_("The department above it, e.g. the district public security bureau for a police station."),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["unit__code", "name"]
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="department_unique_name_in_unit")]

    def __str__(self) -> str:
        return self.name

    @property
    def supervising_level(self) -> str:
        """The level whose command centre supervises this department: the level of its unit."""
        return self.unit.get_level_display()


class RoleAssignmentQuerySet(models.QuerySet):
    def active(self, on: datetime.date | None = None):
        """Assignments in force on ``on`` (today): started, and not yet ended (``ended_on`` is exclusive)."""
        on = on or timezone.localdate()
        return self.filter(started_on__lte=on).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))


class RoleAssignment(models.Model):
    """A person holding a role within a unit or a department, for a period.

    Ended assignments are kept (``ended_on``, the first day no longer held) so that history shows who was responsible when.
    Object permissions (django-guardian) follow the active assignments; see services.role_assign.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="assignments"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    unit = models.ForeignKey(
        AdministrativeUnit,
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    started_on = models.DateField(_("from"), default=timezone.localdate)
    ended_on = models.DateField(
        _("ended on"), null=True, blank=True, help_text=_("The first day the role is no longer held.")
    )

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["user", "role"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(unit__isnull=False, department__isnull=True) | Q(unit__isnull=True, department__isnull=False)),
                name="assignment_exactly_one_jurisdiction",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.jurisdiction}"

    @property
    def jurisdiction(self) -> AdministrativeUnit | Department | None:
        return self.department if self.role in DEPARTMENT_ROLES else self.unit

    @property
    def is_active(self) -> bool:
        return self.started_on <= timezone.localdate() and (self.ended_on is None or self.ended_on > timezone.localdate())


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit trail is append-only.")

    def delete(self):
        raise PermissionError("The audit trail is append-only.")


class AuditEntry(models.Model):
    """One row of the append-only audit trail: who did what to which record, when and from where."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # people with a history are deactivated, not deleted
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=100, db_index=True)
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    object_id = models.CharField(_("record id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("record"), max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True, help_text=_("field: [old, new]"))
    data = models.JSONField(_("data"), default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit trail is append-only.")


class CalendarDayKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday (day off)")
    WORKDAY = "workday", _("Make-up working day")


class CalendarDay(models.Model):
    """An exception to the weekly pattern: a public holiday, or a weekend day worked in its place (调休).

    The administrator enters each year's dates from the State Council's holiday notice.
    """

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CalendarDayKind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True, help_text=_("e.g. National Day"))

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("working calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}".strip()


class WorkingPeriod(models.Model):
    """One period of office hours on a working day (e.g. 08:30–12:00 and 14:00–17:30)."""

    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        verbose_name = _("working period")
        verbose_name_plural = _("working hours")
        ordering = ["start"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="period_end_after_start")]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


class Parameter(models.Model):
    """An administrator's override of a [practice] setting declared in code (governance.params)."""

    key = models.CharField(_("key"), max_length=100, unique=True)
    value = models.JSONField(_("value"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("parameter")
        verbose_name_plural = _("parameters")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Notification(models.Model):
    """One message in a person's in-app inbox. Email and webhook copies are sent by Celery
    (``governance.notifications``); the inbox row is the record that it was sent."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=255, blank=True)
    kind = models.CharField(_("kind"), max_length=64, blank=True, help_text=_("e.g. dispatch.event.dispatched"))
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.title


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class NotificationWebhook(models.Model):
    """Another system told of notifications by an HTTP POST (JSON, signed with HMAC-SHA256).

    A webhook for a department receives what is sent to that department's handlers; one for a unit
    what is sent to people holding a role in the unit or under it; one for neither receives every
    notification. ``kinds`` narrows it to some kinds of message.
    """

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(
        _("address"),
        max_length=500,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("http:// or https:// address that receives the POST."),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=128,
        default=new_webhook_secret,
        help_text=_("The X-GridGov-Signature header is sha256=HMAC-SHA256 of the body with this secret."),
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    unit = models.ForeignKey(
        AdministrativeUnit, verbose_name=_("unit"), null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    kinds = models.CharField(
        _("kinds"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated kinds or kind prefixes (e.g. dispatch.event.overdue, dispatch.); empty: all."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("notification webhook")
        verbose_name_plural = _("notification webhooks")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        prefixes = [k.strip() for k in self.kinds.split(",") if k.strip()]
        return not prefixes or any(kind == p or (p.endswith(".") and kind.startswith(p)) for p in prefixes)


# --- REST API clients, incremental sync and client webhooks (governance.api) -----------------------


class ApiClient(models.Model):
    """Another system using the REST API. It acts as ``account``: it sees and may do what that
    account's roles allow (the same selectors as the pages), narrowed further by ``scopes``."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("acts as"), on_delete=models.PROTECT, related_name="api_clients",
        help_text=_("The account whose roles and jurisdiction the client's requests have."),
    )
    scopes = models.JSONField(_("scopes"), default=list, blank=True,
                              help_text=_("What the client's tokens may do; see the API documentation."))
    rate_limit = models.CharField(
        _("rate limit"), max_length=20, blank=True,
        validators=[RegexValidator(r"^\d+/(second|minute|hour|day)$", _("Write it as number/second|minute|hour|day."))],
        help_text=_("Requests allowed, e.g. 600/minute; empty: the default (API_CLIENT_RATE)."),
    )
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token of a client. Only a hash is kept; the token is shown once when issued."""

    client = models.ForeignKey(ApiClient, verbose_name=_("client"), on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True, editable=False,
                              help_text=_("The token's first characters, to tell tokens apart."))
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("issued by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    def usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class CurrentTransactionId(models.Func):
    """The writing transaction's id on PostgreSQL (0 elsewhere): orders changes by commit safety."""

    output_field = models.BigIntegerField()
    template = "0"

    def as_postgresql(self, compiler, connection, **extra):
        return "(pg_current_xact_id()::text::bigint)", []

    def as_sql(self, compiler, connection, **extra):
        return "0", []


class ChangeRecord(models.Model):
    """One change to a synced object (governance.api.changes): the journal the sync feed reads.

    ``txid`` is the writing transaction's id, filled by the database; the feed only reads changes
    of transactions that have finished, so a client never skips a change that commits late.
    The place columns record where the object was, so a case that leaves a client's jurisdiction
    (or is deleted) is reported to that client as removed, and to nobody else.
    """

    class Op(models.TextChoices):
        UPSERT = "upsert", _("created or changed")
        DELETE = "delete", _("deleted")

    id = models.BigAutoField(primary_key=True)
    model = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    op = models.CharField(max_length=8, choices=Op.choices, default=Op.UPSERT)
    txid = models.BigIntegerField(db_default=CurrentTransactionId())
    at = models.DateTimeField(default=timezone.now)
    unit_path = models.CharField(max_length=255, blank=True)
    owner_path = models.CharField(max_length=255, blank=True)
    department_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("change record")
        verbose_name_plural = _("change records")
        indexes = [
            models.Index(fields=["model", "txid", "id"], name="change_feed"),
            models.Index(fields=["model", "object_id", "txid", "id"], name="change_object"),
        ]


class WebhookEvent(models.TextChoices):
    """What a client may subscribe to. Later apps add theirs here."""

    CASE_CREATED = "case.created", _("Case created")
    CASE_CHANGED = "case.changed", _("Case changed (any step)")
    CASE_DISPATCHED = "case.dispatched", _("Case dispatched to a department")
    CASE_HANDLED = "case.handled", _("Case handled")
    CASE_CLOSED = "case.closed", _("Case closed")
    CASE_OVERDUE = "case.overdue", _("Case overdue")
    CASE_MERGED = "case.merged", _("Case merged into another")


class WebhookSubscription(models.Model):
    """A client's subscription: signed POSTs to ``url`` for the chosen event types, for the objects
    the client may see."""

    client = models.ForeignKey(ApiClient, verbose_name=_("client"), on_delete=models.CASCADE,
                               related_name="subscriptions")
    url = models.URLField(_("address"), max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    events = models.JSONField(_("event types"), default=list)
    secret = models.CharField(_("signing secret"), max_length=128, default=new_webhook_secret)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One POST of one event to one subscription, with every attempt's outcome. A replay is a new
    delivery of the same payload pointing at the one it repeats."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(WebhookSubscription, verbose_name=_("subscription"), on_delete=models.CASCADE,
                                     related_name="deliveries")
    event_type = models.CharField(_("event type"), max_length=40)
    object_id = models.BigIntegerField(_("object"), null=True, blank=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    response_status = models.PositiveSmallIntegerField(_("last response status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    replay_of = models.ForeignKey("self", verbose_name=_("replay of"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="replays")

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["subscription", "-created_at"], name="delivery_recent")]
