"""Grids REST API serializers (shape only; no business logic)."""

from rest_framework import serializers

from governance.models import AdministrativeUnit
from grids import tracks
from grids.models import Grid, GridMembership, Patrol, Visit

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

    class Meta:
        model = GridMembership
        fields = ["name", "role", "role_label", "phone", "started_on"]


class GridSummaryOutputSerializer(serializers.ModelSerializer):
    community = serializers.CharField(source="community.name")
    bbox = serializers.SerializerMethodField()

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
    centroid = serializers.SerializerMethodField()

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

    class Meta:
        model = GridMembership
        fields = ["id", "grid", "user", "person", "grid_role", "grid_role_label", "phone", "started_on", "ended_on"]


class PatrolOutputSerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.__str__", read_only=True)
    track = serializers.SerializerMethodField()

    class Meta:
        model = Patrol
        fields = [
            "id", "grid", "worker", "worker_name", "status", "started_at", "ended_at",
            "distance_m", "coverage", "notes", "is_synthetic", "track",
        ]

    def get_track(self, patrol: Patrol) -> dict:
        """GeoJSON LineString of the usable fixes (points must be prefetched in seq order)."""
        fixes = tracks.usable(
            tracks.Fix(p.seq, p.lon, p.lat, p.accuracy_m) for p in patrol.points.all()
        )
        return tracks.track_geojson(fixes)


class VisitOutputSerializer(serializers.ModelSerializer):
    worker_name = serializers.CharField(source="worker.__str__", read_only=True)

    class Meta:
        model = Visit
        fields = [
            "id", "grid", "worker", "worker_name", "household", "purpose", "outcome", "notes",
            "visited_at", "follow_up_on", "follow_up_done_at", "is_synthetic",
        ]


class PatrolPointInputSerializer(serializers.Serializer):
    """Documents the batch shape; the service validates each point (so a bad batch writes nothing)."""

    seq = serializers.IntegerField(min_value=0)
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    accuracy = serializers.FloatField(required=False, allow_null=True)
    recorded_at = serializers.DateTimeField()
