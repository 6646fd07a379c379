"""Forms for the workflow actions on the case page, and for bulk actions on the workbench.

Each form only parses input: the service it feeds checks state, version and who is acting. Every
action form carries the case's ``version`` as it was when the page was rendered; the view passes it
on as ``expected_version`` so a case someone else changed meanwhile is refused, not overwritten.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dispatch.filters import my_department_ids
from dispatch.models import (
    LIMIT_UNIT_CHOICES,
    Assignment,
    Event,
    MinorClass,
    Satisfaction,
    SupervisionOrder,
    Urgency,
)
from dispatch.selectors import active_minor_classes
from dispatch.services import EXTENSION_UNITS
from dispatch.workflow import ACTIONS
from governance.choices import RowModelChoiceField, RowModelMultipleChoiceField
from governance.models import AdministrativeUnit, Department

MAX_NOTE = 2000


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos from one file input (``accept="image/*"`` opens the camera on phones).

    Only the presence of files is checked here; ``dispatch.attachments`` checks their content.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = data if isinstance(data, (list, tuple)) else [data]
        return [single(one, initial) for one in files if one]


def active_departments():
    return (Department.objects.filter(is_active=True).select_related("unit").defer("unit__boundary")
            .order_by("unit__path", "name"))


def category_choices() -> list:
    """The catalogue as (major class, [(minor id, "0102 name"), …]) groups for a <select>."""
    groups: dict[int, tuple[str, list]] = {}
    for minor in active_minor_classes():
        label = f"{minor.major.code} {minor.major.name}"
        groups.setdefault(minor.major_id, (label, []))[1].append((str(minor.pk), str(minor)))
    return [("", "---------"), *groups.values()]


class CategoryField(forms.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=category_choices, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            return MinorClass.objects.select_related("major").get(pk=value, is_active=True)
        except (MinorClass.DoesNotExist, ValueError):
            raise ValidationError(_("Choose a category from the catalogue."), code="invalid_choice") from None


# --- Action forms --------------------------------------------------------------------------------


class ActionForm(forms.Form):
    """A note and the version the page showed; subclasses add what their action needs."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    note = forms.CharField(label=_("Note"), required=False, max_length=MAX_NOTE,
                           widget=forms.Textarea(attrs={"rows": 2}))
    note_label = None

    def __init__(self, *args, event: Event, user, action: str, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", event.version)
        kwargs.setdefault("prefix", action)
        super().__init__(*args, **kwargs)
        self.event, self.user, self.action = event, user, action
        act = ACTIONS.get(action)
        if act is not None and act.note_required:
            self.fields["note"].required = True
            self.fields["note"].label = self.note_label or _("Reason")
        elif self.note_label:
            self.fields["note"].label = self.note_label
        # The note comes last, after whatever the action asks for.
        self.order_fields([name for name in self.fields if name != "note"] + ["note"])

    @property
    def usable(self) -> bool:
        """False when the form has nothing to offer (e.g. no department left to sign for)."""
        return True


class NoteForm(ActionForm):
    pass


class RegisterForm(ActionForm):
    category = CategoryField(label=_("Category"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.event.minor_id:
            self.fields["category"].initial = str(self.event.minor_id)


class EditForm(ActionForm):
    """Correct the details before dispatch; only what differs from the case is passed on."""

    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    address = forms.CharField(label=_("Address"), required=False, max_length=255)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices)
    category = CategoryField(label=_("Category"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        event = self.event
        for name in ("title", "description", "address", "urgency"):
            self.fields[name].initial = getattr(event, name)
        self.fields["category"].initial = str(event.minor_id) if event.minor_id else ""

    def changes(self) -> dict:
        data, event = self.cleaned_data, self.event
        changed = {name: data[name] for name in ("title", "description", "address", "urgency")
                   if data[name] != getattr(event, name)}
        if data["category"] is not None and data["category"].pk != event.minor_id:
            changed["minor"] = data["category"]
        return changed

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.changes():
            raise ValidationError(_("Nothing was changed."))
        return cleaned


class DispatchForm(ActionForm):
    department = RowModelChoiceField(
        label=_("Lead department"), queryset=Department.objects.none(), required=False,
        empty_label=_("The routed department"),
        help_text=_("Leave as routed, or choose another department to override the routing."),
    )
    co_departments = RowModelMultipleChoiceField(
        label=_("Co-handling departments"), queryset=Department.objects.none(), required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )

    def __init__(self, *args, routed: Department | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        departments = active_departments()
        self.fields["department"].queryset = departments
        self.fields["co_departments"].queryset = departments
        self.routed = routed
        if routed is not None:
            self.fields["department"].initial = routed.pk
            self.fields["department"].help_text = _("Routed to “%(name)s” by the routing rules; choose another "
                                                    "department to override.") % {"name": routed.name}
        else:
            self.fields["department"].required = True
            self.fields["department"].empty_label = "---------"
            self.fields["department"].help_text = _("No routing rule covers this case: choose the department.")
        if self.event.minor_id:
            self.fields["co_departments"].initial = [d.pk for d in self.event.minor.co_departments.all()]


class DelegateForm(ActionForm):
    to_unit = forms.ModelChoiceField(label=_("Delegate to"), queryset=AdministrativeUnit.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        event = self.event
        # Units on the case's own branch, below the centre running it.
        on_branch = [int(pk) for pk in event.unit_path.strip("/").split("/") if pk]
        self.fields["to_unit"].queryset = (
            AdministrativeUnit.objects.filter(pk__in=on_branch, path__startswith=event.owner_path)
            .exclude(pk=event.owner_unit_id).order_by("path")
        )

    @property
    def usable(self) -> bool:
        return self.fields["to_unit"].queryset.exists()


class SummonForm(ActionForm):
    departments = RowModelMultipleChoiceField(
        label=_("Departments to summon"), queryset=Department.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = active_departments()


class CoSignForm(ActionForm):
    department = forms.ModelChoiceField(label=_("Sign for"), queryset=Department.objects.none(), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pending = Assignment.objects.filter(event=self.event, status=Assignment.Status.PENDING,
                                            department__in=my_department_ids(self.user))
        self.fields["department"].queryset = Department.objects.filter(pk__in=pending.values("department_id"))
        self._choices = list(self.fields["department"].queryset)

    @property
    def usable(self) -> bool:
        return bool(self._choices)


class ExtensionForm(ActionForm):
    amount = forms.IntegerField(label=_("Extra time"), min_value=1, max_value=999)
    unit = forms.ChoiceField(label=_("Unit"), choices=[c for c in LIMIT_UNIT_CHOICES if c[0] in EXTENSION_UNITS])


class HandleForm(ActionForm):
    note_label = _("What was done")
    photos = PhotosField(label=_("Photos after handling"))


class VerifyForm(ActionForm):
    PASS, REWORK = "pass", "rework"
    result = forms.ChoiceField(
        label=_("Result"), widget=forms.RadioSelect,
        choices=[(PASS, _("Passed: close the case")), (REWORK, _("Not done: send back for rework"))],
    )
    photos = PhotosField(label=_("Photos from the spot"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("result") == self.REWORK and not (cleaned.get("note") or "").strip():
            self.add_error("note", _("Say what still needs doing."))
        return cleaned


YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class CallbackForm(ActionForm):
    contacted = forms.TypedChoiceField(label=_("Was the reporter contacted?"), choices=YES_NO,
                                       widget=forms.RadioSelect, coerce=lambda v: v == "yes")
    solved = forms.TypedChoiceField(label=_("Was the matter solved?"), choices=YES_NO, widget=forms.RadioSelect,
                                    coerce=lambda v: v == "yes")
    satisfaction = forms.ChoiceField(label=_("Satisfaction"), choices=Satisfaction.choices, widget=forms.RadioSelect)


class SuperviseForm(ActionForm):
    note_label = _("Instructions")
    amount = forms.IntegerField(label=_("Time allowed"), min_value=1, max_value=999)
    unit = forms.ChoiceField(label=_("Unit"), choices=LIMIT_UNIT_CHOICES)


class RespondForm(ActionForm):
    note_label = _("Answer")
    order = forms.ModelChoiceField(label=_("Supervision order"), queryset=SupervisionOrder.objects.none(),
                                   empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].queryset = SupervisionOrder.objects.filter(event=self.event, responded_at__isnull=True)
        self.fields["order"].label_from_instance = self._order_label
        self._choices = list(self.fields["order"].queryset)

    @staticmethod
    def _order_label(order: SupervisionOrder) -> str:
        text = f"{order.get_kind_display()}: {order.note[:60]}" if order.note else order.get_kind_display()
        return str(text)

    @property
    def usable(self) -> bool:
        return bool(self._choices)


class MergeForm(ActionForm):
    into = forms.TypedChoiceField(label=_("Merge into"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {other.pk: other for other, _metres in candidates}
        self.fields["into"].choices = [
            (other.pk, f"{other.number} {other.title} · {other.get_state_display()} · {metres:.0f} m")
            for other, metres in candidates
        ]

    def clean_into(self):
        return self.candidates[self.cleaned_data["into"]]

    @property
    def usable(self) -> bool:
        return bool(self.candidates)


# Which form each action uses (``verify`` stands for both verify_pass and rework).
FORMS: dict[str, type[ActionForm]] = {
    "accept": NoteForm, "reject": NoteForm, "register": RegisterForm, "not_register": NoteForm,
    "merge": MergeForm, "edit": EditForm, "escalate": NoteForm, "delegate": DelegateForm,
    "dispatch": DispatchForm, "sign": NoteForm, "return": NoteForm, "start": NoteForm, "summon": SummonForm,
    "co_sign": CoSignForm, "request_extension": ExtensionForm, "approve_extension": NoteForm,
    "refuse_extension": NoteForm, "suspend": NoteForm, "resume": NoteForm, "backlog": NoteForm,
    "reactivate": NoteForm, "handle": HandleForm, "verify": VerifyForm, "evaluate": CallbackForm,
    "reopen": NoteForm, "remind": NoteForm, "supervise": SuperviseForm, "respond": RespondForm,
    "list_supervision": NoteForm, "unlist_supervision": NoteForm,
}
FORM_KEY = {"verify_pass": "verify", "rework": "verify"}
# Actions the platform takes itself, or that come from elsewhere (the reporter's own pages).
NOT_ON_CASE_PAGE = {"absorb", "send_to_verify", "self_handle", "rate"}


# --- Bulk actions on the workbench ---------------------------------------------------------------


class BulkForm(forms.Form):
    ACCEPT, DISPATCH = "accept", "dispatch"
    MAX_CASES = 200
    action = forms.ChoiceField(choices=[(ACCEPT, _("Accept")), (DISPATCH, _("Dispatch"))])
    department = RowModelChoiceField(label=_("Dispatch to"), queryset=Department.objects.none(), required=False,
                                     empty_label=_("each case's routed department"))
    cases = forms.MultipleChoiceField(choices=(), required=True,
                                      error_messages={"required": _("Tick the cases first.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = active_departments()
        # Each ticked box is "<case id>:<version shown>"; the choices are whatever was posted.
        self.fields["cases"].choices = [(v, v) for v in self.data.getlist("cases")] if self.is_bound else []

    def clean_cases(self) -> list[tuple[int, int]]:
        picked = []
        for value in self.cleaned_data["cases"]:
            try:
                pk, version = (int(part) for part in value.split(":"))
            except ValueError:
                raise ValidationError(_("The list of cases was garbled; reload the page.")) from None
            picked.append((pk, version))
        if len(picked) > self.MAX_CASES:
            raise ValidationError(_("At most %(n)d cases at a time.") % {"n": self.MAX_CASES})
        return picked
