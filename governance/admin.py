from django import forms
from django.core.exceptions import ValidationError
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, Max, Q
from django.db.models.functions import Now
from django.utils.translation import gettext, gettext_lazy as _, ngettext
from guardian.admin import GuardedModelAdminMixin

from governance import services
from governance.api import webhooks
from governance.api.auth import token_issue, token_revoke
from governance.api.scopes import SCOPES, scope_choices
from governance.audit import audit_log, field_changes, snapshot
from governance.errors import DomainError
from governance.models import (
    AdministrativeUnit,
    ApiClient,
    ApiToken,
    AuditEntry,
    CalendarDay,
    Department,
    Notification,
    NotificationWebhook,
    Parameter,
    RoleAssignment,
    UnitCodeChange,
    User,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
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


# --- REST API clients, their tokens, and their webhooks (governance.api) --------------------------


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), required=False, widget=forms.CheckboxSelectMultiple, choices=scope_choices,
        help_text=_("What the client's tokens may do. A token never does more than its account could in the browser."),
    )

    class Meta:
        model = ApiClient
        fields = ["name", "account", "scopes", "rate_limit", "contact", "is_active"]

    def clean_scopes(self) -> list[str]:
        chosen = set(self.cleaned_data["scopes"])
        return [name for name in SCOPES if name in chosen]  # stored in the registry's order


class ApiTokenInline(admin.TabularInline):
    """The client's tokens, read-only: issue them with the list's action, revoke them under API tokens."""

    model = ApiToken
    extra = 0
    can_delete = False
    fields = readonly_fields = ["prefix", "label", "created_at", "created_by", "expires_at", "last_used_at",
                                "last_used_ip", "revoked_at"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ApiClient)
class ApiClientAdmin(AuditedAdmin):
    form = ApiClientForm
    list_display = ["name", "account", "scope_list", "is_active", "tokens_in_use", "last_used_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "account__username", "account__full_name", "contact"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]
    inlines = [ApiTokenInline]
    actions = ["issue_token"]

    def get_queryset(self, request):
        usable = Q(tokens__revoked_at__isnull=True) & (Q(tokens__expires_at__isnull=True)
                                                       | Q(tokens__expires_at__gt=Now()))
        return super().get_queryset(request).annotate(
            in_use=Count("tokens", filter=usable), last_use=Max("tokens__last_used_at"))

    @admin.display(description=_("scopes"))
    def scope_list(self, client) -> str:
        return ", ".join(client.scopes)

    @admin.display(description=_("tokens in use"), ordering="in_use")
    def tokens_in_use(self, client) -> int:
        return client.in_use

    @admin.display(description=_("last used at"), ordering="last_use")
    def last_used_at(self, client):
        return client.last_use

    @admin.action(description=_("Issue a new token"), permissions=["change"])
    def issue_token(self, request, queryset):
        for client in queryset:
            _token, key = token_issue(client=client, actor=request.user, label=gettext("Issued in the administration"))
            messages.success(request, gettext("New token of “%(client)s”: %(key)s") % {"client": client.name,
                                                                                         "key": key})
        messages.warning(request, gettext("Copy the token now and give it to the client's operators: only its hash "
                                          "is stored, and it will not be shown again."))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued from the API clients list and only ever revoked, never edited or deleted
    (the rows record who issued them and when they were last used)."""

    list_display = ["prefix", "client", "label", "created_at", "created_by", "expires_at", "last_used_at",
                    "last_used_ip", "revoked_at"]
    list_filter = ["client"]
    search_fields = ["prefix", "label", "client__name"]
    list_select_related = ["client", "created_by"]
    fields = readonly_fields = ["client", "prefix", "label", "created_at", "created_by", "expires_at",
                                "last_used_at", "last_used_ip", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Revoke"), permissions=["change"])
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True).select_related("client"))
        for token in tokens:
            token_revoke(token=token, actor=request.user)
        messages.success(request, ngettext("%(n)s token revoked: requests with it are refused from now on.",
                                           "%(n)s tokens revoked: requests with them are refused from now on.",
                                           len(tokens)) % {"n": len(tokens)})


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("address"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(label=_("event types"), widget=forms.CheckboxSelectMultiple,
                                       choices=WebhookEvent.choices)

    class Meta:
        model = WebhookSubscription
        fields = ["url", "events", "is_active"]

    def clean_events(self) -> list[str]:
        try:
            return webhooks.check_events(self.instance.client, self.cleaned_data["events"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["events"]) from None


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(AuditedAdmin):
    """Clients subscribe through the API (and see the signing secret once, then); here an administrator
    looks, switches a subscription off, corrects it or deletes it. The secret is never shown or audited."""

    form = WebhookSubscriptionForm
    list_display = ["url", "client", "event_list", "is_active", "created_at"]
    list_filter = ["is_active", "client"]
    search_fields = ["url", "client__name"]
    list_select_related = ["client"]
    readonly_fields = ["client", "created_at"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("event types"))
    def event_list(self, subscription) -> str:
        return ", ".join(subscription.events)

    def save_model(self, request, obj, form, change):
        # Through the service, which records the change without the secret.
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        webhooks.subscription_update(subscription=type(obj).objects.get(pk=obj.pk), actor=request.user, **changes)

    def delete_model(self, request, obj):
        webhooks.subscription_delete(subscription=obj, actor=request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Every POST made to a client and its outcome; written only by the platform. Replay sends one again."""

    list_display = ["created_at", "subscription", "event_type", "object_id", "status", "attempts",
                    "response_status", "replay_of"]
    list_filter = ["status", "event_type", "subscription__client"]
    search_fields = ["subscription__url", "subscription__client__name", "=object_id"]
    list_select_related = ["subscription"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Replay (send again as a new delivery)"), permissions=["view"])
    def replay(self, request, queryset):
        sent = 0
        for delivery in queryset.select_related("subscription__client"):
            try:
                webhooks.webhook_replay(delivery=delivery, actor=request.user)
            except DomainError as exc:
                messages.error(request, f"{delivery.pk}: {exc.message}")
            else:
                sent += 1
        if sent:
            messages.success(request, ngettext("%(n)s delivery replayed.", "%(n)s deliveries replayed.", sent)
                             % {"n": sent})
