"""Dispatch REST API serializers: the shapes that come in and go out, no business logic.

Input serializers refuse fields they do not know and name them, so no extra field can set a case's
state, department, owner, reporter, number or receipt code: those change only through the
workflow action endpoints (``POST events/<id>/actions/<action>/``), which call the same services
as the pages. Ids are turned into rows here (``PrimaryKeyRelatedField``); everything else —
whether the action is allowed, whether the department is active, whether a photo is a photo — is
checked by the services.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dispatch import attachments, clock, display
from dispatch.models import (
    Assignment,
    Attachment,
    ClassKind,
    Event,
    MajorClass,
    MinorClass,
    RequestType,
    Satisfaction,
    SupervisionOrder,
    Transition,
)
from dispatch.selectors import events_visible_to
from dispatch.services import EXTENSION_UNITS
from governance.api.serializers import StrictInputSerializer
from governance.deadlines import TimeLimit
from governance.models import Department
from governance.selectors import units_visible_to
from grids.coords import CRS, convert

# The channels another system may file a report through (citizens, the hotline and the grid
# worker's phone have their own pages); "grid" only for a signed-in grid worker (checked by the view).
API_CHANNELS = [("api", _("Other system (API)")), ("grid", _("Grid worker")), ("walk_in", _("Walk-in")),
                ("iot", _("Video/IoT alert"))]
CATEGORY_CODE = re.compile(r"^(?P<kind>[a-z]+):(?P<major>\d{2})(?P<minor>\d{2})$")


# --- Input: shared pieces ------------------------------------------------------------------------


class StrictInputSchema(OpenApiSerializerExtension):
    """The schema says so too: ``additionalProperties: false``."""

    target_class = StrictInputSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


@extend_schema_field(OpenApiTypes.INT)
class ActiveMinorField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown category: there is no class with id {pk_value}."),
        "incorrect_type": _("Give the category as the id of a minor class (a number)."),
    }

    def get_queryset(self):
        return MinorClass.objects.select_related("major")


class CategoryInput(StrictInputSerializer):
    """A category given as the minor class id (``category``) or as its code (``category_code``)."""

    category = ActiveMinorField(
        required=False, allow_null=True,
        help_text=_("The minor class's id (from GET catalogue/). Give this or category_code, not both."),
    )
    category_code = serializers.CharField(
        required=False, allow_blank=True, max_length=32,
        help_text=_("The class as kind:MMmm — its kind (event, component or governance), the major class's "
                    "two digits and the minor class's two digits, e.g. \"event:0102\". Codes are unique only "
                    "within a kind, so the kind is required."),
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        minor = attrs.pop("category", None)
        code = attrs.pop("category_code", "").strip()
        if minor is not None and code:
            raise serializers.ValidationError({"category_code": [gettext("Give category or category_code, not both.")]})
        if code:
            minor = _minor_by_code(code)
        if minor is not None and not (minor.is_active and minor.major.is_active):
            field = "category_code" if code else "category"
            raise serializers.ValidationError({field: [gettext("This category is no longer in use.")]})
        attrs["minor"] = minor
        return attrs


def _minor_by_code(code: str) -> MinorClass:
    match = CATEGORY_CODE.match(code)
    if match is None or match["kind"] not in ClassKind.values:
        raise serializers.ValidationError(
            {"category_code": [gettext("Write the category code as kind:MMmm, e.g. event:0102.")]}
        )
    minor = (
        MinorClass.objects.select_related("major")
        .filter(major__kind=match["kind"], major__code=match["major"], code=match["minor"])
        .first()
    )
    if minor is None:
        raise serializers.ValidationError(
            {"category_code": [gettext("Unknown category code %(code)s.") % {"code": code}]}
        )
    return minor


class PhotosField(serializers.ListField):
    """Photos as repeated multipart file parts named ``photos``; checked by content by the service."""

    child = serializers.FileField()

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("JPEG, PNG or WebP images as multipart file parts named \"photos\"; "
                                         "checked by content, size-limited, at most 9."))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        """Check the photos now, so a bad one is refused under ``photos``; the service takes them prepared."""
        uploads = super().to_internal_value(data)
        try:
            return attachments.prepare_all(uploads)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


# --- Input: filing a report ----------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class ScopedUnitField(serializers.PrimaryKeyRelatedField):
    """A unit inside the requesting user's jurisdiction."""

    default_error_messages = {
        "does_not_exist": _("Unknown unit, or a unit outside your jurisdiction (id {pk_value})."),
        "incorrect_type": _("Give the unit as its id (a number)."),
    }

    def get_queryset(self):
        return units_visible_to(self.context["request"].user)


class EventReportInputSerializer(CategoryInput):
    """A new report. Only these fields are accepted; anything else (state, department, owner, reporter,
    number, receipt code …) is refused with 400, naming the field."""

    channel = serializers.ChoiceField(
        choices=API_CHANNELS, default="api",
        help_text=_("\"api\" for another system (the default); \"grid\" only for a signed-in grid worker."),
    )
    title = serializers.CharField(default="", allow_blank=True, max_length=120,
                                  help_text=_("Short title; the start of the description if left out."))
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    request_type = serializers.ChoiceField(choices=RequestType.choices, required=False, allow_blank=True)
    lon = serializers.FloatField(required=False, allow_null=True, help_text=_("Longitude in degrees."))
    lat = serializers.FloatField(required=False, allow_null=True, help_text=_("Latitude in degrees."))
    crs = serializers.ChoiceField(
        choices=[c.value for c in CRS], default=CRS.WGS84.value,
        help_text=_("Datum of lon/lat: wgs84 (GPS, the default), gcj02 (AMap, Tencent) or bd09 (Baidu); "
                    "stored as WGS-84."),
    )
    address = serializers.CharField(required=False, allow_blank=True, max_length=255)
    unit = ScopedUnitField(
        required=False, allow_null=True,
        help_text=_("The community (or other unit) the case belongs to, when there is no point; with a point "
                    "outside every grid it says which unit routes it."),
    )
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=64)
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    photos = PhotosField()

    def validate(self, attrs):
        attrs = super().validate(attrs)
        lon, lat = attrs.get("lon"), attrs.get("lat")
        crs = attrs.pop("crs", CRS.WGS84.value)
        if (lon is None) != (lat is None):
            raise serializers.ValidationError({"location": [gettext("Give both longitude and latitude, or neither.")]})
        if lon is not None:
            try:
                attrs["lon"], attrs["lat"] = convert(lon, lat, source=CRS(crs), target=CRS.WGS84)
            except ValueError:
                raise serializers.ValidationError({"location": [
                    gettext("Coordinates out of range: longitude must lie within -180…180 and latitude within "
                            "-90…90 (are they swapped?).")
                ]}) from None
        return attrs


# --- Input: workflow actions ---------------------------------------------------------------------


class ActionInputSerializer(StrictInputSerializer):
    """What every action takes; each action's serializer adds its own fields."""

    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000,
                                 help_text=_("Reason or note; required by some actions (reject, return, handle …)."))
    version = serializers.IntegerField(
        required=False, allow_null=True, min_value=0,
        help_text=_("The case's version as you last read it (GET events/{id}/). Optional but recommended: "
                    "if someone else acted on the case meanwhile, nothing is saved and the answer is 409."),
    )


class RegisterInputSerializer(ActionInputSerializer, CategoryInput):
    """Register (立案), optionally correcting the category."""


@extend_schema_field(OpenApiTypes.INT)
class ActiveDepartmentField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown department (id {pk_value})."),
        "incorrect_type": _("Give the department as its id (a number)."),
    }

    def get_queryset(self):
        return Department.objects.filter(is_active=True)


class DispatchInputSerializer(ActionInputSerializer):
    department = ActiveDepartmentField(
        required=False, allow_null=True,
        help_text=_("Lead department; left out, the routing rules choose it."),
    )
    co_departments = ActiveDepartmentField(many=True, required=False, default=list)


class ExtensionInputSerializer(ActionInputSerializer):
    amount = serializers.IntegerField(min_value=1)
    unit = serializers.ChoiceField(choices=list(EXTENSION_UNITS))


class PhotosActionInputSerializer(ActionInputSerializer):
    photos = PhotosField()


class VerifyInputSerializer(PhotosActionInputSerializer):
    passed = serializers.BooleanField(help_text=_("true closes the case; false sends it back for rework."))


class CallbackInputSerializer(ActionInputSerializer):
    contacted = serializers.BooleanField()
    solved = serializers.BooleanField()
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices)


class DelegateInputSerializer(ActionInputSerializer):
    unit = ScopedUnitField(source="to_unit", help_text=_("The unit below the current centre to hand the case to."))


class SummonInputSerializer(ActionInputSerializer):
    departments = ActiveDepartmentField(many=True, allow_empty=False)


class CoSignInputSerializer(ActionInputSerializer):
    department = ActiveDepartmentField(help_text=_("The co-handling or summoned department you sign for."))


class SuperviseInputSerializer(ActionInputSerializer):
    amount = serializers.IntegerField(min_value=1)
    unit = serializers.ChoiceField(choices=list(EXTENSION_UNITS))


class ListSupervisionInputSerializer(ActionInputSerializer):
    listed = serializers.BooleanField(help_text=_("true lists the case for supervision; false takes it off."))


@extend_schema_field(OpenApiTypes.INT)
class VisibleEventField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown case (id {pk_value})."),
        "incorrect_type": _("Give the case as its id (a number)."),
    }

    def get_queryset(self):
        return events_visible_to(self.context["request"].user)


class MergeInputSerializer(ActionInputSerializer):
    into = VisibleEventField(help_text=_("The case this one repeats."))


@extend_schema_field(OpenApiTypes.INT)
class SupervisionOrderField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {
        "does_not_exist": _("Unknown supervision order (id {pk_value})."),
        "incorrect_type": _("Give the supervision order as its id (a number)."),
    }

    def get_queryset(self):
        return SupervisionOrder.objects.filter(event=self.context["event"])


class RespondInputSerializer(ActionInputSerializer):
    order = SupervisionOrderField(help_text=_("The supervision order answered."))


# --- Input: query parameters ---------------------------------------------------------------------


class CatalogueSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        default="", allow_blank=True,
        help_text=_("Words of the name, keywords or major class, or a four-digit code (at most 30 classes; "
                    "without q, the first 30)."),
    )


# --- Output: the catalogue -----------------------------------------------------------------------


class LimitOutputSerializer(serializers.Serializer):
    amount = serializers.IntegerField(source="limit_amount")
    unit = serializers.CharField(source="limit_unit")
    label = serializers.SerializerMethodField()

    def get_label(self, minor) -> str:
        return clock.limit_label(TimeLimit(minor.limit_amount, minor.limit_unit))


class MinorClassOutputSerializer(serializers.ModelSerializer):
    full_code = serializers.CharField(read_only=True)
    category_code = serializers.SerializerMethodField(help_text=_("What POST events/ takes as category_code."))
    limit = LimitOutputSerializer(source="*")

    class Meta:
        model = MinorClass
        fields = ["id", "code", "full_code", "category_code", "name", "urgency", "track", "self_handling", "limit"]

    def get_category_code(self, minor) -> str:
        return f"{minor.major.kind}:{minor.full_code}"


class MajorClassOutputSerializer(serializers.ModelSerializer):
    minors = MinorClassOutputSerializer(many=True, source="active_minors")

    class Meta:
        model = MajorClass
        fields = ["id", "kind", "code", "name", "minors"]


class MajorRefOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = MajorClass
        fields = ["id", "kind", "code", "name"]


class MinorClassSearchOutputSerializer(MinorClassOutputSerializer):
    major = MajorRefOutputSerializer()

    class Meta(MinorClassOutputSerializer.Meta):
        fields = [*MinorClassOutputSerializer.Meta.fields, "major"]


# --- Output: cases -------------------------------------------------------------------------------


class RefOutputSerializer(serializers.Serializer):
    """A related row named by id and name (unit, grid, department)."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class CategoryRefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_code = serializers.CharField()
    name = serializers.CharField()


class StepClockOutputSerializer(serializers.Serializer):
    """The running step's clock; ``due_at`` is null when the state has no time limit."""

    step = serializers.CharField()
    label = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(source="step_started_at", allow_null=True)
    yellow_at = serializers.DateTimeField(source="step_yellow_at", allow_null=True)
    due_at = serializers.DateTimeField(source="step_due_at", allow_null=True)
    paused_at = serializers.DateTimeField(allow_null=True, help_text=_("Set while the clock is paused."))
    alert = serializers.IntegerField(help_text=_("0 on time, 1 yellow warning, 2 overdue (set by the sweep)."))
    alert_label = serializers.CharField(source="get_alert_display")
    rule = serializers.CharField(source="step_rule", help_text=_("Where the time limit comes from."))
    limit = serializers.SerializerMethodField()

    def get_label(self, event) -> str:
        return str(clock.STEP_LABELS.get(event.step, event.step))

    @extend_schema_field(LimitOutputSerializer(allow_null=True))
    def get_limit(self, event) -> dict | None:
        if not (event.step_limit_amount and event.step_limit_unit):
            return None
        limit = TimeLimit(event.step_limit_amount, event.step_limit_unit)
        return {"amount": limit.amount, "unit": limit.unit.value, "label": clock.limit_label(limit)}


class EventListOutputSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")
    channel_label = serializers.CharField(source="get_channel_display")
    category = CategoryRefOutputSerializer(source="minor", allow_null=True)
    unit = RefOutputSerializer()
    grid = RefOutputSerializer(allow_null=True)
    department = RefOutputSerializer(allow_null=True)
    step_due_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Event
        fields = [
            "id", "number", "title", "state", "state_label", "version", "channel", "channel_label", "request_type",
            "category", "urgency", "track", "address", "lon", "lat", "unit", "grid", "outside_grids", "department",
            "step", "step_due_at", "alert", "listed_supervision", "created_at", "updated_at", "closed_at",
        ]


class AssignmentOutputSerializer(serializers.ModelSerializer):
    department = RefOutputSerializer()
    role_label = serializers.CharField(source="get_role_display")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Assignment
        fields = ["id", "department", "role", "role_label", "status", "status_label", "assigned_at", "sign_due_at",
                  "signed_at", "note"]


class TransitionOutputSerializer(serializers.ModelSerializer):
    action_label = serializers.SerializerMethodField()
    actor = serializers.SerializerMethodField(help_text=_("Who acted: a person's name, or the platform."))

    class Meta:
        model = Transition
        fields = ["id", "action", "action_label", "from_state", "to_state", "at", "actor", "note", "data"]

    def get_action_label(self, row) -> str:
        return display.action_label(row.action)

    def get_actor(self, row) -> str:
        return str(row.actor) if row.actor_id else row.actor_label


class PhotoOutputSerializer(serializers.ModelSerializer):
    stage_label = serializers.CharField(source="get_stage_display")
    url = serializers.SerializerMethodField(help_text=_("The photo re-encoded without metadata."))

    class Meta:
        model = Attachment
        fields = ["id", "stage", "stage_label", "url", "width", "height", "uploaded_at"]

    def get_url(self, photo) -> str:
        path = reverse("dispatch:photo", args=[photo.pk, "display"])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AllowedActionOutputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text=_("The {action} of POST events/{id}/actions/{action}/."))
    label = serializers.CharField()


class CaseRefOutputSerializer(serializers.Serializer):
    """Another case, by id and number."""

    id = serializers.IntegerField()
    number = serializers.CharField()


class EventDetailOutputSerializer(EventListOutputSerializer):
    """One case as the requesting user may see it, with what that user may do to it now.

    The view sets ``allowed_actions`` on the case; the receipt code is shown only to whoever
    filed the report (it lets its holder rate the outcome as the reporter)."""

    owner_unit = RefOutputSerializer()
    clock = StepClockOutputSerializer(source="*")
    merged_into = serializers.SerializerMethodField()
    receipt_code = serializers.SerializerMethodField()
    assignments = AssignmentOutputSerializer(many=True)
    timeline = TransitionOutputSerializer(many=True, source="history")
    photos = PhotoOutputSerializer(many=True, source="attachments")
    allowed_actions = AllowedActionOutputSerializer(many=True)

    class Meta(EventListOutputSerializer.Meta):
        fields = [
            *EventListOutputSerializer.Meta.fields, "description", "owner_unit", "contact_name", "contact_phone",
            "receipt_code", "self_handled", "merged_into", "rework_count", "callback_contacted", "callback_solved",
            "satisfaction", "rating_comment", "dispatched_at", "handled_at", "handling_due_at", "clock",
            "assignments", "timeline", "photos", "allowed_actions",
        ]

    @extend_schema_field(CaseRefOutputSerializer(allow_null=True, help_text=_("The case this one was merged into.")))
    def get_merged_into(self, event) -> dict | None:
        target = event.merged_into
        return None if target is None else {"id": target.pk, "number": target.number}

    def get_receipt_code(self, event) -> str | None:
        request = self.context.get("request")
        user_id = getattr(getattr(request, "user", None), "pk", None)
        return event.receipt_code if user_id is not None and event.reporter_id == user_id else None

