"""Grids (网格), their rosters of grid workers, patrols and household visits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.models import AdministrativeUnit, Department
from grids.codes import GridCodeScheme


class GridType(models.TextChoices):
    BASIC = "basic", _("Basic grid")
    DEDICATED = "dedicated", _("Dedicated grid")
    SPECIALISED = "specialised", _("Specialised grid")


class DedicatedKind(models.TextChoices):
    CAMPUS = "campus", _("Campus")
    HOSPITAL = "hospital", _("Hospital")
    MARKET = "market", _("Market")
    PARK = "park", _("Park")
    INDUSTRIAL_PARK = "industrial_park", _("Industrial park")
    OTHER = "other", _("Other")


class Grid(models.Model):
    """The smallest unit of responsibility, inside exactly one community/village.

    The boundary is GeoJSON (Polygon or MultiPolygon) in WGS-84; the bounding box, centroid and area
    are derived from it by ``grids.services`` whenever the boundary is written, for map queries.
    """

    community = models.ForeignKey(
        AdministrativeUnit, verbose_name=_("community/village"), on_delete=models.PROTECT, related_name="grids"
    )
    name = models.CharField(_("name"), max_length=128)
    grid_type = models.CharField(_("type"), max_length=16, choices=GridType.choices, default=GridType.BASIC)
    dedicated_kind = models.CharField(_("dedicated to"), max_length=32, choices=DedicatedKind.choices, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department (specialised grids)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="specialised_grids",
    )
    code = models.CharField(_("grid code"), max_length=20, unique=True)
    code_scheme = models.CharField(_("code scheme"), max_length=16, choices=[(s.value, s.name) for s in GridCodeScheme])
    sequence = models.PositiveSmallIntegerField(_("sequence in community"))
    boundary = models.JSONField(_("boundary (GeoJSON, WGS-84)"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lon = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    centroid_lon = models.FloatField(null=True, blank=True, editable=False)
    centroid_lat = models.FloatField(null=True, blank=True, editable=False)
    area_m2 = models.FloatField(_("area (m²)"), null=True, blank=True, editable=False)
    households = models.PositiveIntegerField(_("households"), default=0)
    residents = models.PositiveIntegerField(_("residents"), default=0)
    buildings = models.PositiveIntegerField(_("buildings"), default=0)
    businesses = models.PositiveIntegerField(_("businesses"), default=0)
    key_places = models.PositiveIntegerField(_("key places"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["code"]
        indexes = [models.Index(fields=["min_lon", "min_lat"]), models.Index(fields=["community", "sequence"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class GridRole(models.TextChoices):
    """Positions in a grid team: the "3 + 2 + N" scheme and the "一长五员" scheme."""

    LEADER = "leader", _("Grid leader")
    POLICE = "police", _("Community police officer")
    FULL_TIME = "full_time", _("Full-time grid worker")
    INSTRUCTOR = "instructor", _("Grid instructor")
    LIAISON = "liaison", _("Department liaison")
    PART_TIME = "part_time", _("Part-time grid worker")
    SUPERVISOR = "supervisor", _("Inspector (督查员)")
    INFORMANT = "informant", _("Information officer (信息员)")
    PATROLLER = "patroller", _("Patroller (巡查员)")


class GridMembership(models.Model):
    """A person's place on a grid's roster, for a period; ended rows are kept as history."""

    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.PROTECT, related_name="grid_memberships"
    )
    grid_role = models.CharField(_("position"), max_length=16, choices=GridRole.choices)
    phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    started_on = models.DateField(_("from"), default=timezone.localdate)
    ended_on = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("grid team member")
        verbose_name_plural = _("grid team")
        ordering = ["grid", "grid_role", "started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "user", "grid_role"],
                condition=Q(ended_on__isnull=True),
                name="membership_one_open_per_grid_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_grid_role_display()} · {self.grid.name}"


class PatrolStatus(models.TextChoices):
    OPEN = "open", _("In progress")
    FINISHED = "finished", _("Finished")


class Patrol(models.Model):
    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="patrols")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("grid worker"), on_delete=models.PROTECT, related_name="patrols"
    )
    status = models.CharField(_("status"), max_length=16, choices=PatrolStatus.choices, default=PatrolStatus.OPEN)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    distance_m = models.FloatField(_("distance (m)"), default=0)
    coverage = models.FloatField(_("share of grid covered"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["worker"], condition=Q(status="open"), name="patrol_one_open_per_worker"
            )
        ]

    def __str__(self) -> str:
        return f"{self.worker} · {self.grid.name} · {self.started_at:%Y-%m-%d %H:%M}"


class PatrolPoint(models.Model):
    """A GPS fix of a patrol. ``seq`` is the phone's own counter, so a re-sent point is not stored twice."""

    patrol = models.ForeignKey(Patrol, on_delete=models.CASCADE, related_name="points")
    seq = models.PositiveIntegerField()
    lon = models.FloatField()
    lat = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["patrol", "seq"]
        constraints = [models.UniqueConstraint(fields=["patrol", "seq"], name="patrol_point_unique_seq")]


class VisitPurpose(models.TextChoices):
    ELDERLY_ALONE = "elderly_alone", _("Care visit: elderly living alone")
    DISABLED = "disabled", _("Care visit: person with disabilities")
    LEFT_BEHIND = "left_behind", _("Care visit: left-behind children or elderly")
    HARDSHIP = "hardship", _("Care visit: household in hardship")
    SPECIAL_GROUP = "special_group", _("Follow-up of a special group")
    INFORMATION = "information", _("Information collection")
    POLICY = "policy", _("Policy publicity")
    ERRAND = "errand", _("Errand service (代办)")
    DISPUTE = "dispute", _("Dispute or hazard check")
    OTHER = "other", _("Other")


class VisitOutcome(models.TextChoices):
    ALL_WELL = "all_well", _("All well")
    NEEDS_FOLLOW_UP = "needs_follow_up", _("Needs follow-up")
    REFERRED = "referred", _("Referred to a department")
    NOBODY_HOME = "nobody_home", _("Nobody at home")


class Visit(models.Model):
    """A household visit (入户走访). The household is described, not identified: no ID numbers here."""

    grid = models.ForeignKey(Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="visits")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("grid worker"), on_delete=models.PROTECT, related_name="visits"
    )
    household = models.CharField(_("household"), max_length=128, help_text=_("e.g. building 3, unit 2, room 401"))
    purpose = models.CharField(_("purpose"), max_length=32, choices=VisitPurpose.choices)
    outcome = models.CharField(_("outcome"), max_length=32, choices=VisitOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    visited_at = models.DateTimeField(_("visited at"), default=timezone.now)
    follow_up_on = models.DateField(_("follow up on"), null=True, blank=True)
    follow_up_done_at = models.DateTimeField(_("follow-up done at"), null=True, blank=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    class Meta:
        verbose_name = _("household visit")
        verbose_name_plural = _("household visits")
        ordering = ["-visited_at"]
        indexes = [models.Index(fields=["worker", "follow_up_on"])]

    def __str__(self) -> str:
        return f"{self.household} · {self.get_purpose_display()} · {self.visited_at:%Y-%m-%d}"
