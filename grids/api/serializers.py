"""Grids REST API serializers: the shapes that go out (and the patrol points that come in).

No business logic: what may be seen is decided by the selectors, what may be written by the
services. The one thing decided here is *how* personal data looks when the view says it must be
masked (``PersonalField``): the view puts ``unmasked`` in the context, and without it every
personal field is masked, so a forgotten flag errs on the safe side.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from governance.models import AdministrativeUnit
from governance.personal import mask_phone
from grids import tracks
from grids.selectors import parse_bbox
from grids.models import Grid, GridMembership, Patrol, Visit

MASKED = "***"


def mask_text(value: str) -> str:
    """Free text and addresses that cannot be masked in part: hidden whole (empty stays empty)."""
    return MASKED if value else ""


class PersonalField(serializers.CharField):
    """A personal value, shown as stored only when the view set ``unmasked`` in the context."""

    def __init__(self, *, mask: Callable[[str], str], **kwargs):
        self.mask = mask
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        text = super().to_representation(value)
        return text if self.context.get("unmasked") else self.mask(text)


def work_phone_field() -> PersonalField:
    return PersonalField(
        mask=mask_phone,
        help_text=_("The team member's work phone, as on the grid pages; masked (138****5678) for API tokens "
                    "without the personal_data scope."),
    )


# --- Units and grids


class UnitOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdministrativeUnit
        fields = ["id", "code", "name", "level", "parent"]


class UnitDetailOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdministrativeUnit
        fields = ["id", "code", "name", "level", "parent", "boundary"]


class GridTeamMemberSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="user.__str__")
    role = serializers.CharField(source="grid_role")
    role_label = serializers.CharField(source="get_grid_role_display")
    phone = work_phone_field()

    class Meta:
        model = GridMembership
        fields = ["name", "role", "role_label", "phone", "started_on"]


class GridSummaryOutputSerializer(serializers.ModelSerializer):
    community = serializers.CharField(source="community.name")
    bbox = serializers.SerializerMethodField(help_text=_("[min lon, min lat, max lon, max lat] (WGS-84)."))

    class Meta:
        model = Grid
        fields = ["id", "code", "name", "grid_type", "community", "bbox"]

    def get_bbox(self, grid) -> list[float] | None:
        if grid.min_lon is None:
            return None
        return [grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat]


class GridDetailOutputSerializer(GridSummaryOutputSerializer):
    community_id = serializers.IntegerField()
    community_code = serializers.CharField(source="community.code")
    grid_type_label = serializers.CharField(source="get_grid_type_display")
    team = GridTeamMemberSerializer(many=True, source="open_team")
    centroid = serializers.SerializerMethodField(help_text=_("[lon, lat] (WGS-84)."))

    class Meta:
        model = Grid
        fields = ["id", "code", "code_scheme", "name", "grid_type", "grid_type_label", "community", "community_id",
                  "community_code", "households", "residents", "buildings", "businesses", "key_places", "area_m2",
                  "bbox", "centroid", "is_active", "team", "boundary"]

    def get_centroid(self, grid) -> list[float] | None:
        return None if grid.centroid_lon is None else [grid.centroid_lon, grid.centroid_lat]


# --- Workers, patrols, visits


class MembershipOutputSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="user.__str__", read_only=True)
    grid_role_label = serializers.CharField(source="get_grid_role_display", read_only=True)
    phone = work_phone_field()

    class Meta:
        model = GridMembership
        fields = ["id", "grid", "user", "person", "grid_role", "grid_role_label", "phone", "started_on", "ended_on"]


class PatrolRowOutputSerializer(serializers.ModelSerializer):
    """A patrol without its track (the CSV/Excel export's rows)."""

    worker_name = serializers.CharField(source="worker.__str__", read_only=True)

    class Meta:
        model = Patrol
        fields = [
            "id", "grid", "worker", "worker_name", "status", "started_at", "ended_at",
            "distance_m", "coverage", "notes", "is_synthetic",
        ]


class PatrolOutputSerializer(PatrolRowOutputSerializer):
    track = serializers.SerializerMethodField(help_text=_("GeoJSON LineString of the usable GPS fixes (WGS-84)."))

    class Meta(PatrolRowOutputSerializer.Meta):
        fields = [*PatrolRowOutputSerializer.Meta.fields, "track"]

    def get_track(self, patrol: Patrol) -> dict:
        """GeoJSON LineString of the usable fixes (points must be prefetched in seq order)."""
        fixes = tracks.usable(
            tracks.Fix(p.seq, p.lon, p.lat, p.accuracy_m) for p in patrol.points.all()
        )
        return tracks.track_geojson(fixes)


class VisitOutputSerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.__str__", read_only=True)
    # A resident's address and what was learnt at the door: residents' personal data.
    household = PersonalField(mask=mask_text, help_text=_(
        "The household's address; “***” for API tokens without the personal_data scope."))
    notes = PersonalField(mask=mask_text, help_text=_(
        "The worker's notes; “***” for API tokens without the personal_data scope."))

    class Meta:
        model = Visit
        fields = [
            "id", "grid", "worker", "worker_name", "household", "purpose", "outcome", "notes",
            "visited_at", "follow_up_on", "follow_up_done_at", "is_synthetic",
        ]


class PatrolPointInputSerializer(serializers.Serializer):
    """One GPS fix of a batch. The service is the authority on what it stores (a bad batch writes
    nothing); this serializer documents the shape and names the refused fields of a bad batch."""

    seq = serializers.IntegerField(min_value=0, max_value=2_147_483_647,
                                   help_text=_("The phone's own increasing counter; a seq already stored is skipped."))
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    accuracy = serializers.FloatField(required=False, allow_null=True, min_value=0, help_text=_("Metres."))
    recorded_at = serializers.DateTimeField()


class PatrolPointsOutputSerializer(serializers.Serializer):
    max_seq = serializers.IntegerField(help_text=_("The highest seq stored for the patrol."))
    count = serializers.IntegerField(help_text=_("The number of points stored for the patrol."))


# --- Query parameters of the GeoJSON endpoints

CRS_CHOICES = [("wgs84", "WGS-84"), ("gcj02", "GCJ-02"), ("bd09", "BD-09")]


class GeoJSONQuerySerializer(serializers.Serializer):
    zoom = serializers.IntegerField(required=False, min_value=0, max_value=22, help_text=_(
        "The map's zoom level: boundaries are simplified to what shows at it; none for full detail."))
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84", help_text=_(
        "Coordinates for the tiles in use: wgs84 (default), gcj02 (AMap, Tencent), bd09 (Baidu)."))


class UnitGeoJSONQuerySerializer(GeoJSONQuerySerializer):
    level = serializers.ChoiceField(choices=AdministrativeUnit._meta.get_field("level").choices, default="village",
                                    help_text=_("The level of the units drawn (default: communities/villages)."))


class GridGeoJSONQuerySerializer(GeoJSONQuerySerializer):
    bbox = serializers.CharField(required=False, help_text=_(
        "Only grids overlapping min lon,min lat,max lon,max lat (WGS-84), e.g. 108.9,34.2,109.0,34.3."))
    unit = serializers.IntegerField(required=False, help_text=_("Only grids under this unit (id)."))

    def validate_bbox(self, value: str) -> tuple[float, float, float, float]:
        bbox = parse_bbox(value)
        if bbox is None:
            raise serializers.ValidationError(_(
                "Give four numbers: min lon,min lat,max lon,max lat, each minimum not above its maximum."))
        return bbox
