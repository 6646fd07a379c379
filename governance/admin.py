from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdminMixin

from governance import services
from governance.audit import audit_log, field_changes, snapshot
from governance.models import (
    AdministrativeUnit,
    AuditEntry,
    CalendarDay,
    Department,
    Notification,
    NotificationWebhook,
    Parameter,
    RoleAssignment,
    UnitCodeChange,
    User,
    WorkingPeriod,
)

admin.site.site_header = _("GridGov administration")
admin.site.site_title = _("GridGov")
admin.site.index_title = _("Administration")


class AuditedAdmin(admin.ModelAdmin):
    """Writes an audit row (``<app>.<model>.created|changed|deleted``) for every admin save and delete."""

    def _action(self, obj, verb: str) -> str:
        return f"{obj._meta.app_label}.{obj._meta.model_name}.{verb}"

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            before = snapshot(type(obj).objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        audit_log(
            actor=request.user,
            action=self._action(obj, "changed" if change else "created"),
            obj=obj,
            changes=field_changes(before, snapshot(obj)),
        )

    def delete_model(self, request, obj):
        audit_log(actor=request.user, action=self._action(obj, "deleted"), obj=obj, data=snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class CodeChangeInline(admin.TabularInline):
    model = UnitCodeChange
    extra = 0
    can_delete = False
    readonly_fields = ["old_code", "new_code", "changed_at", "changed_by", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(GuardedModelAdminMixin, AuditedAdmin):
    list_display = ["code", "name", "level", "parent", "is_synthetic"]
    list_filter = ["level", "is_synthetic"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]
    inlines = [CodeChangeInline]

    def save_model(self, request, obj, form, change):
        # A revised code goes through the service so that its history is kept.
        if change and "code" in form.changed_data:
            new_code = obj.code
            obj.code = form.initial["code"]
            super().save_model(request, obj, form, change)
            services.unit_change_code(unit=obj, new_code=new_code, actor=request.user, reason=str(_("Edited in the admin")))
            obj.refresh_from_db()
        else:
            super().save_model(request, obj, form, change)


@admin.register(Department)
class DepartmentAdmin(GuardedModelAdminMixin, AuditedAdmin):
    list_display = ["name", "kind", "unit", "supervisor", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "short_name", "unit__name"]
    autocomplete_fields = ["unit", "supervisor"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(AuditedAdmin):
    list_display = ["user", "role", "unit", "department", "started_on", "ended_on"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__full_name", "unit__name", "department__name"]
    autocomplete_fields = ["user", "unit", "department"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Object permissions follow the assignments.
        services.permissions_sync(user=obj.user)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.permissions_sync(user=obj.user)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "full_name", "phone", "is_active", "is_staff"]
    search_fields = ["username", "full_name", "phone"]
    fieldsets = BaseUserAdmin.fieldsets + ((_("Contact"), {"fields": ["full_name", "phone"]}),)

    def save_model(self, request, obj, form, change):
        before = snapshot(User.objects.get(pk=obj.pk), ["username", "full_name", "phone", "is_active", "is_staff", "is_superuser"]) if change else {}
        super().save_model(request, obj, form, change)
        after = snapshot(obj, ["username", "full_name", "phone", "is_active", "is_staff", "is_superuser"])
        audit_log(actor=request.user, action="governance.user." + ("changed" if change else "created"), obj=obj, changes=field_changes(before, after))


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Searchable, never editable."""

    list_display = ["at", "action", "actor", "object_repr", "ip_address"]
    list_filter = ["action", "content_type"]
    search_fields = ["action", "object_repr", "object_id", "actor__username", "actor__full_name", "ip_address"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedAdmin):
    list_display = ["date", "kind", "name"]
    list_filter = ["kind"]
    date_hierarchy = "date"


@admin.register(WorkingPeriod)
class WorkingPeriodAdmin(AuditedAdmin):
    list_display = ["start", "end"]


@admin.register(Parameter)
class ParameterAdmin(AuditedAdmin):
    list_display = ["key", "value", "updated_at"]
    search_fields = ["key"]


@admin.register(NotificationWebhook)
class NotificationWebhookAdmin(AuditedAdmin):
    list_display = ["name", "url", "department", "unit", "kinds", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "url", "department__name", "unit__name"]
    autocomplete_fields = ["department", "unit"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"  # an address typed without a scheme is taken as https
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @staticmethod
    def _fields(obj) -> list[str]:
        return [f.attname for f in obj._meta.concrete_fields if f.name != "secret"]

    def save_model(self, request, obj, form, change):
        # As AuditedAdmin, but the audit trail records that the secret changed, never the secret.
        old = type(obj).objects.get(pk=obj.pk) if change else None
        before = snapshot(old, self._fields(obj)) if old else {}
        admin.ModelAdmin.save_model(self, request, obj, form, change)
        changes = field_changes(before, snapshot(obj, self._fields(obj)))
        if old is None or obj.secret != old.secret:
            changes["secret"] = ["", "(set)"]
        audit_log(actor=request.user, action=self._action(obj, "changed" if change else "created"), obj=obj,
                  changes=changes)

    def delete_model(self, request, obj):
        audit_log(actor=request.user, action=self._action(obj, "deleted"), obj=obj,
                  data=snapshot(obj, self._fields(obj)))
        admin.ModelAdmin.delete_model(self, request, obj)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """What was sent to whom; written only by the platform, never edited here."""

    list_display = ["created_at", "recipient", "title", "kind", "read_at"]
    list_filter = ["kind"]
    search_fields = ["title", "recipient__username", "recipient__full_name"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
