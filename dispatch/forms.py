"""Forms of the intake pages (grid worker, citizen, hotline). Shape and input checks only: the rules
(what a category allows, where a point belongs, what an outcome needs) live in ``dispatch.services``,
whose ``ValidationError`` dicts the views put back on these forms' fields (``SERVICE_FIELDS``)."""

from __future__ import annotations

import re
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy as _

from dispatch import attachments
from dispatch.selectors import active_minor_classes
from dispatch.clock import limit_label
from dispatch.models import HotlineCall, MinorClass, RequestType, Satisfaction, Urgency
from governance.deadlines import TimeLimit
from governance.models import AdministrativeUnit, UnitLevel
from grids.coords import validate_lonlat

# Where a service's error key is shown on the intake forms.
SERVICE_FIELDS = {"location": "lon", "category": "category", "title": "title", "photos": "after_photos",
                  "note": "note", "request_type": "request_type", "summary": "summary", "outcome": "outcome",
                  "answer": "answer", "not_taken_reason": "not_taken_reason", "satisfaction": "satisfaction"}


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the fields it names (unknown keys: on the whole form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, messages in error.message_dict.items():
        name = SERVICE_FIELDS.get(key, key)
        form.add_error(name if name in form.fields else None, messages)


# --- Photos ----------------------------------------------------------------------------------------


class PhotoInput(forms.FileInput):
    """A camera-first file input for several photos."""

    allow_multiple_selected = True

    def __init__(self, attrs=None):
        super().__init__({"accept": "image/*", "multiple": True, **(attrs or {})})


class PhotosField(forms.Field):
    """Photos checked by their content (``attachments.prepare``); cleans to ``PreparedPhoto``s, which
    the services take as they are, so each photo is decoded once and a bad one is named on its field."""

    widget = PhotoInput

    def __init__(self, *, camera: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        if camera:
            self.widget.attrs["capture"] = "environment"

    def to_python(self, data):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [f for f in files if f]

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def clean(self, data):
        files = super().clean(data)
        try:
            return attachments.prepare_all(files)
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def bound_data(self, data, initial):
        return initial  # a file input cannot be re-filled; the page asks for the photos again


# --- Category ------------------------------------------------------------------------------------


class CategorySelect(forms.Select):
    """Options carry what the picker script needs (may it be handled on the spot, is it urgent)."""

    def __init__(self, *args, minors: dict[str, MinorClass] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.minors = minors or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        minor = self.minors.get(str(value))
        if minor is not None:
            option["attrs"]["data-self"] = "1" if minor.self_handling else "0"
            option["attrs"]["data-urgent"] = "1" if minor.urgency == Urgency.URGENT else "0"
            option["attrs"]["data-limit"] = limit_label(TimeLimit(minor.limit_amount, minor.limit_unit))
        return option


class CategoryField(forms.ChoiceField):
    """A minor class, offered grouped by its major class (the plain <select> when scripts fail)."""

    default_error_messages = {
        "invalid_choice": _("Choose a category from the list; “%(value)s” is not one of them."),
    }

    def __init__(self, *, empty_label, **kwargs):
        super().__init__(**kwargs)
        rows = list(active_minor_classes())
        self.minors = {str(m.pk): m for m in rows}
        groups: dict[str, list] = {}
        for minor in rows:
            groups.setdefault(f"{minor.major.code} {minor.major.name}", []).append(
                (str(minor.pk), f"{minor.full_code} {minor.name}")
            )
        self.choices = [("", empty_label), *groups.items()]
        self.widget = CategorySelect(minors=self.minors, choices=self.choices)

    def clean(self, value):
        value = super().clean(value)
        return self.minors.get(value) if value else None


# --- Location --------------------------------------------------------------------------------------


class UnitChoiceField(forms.ModelChoiceField):
    """Communities (and streets), each named with the unit above it."""

    def label_from_instance(self, unit):
        return f"{unit.parent.name} · {unit.name}" if unit.parent_id else unit.name


def point_error(lon: float, lat: float) -> str | None:
    """Why (lon, lat) is not a WGS-84 point, in the reader's language; None when it is one."""
    try:
        validate_lonlat(lon, lat)
    except ValueError:
        if not -180 <= lon <= 180:
            return gettext("Longitude %(lon)s is out of range (−180 to 180). Are longitude and latitude "
                           "swapped?") % {"lon": lon}
        if not -90 <= lat <= 90:
            return gettext("Latitude %(lat)s is out of range (−90 to 90). Are longitude and latitude "
                           "swapped?") % {"lat": lat}
        return gettext("The coordinates are not numbers.")
    return None


class LocationMixin:
    """A WGS-84 point from GPS or a map pick (lon/lat), both or neither, within range."""

    def check_point(self, cleaned):
        lon, lat = cleaned.get("lon"), cleaned.get("lat")
        if (lon is None) != (lat is None):
            self.add_error("lon", _("Give both longitude and latitude, or neither."))
        elif lon is not None:
            problem = point_error(lon, lat)
            if problem:
                self.add_error("lon", problem)

    @property
    def location_errors(self):
        return [*self.errors.get("lon", []), *self.errors.get("lat", [])]


def point_fields():
    attrs = {"step": "any", "inputmode": "decimal"}
    return (
        forms.FloatField(label=_("Longitude"), required=False, widget=forms.NumberInput(attrs=attrs)),
        forms.FloatField(label=_("Latitude"), required=False, widget=forms.NumberInput(attrs=attrs)),
    )


def _form_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError):
        raise ValidationError(_("This form has expired; please fill it in again.")) from None


class IdempotentForm(forms.Form):
    """Carries a key made when the form is rendered: a repeated submission files one case."""

    idem = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idem", str(uuid.uuid4()))
        super().__init__(*args, **kwargs)

    def clean_idem(self):
        return _form_uuid(self.cleaned_data["idem"])

    @property
    def idempotency_key(self) -> str:
        return f"form:{self.cleaned_data['idem']}"


# --- The grid worker's report ------------------------------------------------------------------------


class ReportForm(LocationMixin, IdempotentForm):
    title = forms.CharField(label=_("What is it?"), max_length=120,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. rubbish piled by the gate")}))
    description = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = PhotosField(label=_("Photos"), camera=True)
    lon, lat = point_fields()
    unit = UnitChoiceField(label=_("Community"), queryset=AdministrativeUnit.objects.none(), required=False,
                           empty_label=_("— from the point —"),
                           help_text=_("Only needed when there is no GPS fix or map point."))
    address = forms.CharField(label=_("Address or landmark"), max_length=255, required=False)
    self_handled = forms.BooleanField(label=_("I handled it on the spot (自行处置)"), required=False)
    after_photos = PhotosField(label=_("Photos after handling"), camera=True)
    note = forms.CharField(label=_("What I did"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        # Declared here, not on the class, so the catalogue is read when the form is made.
        self.fields["category"] = CategoryField(label=_("Category"), empty_label=_("Choose the category"))
        self.order_fields(["title", "category", "description", "photos", "lon", "lat", "unit", "address"])
        self.fields["unit"].queryset = units

    def clean(self):
        cleaned = super().clean()
        self.check_point(cleaned)
        return cleaned


# --- The citizen's report --------------------------------------------------------------------------

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


class CitizenReportForm(LocationMixin, IdempotentForm):
    title = forms.CharField(label=_("What is the problem?"), max_length=120,
                            widget=forms.TextInput(attrs={"placeholder": _("e.g. a broken street lamp")}))
    description = forms.CharField(label=_("More details (optional)"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    lon, lat = point_fields()
    address = forms.CharField(label=_("Address or landmark"), max_length=255, required=False)
    community = UnitChoiceField(label=_("Community"), required=False, empty_label=_("Choose your community"),
                                queryset=AdministrativeUnit.objects.none())
    photos = PhotosField(label=_("Photos (optional)"))
    name = forms.CharField(label=_("Your name (optional)"), max_length=64, required=False)
    phone = forms.CharField(label=_("Your phone (optional)"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
                            help_text=_("Only staff see it, to call you back about this report."))
    # A field people never see; bots that fill in every field give themselves away.
    website = forms.CharField(required=False, widget=forms.TextInput(
        attrs={"tabindex": "-1", "autocomplete": "off"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"] = CategoryField(label=_("Kind of problem (optional)"), required=False,
                                                empty_label=_("Not sure"))
        self.order_fields(["title", "category", "description", "lon", "lat", "address", "community", "photos"])
        self.fields["community"].queryset = (
            AdministrativeUnit.objects.filter(level=UnitLevel.VILLAGE).select_related("parent")
            .order_by("parent__code", "code")
        )

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not PHONE.match(phone):
            raise ValidationError(_("Enter a phone number of digits only, e.g. 13800000000."))
        return phone

    def clean(self):
        cleaned = super().clean()
        self.check_point(cleaned)
        has_point = cleaned.get("lon") is not None and cleaned.get("lat") is not None
        if not has_point and not self.location_errors and not (cleaned.get("address") and cleaned.get("community")):
            self.add_error("address", _("Say where: use your location or the map, or give the address "
                                        "and choose the community."))
        return cleaned


class RatingForm(forms.Form):
    satisfaction = forms.ChoiceField(label=_("How satisfied are you with the result?"),
                                     choices=Satisfaction.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Comment (optional)"), max_length=500, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))


class TrackForm(forms.Form):
    code = forms.CharField(label=_("Receipt code"), max_length=32,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                                         "placeholder": "ABCD-EFGH-JK"}))


# --- The hotline -------------------------------------------------------------------------------------

# What the operator reads to a caller whose call is not taken as a case (接诉即办: the reason is told).
REASON_SCRIPTS = {
    HotlineCall.NotTakenReason.EMERGENCY: _(
        "This is an emergency. Please call 110 (police), 119 (fire), 120 (ambulance) or 122 (traffic "
        "accident) now; I can also put you through."),
    HotlineCall.NotTakenReason.STATUTORY: _(
        "Your matter has its own legal route (a lawsuit, arbitration or administrative review). The hotline "
        "cannot take it as a case; please apply through that route."),
    HotlineCall.NotTakenReason.PETITION: _(
        "Your matter is already in the petition (信访) process. Please follow it up with the office "
        "handling your petition."),
    HotlineCall.NotTakenReason.REPEAT: _(
        "We already have this matter on record and it has been answered. Without new facts we cannot "
        "open it again; call us when something new happens."),
    HotlineCall.NotTakenReason.PRIVACY: _(
        "Your request concerns state secrets or other people's privacy, which we may not handle or disclose."),
    HotlineCall.NotTakenReason.OUTSIDE_REMIT: _(
        "This matter is outside the remit of every government unit, so we cannot take it as a case."),
    HotlineCall.NotTakenReason.UNLAWFUL: _(
        "We cannot take this request as a case because what it asks for is unlawful or unreasonable."),
}


class ReasonSelect(forms.RadioSelect):
    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["script"] = REASON_SCRIPTS.get(value, "")
        return option


class HotlineForm(LocationMixin, IdempotentForm):
    caller_name = forms.CharField(label=_("Caller"), max_length=64, required=False)
    caller_phone = forms.CharField(label=_("Caller's phone"), max_length=32, required=False,
                                   widget=forms.TextInput(attrs={"inputmode": "tel"}))
    request_type = forms.ChoiceField(label=_("Request type"), choices=RequestType.choices, widget=forms.RadioSelect)
    summary = forms.CharField(label=_("What the caller said"), widget=forms.Textarea(attrs={"rows": 4}))
    outcome = forms.ChoiceField(label=_("Outcome of the call"), choices=HotlineCall.Outcome.choices,
                                widget=forms.RadioSelect)
    answer = forms.CharField(label=_("Answer given"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    not_taken_reason = forms.ChoiceField(label=_("Reason not taken"), required=False,
                                         choices=HotlineCall.NotTakenReason.choices,
                                         widget=ReasonSelect(attrs={"class": "reasons"}))
    unit = UnitChoiceField(label=_("Community or street"), queryset=AdministrativeUnit.objects.none(),
                           required=False, empty_label=_("— from the map point —"))
    lon, lat = point_fields()
    address = forms.CharField(label=_("Address"), max_length=255, required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"] = CategoryField(label=_("Category"), required=False,
                                                empty_label=_("Not sure (the centre will choose)"))
        self.fields["unit"].queryset = units

    def clean(self):
        cleaned = super().clean()
        self.check_point(cleaned)
        return cleaned
