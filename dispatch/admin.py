"""Administration of the catalogue and routing rules (audited), and a read-only view of cases.

Cases change only through the workflow (``dispatch.workflow.transition``), so their admin pages
show them and their history but edit nothing. The working calendar is edited in governance's admin.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext, gettext_lazy as _

from dispatch.catalogue import class_rule_problems
from dispatch.models import (
    Assignment,
    Event,
    HotlineCall,
    MajorClass,
    MinorClass,
    RoutingRule,
    SupervisionOrder,
    Transition,
)
from governance.admin import AuditedAdmin
from governance.audit import audit_log, field_changes, snapshot

# --- Catalogue -----------------------------------------------------------------------------------


class MinorClassForm(forms.ModelForm):
    class Meta:
        model = MinorClass
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        # A form may show only some of these (the changelist edits the limit alone): the others are
        # the class's current values.
        values = {
            name: cleaned.get(name) if name in self.fields else getattr(self.instance, name)
            for name in ("urgency", "track", "limit_unit")
        }
        if all(values.values()):
            problems = class_rule_problems(**values)
            if problems:
                raise forms.ValidationError(problems)
        return cleaned


class AuditedInlinesMixin:
    """Audit rows for objects saved or deleted through inlines (``AuditedAdmin`` covers the page's own object)."""

    def save_formset(self, request, form, formset, change):
        before = {
            f.instance.pk: snapshot(type(f.instance).objects.get(pk=f.instance.pk))
            for f in formset.initial_forms
            if f.instance.pk and f.has_changed()
        }
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            audit_log(actor=request.user, action=f"{obj._meta.app_label}.{obj._meta.model_name}.deleted", obj=obj,
                      data=snapshot(obj))
            obj.delete()
        for obj in instances:
            old = before.get(obj.pk, {})
            obj.save()
            verb = "changed" if old else "created"
            audit_log(actor=request.user, action=f"{obj._meta.app_label}.{obj._meta.model_name}.{verb}", obj=obj,
                      changes=field_changes(old, snapshot(obj)))
        formset.save_m2m()


class MinorClassInline(admin.TabularInline):
    model = MinorClass
    form = MinorClassForm
    fields = ["code", "name", "limit_amount", "limit_unit", "urgency", "track", "self_handling", "is_active"]
    extra = 0
    can_delete = False  # retire a class with "active"; cases keep pointing at it
    show_change_link = True


@admin.register(MajorClass)
class MajorClassAdmin(AuditedInlinesMixin, AuditedAdmin):
    list_display = ["code", "name", "kind", "minor_count", "is_active"]
    list_display_links = ["code", "name"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    inlines = [MinorClassInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(minor_count=Count("minors"))

    @admin.display(description=_("minor classes"), ordering="minor_count")
    def minor_count(self, obj):
        return obj.minor_count


@admin.register(MinorClass)
class MinorClassAdmin(AuditedAdmin):
    form = MinorClassForm
    list_display = ["full_code", "name", "major", "limit_amount", "limit_unit", "urgency", "track", "self_handling",
                    "auto_dispatch", "lead_department", "is_active"]
    list_display_links = ["full_code", "name"]
    list_editable = ["limit_amount", "limit_unit"]
    list_filter = ["major__kind", "major", "urgency", "track", "self_handling", "auto_dispatch", "is_active",
                   "limit_unit"]
    list_select_related = ["major", "lead_department"]
    search_fields = ["code", "name", "keywords", "major__code", "major__name"]
    autocomplete_fields = ["lead_department"]
    filter_horizontal = ["co_departments"]
    fieldsets = [
        (None, {"fields": ["major", "code", "name", "keywords", "is_active"]}),
        (_("Handling"), {"fields": ["limit_amount", "limit_unit", "urgency", "track", "self_handling"]}),
        (_("Routing"), {"fields": ["lead_department", "co_departments", "auto_dispatch"]}),
    ]

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=MinorClassForm, **kwargs)

    @admin.display(description=_("code"), ordering="major__code")
    def full_code(self, obj):
        return obj.full_code

    def save_related(self, request, form, formsets, change):
        # Co-handling departments are saved after the class itself; audit their change too.
        before = set(form.instance.co_departments.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(form.instance.co_departments.values_list("pk", flat=True))
        if before != after:
            audit_log(actor=request.user, action="dispatch.minorclass.changed", obj=form.instance,
                      changes={"co_departments": [sorted(before), sorted(after)]})


# --- Routing rules -------------------------------------------------------------------------------


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        major, minor = cleaned.get("major"), cleaned.get("minor")
        if minor is not None:
            if major is not None and minor.major_id != major.pk:
                raise forms.ValidationError(
                    gettext("The minor class %(minor)s does not belong to the major class %(major)s.")
                    % {"minor": minor, "major": major}
                )
            cleaned["major"] = minor.major  # a minor-class rule names its major class too
        return cleaned


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedAdmin):
    """The most specific rule wins: the deepest unit, then a minor class over a major class over any class."""

    form = RoutingRuleForm
    list_display = ["unit", "major", "minor", "department", "note"]
    list_filter = ["major__kind", "major"]
    list_select_related = ["unit", "major", "minor__major", "department"]
    search_fields = ["unit__name", "unit__code", "major__name", "minor__name", "department__name", "note"]
    autocomplete_fields = ["unit", "major", "minor", "department"]


# --- Cases (read only) ---------------------------------------------------------------------------


class ReadOnlyMixin:
    """Shown, never written: records that only the workflow and its services write."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class TransitionInline(ReadOnlyMixin, admin.TabularInline):
    model = Transition
    fields = ["at", "action", "from_state", "to_state", "actor", "actor_label", "note"]
    readonly_fields = fields
    extra = 0


class AssignmentInline(ReadOnlyMixin, admin.TabularInline):
    model = Assignment
    fields = ["department", "role", "status", "assigned_at", "sign_due_at", "signed_at", "signed_by", "note"]
    readonly_fields = fields
    extra = 0


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "state", "alert", "channel", "minor", "unit", "department", "created_at"]
    list_filter = ["state", "alert", "channel", "urgency", "track", "listed_supervision", "outside_grids",
                   "minor__major__kind"]
    list_select_related = ["minor__major", "unit", "department"]
    search_fields = ["number", "receipt_code", "title", "address", "contact_phone"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Event._meta.fields]
    inlines = [AssignmentInline, TransitionInline]
    actions = None  # no bulk delete: a case is deleted one at a time, with its reason

    def has_delete_permission(self, request, obj=None):
        # Administrators may delete a case filed in error (dispatch.services.event_delete).
        return request.user.is_superuser

    def get_deleted_objects(self, objs, request):
        # The case's own records (history, assignments, reporters, photos) go with it; they are
        # read-only in the admin, which must not make the case undeletable. Protected rows (a
        # hotline call, merged duplicates) still stop the deletion.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        from dispatch.services import event_delete

        event_delete(event=obj, actor=request.user, reason=gettext("Deleted in the admin site."))


@admin.register(HotlineCall)
class HotlineCallAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "caller_name", "request_type", "outcome", "not_taken_reason", "operator", "event"]
    list_filter = ["outcome", "request_type", "not_taken_reason"]
    list_select_related = ["operator", "event"]
    search_fields = ["caller_name", "caller_phone", "summary", "event__number"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in HotlineCall._meta.fields]


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(ReadOnlyAdmin):
    list_display = ["issued_at", "kind", "event", "department", "to_unit", "due_at", "responded_at"]
    list_filter = ["kind"]
    list_select_related = ["event", "department", "to_unit"]
    search_fields = ["event__number", "note", "response"]
    date_hierarchy = "issued_at"
    readonly_fields = [f.name for f in SupervisionOrder._meta.fields]
