from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from governance.admin import AuditedAdmin
from grids import services
from grids.models import Grid, GridMembership, Patrol, Visit

# --- Grids


@admin.register(Grid)
class GridAdmin(AuditedAdmin):
    """Grids are created by import (/grids/import/) and their boundaries drawn on the map; here an
    administrator corrects names, types and counts, saved through grid_update (checks, audit)."""

    list_display = ["code", "name", "community", "grid_type", "households", "is_active"]
    list_filter = ["grid_type", "is_active", "code_scheme"]
    search_fields = ["code", "name", "community__name", "community__code"]
    raw_id_fields = ["community", "department"]
    fields = ["community", "name", "grid_type", "dedicated_kind", "department", "code", "code_scheme", "sequence",
              "households", "residents", "buildings", "businesses", "key_places", "is_active", "area_m2",
              "centroid_lon", "centroid_lat", "is_synthetic"]
    readonly_fields = ["community", "code", "code_scheme", "sequence", "area_m2", "centroid_lon", "centroid_lat",
                       "is_synthetic"]
    editable = ["name", "grid_type", "dedicated_kind", "department", *services.COUNT_FIELDS, "is_active"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # grid_update writes the audit row itself.
        changed = {name: form.cleaned_data[name] for name in form.changed_data if name in self.editable}
        if changed:
            services.grid_update(grid=obj, actor=request.user, **changed)


# --- Roster, patrols, visits


@admin.register(GridMembership)
class GridMembershipAdmin(AuditedAdmin):
    """Roster rows. Adding and ending go through the services (role scope, history, audit)."""

    list_display = ["grid", "user", "grid_role", "phone", "started_on", "ended_on"]
    list_filter = ["grid_role", ("ended_on", admin.EmptyFieldListFilter)]
    search_fields = ["grid__code", "grid__name", "user__username", "user__full_name"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["grid"]

    def get_readonly_fields(self, request, obj=None):
        # An existing row only gets its phone changed or its end date set: history is not rewritten.
        return ["grid", "user", "grid_role", "started_on"] if obj else []

    def get_exclude(self, request, obj=None):
        return [] if obj else ["ended_on"]  # a new row starts open

    def save_model(self, request, obj, form, change):
        try:
            if not change:
                created = services.membership_start(
                    grid=obj.grid, user=obj.user, grid_role=obj.grid_role, phone=obj.phone,
                    started_on=obj.started_on, actor=request.user,
                )
                obj.pk = created.pk
                return
            ending = "ended_on" in form.changed_data and form.initial.get("ended_on") is None and obj.ended_on
            ended_on, obj.ended_on = obj.ended_on, form.initial.get("ended_on")
            super().save_model(request, obj, form, change)  # the phone, audited by AuditedAdmin
            if ending:
                services.membership_end(membership=obj, ended_on=ended_on, actor=request.user)
                obj.ended_on = ended_on
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))

    def has_delete_permission(self, request, obj=None):
        return False  # end the membership instead, so the history stays


@admin.register(Patrol)
class PatrolAdmin(AuditedAdmin):
    list_display = ["started_at", "grid", "worker", "status", "distance_m", "coverage", "is_synthetic"]
    list_filter = ["status", "is_synthetic"]
    search_fields = ["grid__code", "grid__name", "worker__username", "worker__full_name"]
    readonly_fields = ["grid", "worker", "status", "started_at", "ended_at", "distance_m", "coverage"]

    def has_add_permission(self, request):
        return False  # patrols are recorded from the phone


@admin.register(Visit)
class VisitAdmin(AuditedAdmin):
    list_display = ["visited_at", "grid", "worker", "household", "purpose", "outcome", "follow_up_on", "follow_up_done_at"]
    list_filter = ["purpose", "outcome", "is_synthetic"]
    search_fields = ["household", "grid__code", "grid__name", "worker__username", "worker__full_name"]
    raw_id_fields = ["grid", "worker"]
