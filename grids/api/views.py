"""Grids REST API: thin views over grids.selectors and grids.services."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from rest_framework import generics, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.selectors import get_unit_for_user, units_visible_to
from grids import selectors, services
from grids.api import serializers
from grids.api.serializers import (
    MembershipOutputSerializer,
    PatrolOutputSerializer,
    VisitOutputSerializer,
)

# --- Units and grids


def _crs_param(request) -> str:
    return "gcj02" if request.query_params.get("crs") == "gcj02" else "wgs84"


class UnitList(APIView):
    """Units in scope; ?level=village&parent=<id>."""

    def get(self, request):
        units = units_visible_to(request.user).order_by("code")
        if request.query_params.get("level"):
            units = units.filter(level=request.query_params["level"])
        if request.query_params.get("parent"):
            units = units.filter(parent_id=request.query_params["parent"])
        return Response(serializers.UnitOutputSerializer(units[:2000], many=True).data)


class UnitDetail(APIView):
    def get(self, request, pk: int):
        return Response(serializers.UnitDetailOutputSerializer(get_unit_for_user(request.user, pk)).data)


class UnitGeoJSON(APIView):
    """Boundaries of the units in scope (default: communities/villages) as a FeatureCollection."""

    def get(self, request):
        data = selectors.units_geojson(request.user, level=request.query_params.get("level", "village"),
                                  zoom=request.query_params.get("zoom"), crs=_crs_param(request))
        return Response(data)


class GridList(APIView):
    """Search grids in scope by code, name or community name: ?q=…"""

    def get(self, request):
        grids = selectors.grid_list(request.user, q=request.query_params.get("q", "").strip())[:20]
        return Response(serializers.GridSummaryOutputSerializer(grids, many=True).data)


class GridGeoJSON(APIView):
    """Grids in scope as GeoJSON, simplified for ?zoom=, within ?bbox=minlon,minlat,maxlon,maxlat, under ?unit=."""

    def get(self, request):
        unit = None
        if request.query_params.get("unit"):
            unit = get_unit_for_user(request.user, request.query_params["unit"])
        text = selectors.grids_geojson(request.user, bbox=selectors.parse_bbox(request.query_params.get("bbox")),
                                  zoom=request.query_params.get("zoom"), unit=unit, crs=_crs_param(request))
        return HttpResponse(text, content_type="application/geo+json; charset=utf-8")


class GridDetail(APIView):
    def get(self, request, pk: int):
        grid = selectors.get_grid_for_user(request.user, pk)
        grid.open_team = selectors.grid_members(grid)
        return Response(serializers.GridDetailOutputSerializer(grid).data)


# --- Workers, patrols, visits


class FieldworkPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class GridWorkerList(generics.ListAPIView):
    """The grid's team (current members; ``?include_ended=1`` for the history too). 404 out of scope."""

    serializer_class = MembershipOutputSerializer
    pagination_class = None

    def get_queryset(self):
        grid = selectors.get_grid_for_user(self.request.user, self.kwargs["pk"])
        return selectors.grid_members(grid, include_ended=self.request.query_params.get("include_ended") in ("1", "true"))


class PatrolList(generics.ListAPIView):
    """Patrols in the user's jurisdiction, newest first; ``?grid=`` and ``?worker=`` narrow it."""

    serializer_class = PatrolOutputSerializer
    pagination_class = FieldworkPagination

    def get_queryset(self):
        rows = selectors.patrols_visible_to(self.request.user).order_by("-started_at", "-pk")
        for name in ("grid", "worker"):
            value = self.request.query_params.get(name)
            if value and value.isdigit():
                rows = rows.filter(**{f"{name}_id": int(value)})
        return selectors.patrols_with_points(rows)


class PatrolDetail(generics.RetrieveAPIView):
    serializer_class = PatrolOutputSerializer

    def get_object(self):
        patrol = selectors.get_patrol_for_user(self.request.user, self.kwargs["pk"])
        return selectors.patrols_with_points(type(patrol).objects.filter(pk=patrol.pk)).get()


class PatrolPoints(APIView):
    """POST a JSON list ``[{seq, lon, lat, accuracy, recorded_at}]``; answers ``{"max_seq": n, "count": n}``.

    Re-sending a batch is harmless (points are keyed by patrol and seq). Only the patrol's own
    worker may add points (403); a patrol outside the user's jurisdiction is 404.
    """

    def post(self, request, pk: int):
        patrol = selectors.get_patrol_for_user(request.user, pk)
        try:
            max_seq, count = services.patrol_points_add(patrol=patrol, points=request.data, actor=request.user)
        except PermissionDenied as error:
            return Response({"detail": str(error)}, status=status.HTTP_403_FORBIDDEN)
        except ValidationError as error:
            # An ended patrol is a conflict, not bad input: the phone stops re-sending on 409.
            code = status.HTTP_409_CONFLICT if error.code == "patrol_ended" else status.HTTP_400_BAD_REQUEST
            return Response({"detail": " ".join(error.messages)}, status=code)
        return Response({"max_seq": max_seq, "count": count})


class VisitList(generics.ListAPIView):
    """Household visits in the user's jurisdiction; ``?grid=``, ``?due=1`` (own follow-ups due)."""

    serializer_class = VisitOutputSerializer
    pagination_class = FieldworkPagination

    def get_queryset(self):
        if self.request.query_params.get("due") in ("1", "true"):
            rows = selectors.follow_ups_due(self.request.user).select_related("worker")
        else:
            rows = selectors.visits_visible_to(self.request.user).order_by("-visited_at", "-pk")
        grid = self.request.query_params.get("grid")
        if grid and grid.isdigit():
            rows = rows.filter(grid_id=int(grid))
        return rows
