"""Grids REST API (/api/v1/grids/): units, grids, grid teams, patrols and household visits.

Thin views over ``grids.selectors`` (every read goes through the scoping selectors the pages use:
404 alike for missing and not yours) and ``grids.services``. Authentication, scopes, the error
format, cursor pagination, ETags and throttling are the core's (``governance.api``, docs/api.md).

Decisions:

- Scopes: API tokens need ``grids:read`` and can only read. Adding patrol points is the grid
  worker's own phone, signed in (session + CSRF), and the service accepts points only from the
  patrol's worker: a machine client acting as one grid worker has no use for it, so POST
  ``patrols/<id>/points/`` answers a token 403 whatever the id (revealing nothing).
- Lists are cursor-paginated in a fixed order whose first field is non-null (the cursor's position;
  ties are resolved by DRF with an offset). The grid search (``GET /api/v1/grids/?q=``) is the
  exception: it answers the 20 best matches as a plain list, for the map's search box; use the
  GeoJSON endpoint or the grid pages' export to get every grid.
- Query parameters are validated (django-filter FilterSets and query serializers): a bad value is
  400 in the error format, naming the parameter. Only ids in the path answer 404; an id in a query
  parameter either filters (``?grid=``: an unknown or out-of-scope id gives an empty list) or, where
  the unit itself is needed (GeoJSON ``?unit=``), is refused with 400 alike for missing and not yours.
- The GeoJSON endpoints answer raw GeoJSON text (application/geo+json): it is assembled from
  cached, pre-simplified geometry (``grids.selectors.grids_geojson``), not serialized per request.
- Personal data: grid team members' work phones are staff contact numbers the grid pages show to
  everyone who sees the grid, so sessions see them as the pages do; API tokens see them masked
  unless their client holds ``personal_data``. Household visits carry residents' data (the address
  and the worker's notes): masked ("***") the same way. Neither is audited per view, as on the
  pages (they show both unaudited).
- Exports: the unit, patrol and visit lists answer ``?format=csv|xlsx`` (``ExportMixin``, which goes
  before ``ApiMixin`` in the bases as its docstring asks): the same scoping and filters, no
  pagination. Patrols are exported without their tracks; visits without household and notes.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext, gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.errors import NON_FIELD, error_response
from governance.api.etags import etag_response
from governance.api.exports import ExportMixin, ExportRenderer
from governance.api.pagination import ApiCursorPagination
from governance.api.views import ApiMixin
from governance.errors import DomainError
from governance.personal import may_see_unmasked
from governance.selectors import get_unit_for_user, units_visible_to
from grids import selectors, services
from grids.api import filters, serializers
from grids.models import GridMembership, Patrol

READ = {"read": "grids:read"}
GEOJSON = "application/geo+json"


def cursor_by(*ordering: str) -> type[ApiCursorPagination]:
    """The core's cursor pagination in ``ordering`` (first field non-null; the rest break ties)."""
    return type("CursorBy_" + "_".join(f.lstrip("-") for f in ordering), (ApiCursorPagination,),
                {"ordering": ordering})


def personal_context(request) -> dict:
    """Serializer context: grid pages show team phones and visit details to whoever sees the grid,
    so the account may; a token also needs the personal_data scope."""
    return {"request": request, "unmasked": may_see_unmasked(request, needs_it=True)}


class GridsListView(ApiMixin, generics.ListAPIView):
    """A scoped, filtered, cursor-paginated list."""

    required_scopes = READ
    filter_backends = [DjangoFilterBackend]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), **personal_context(self.request)}


def _geojson(text: str) -> HttpResponse:
    return HttpResponse(text, content_type=f"{GEOJSON}; charset=utf-8")


GEOJSON_RESPONSES = {
    (200, GEOJSON): OpenApiResponse(OpenApiTypes.OBJECT, description=_("A GeoJSON FeatureCollection.")),
}


# --- Units and grids


class UnitList(ExportMixin, GridsListView):
    """Units in the user's jurisdiction, by division code; ``?level=``, ``?parent=`` narrow it."""

    serializer_class = serializers.UnitOutputSerializer
    filterset_class = filters.UnitFilter
    pagination_class = cursor_by("code")
    export_name = "grids.api.units"

    def get_queryset(self):
        return units_visible_to(self.request.user)


class UnitDetail(ApiMixin, APIView):
    """One unit with its boundary, with ``ETag`` (send ``If-None-Match`` for 304)."""

    required_scopes = READ

    @extend_schema(responses=serializers.UnitDetailOutputSerializer)
    def get(self, request, pk: int):
        unit = get_unit_for_user(request.user, pk)
        return etag_response(request, serializers.UnitDetailOutputSerializer(unit).data)


class UnitGeoJSON(ApiMixin, APIView):
    """Boundaries of the units in scope at ``?level=`` (default: communities/villages) as a
    FeatureCollection, simplified for ``?zoom=``, in ``?crs=``."""

    required_scopes = READ

    @extend_schema(parameters=[serializers.UnitGeoJSONQuerySerializer], responses=GEOJSON_RESPONSES)
    def get(self, request):
        query = serializers.UnitGeoJSONQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = selectors.units_geojson(request.user, **query.validated_data)
        return _geojson(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


class GridList(ApiMixin, generics.ListAPIView):
    """Grid search for the map: the first 20 grids in scope (by code) whose code, name or community
    name contains ``?q=``. A plain list, not paginated: refine the words to find others."""

    required_scopes = READ
    serializer_class = serializers.GridSummaryOutputSerializer
    pagination_class = None
    filter_backends: list = []
    SEARCH_LIMIT = 20

    def get_queryset(self):
        return selectors.grid_list(self.request.user, q=self.request.query_params.get("q", "").strip())

    @extend_schema(parameters=[OpenApiParameter("q", OpenApiTypes.STR, description=_(
        "Words of the grid's code, name or community name."))])
    def get(self, request):
        rows = self.get_queryset()[: self.SEARCH_LIMIT]
        return Response(self.get_serializer(rows, many=True).data)


class GridGeoJSON(ApiMixin, APIView):
    """Grids in scope as a GeoJSON FeatureCollection, simplified for ``?zoom=``, within ``?bbox=``,
    under ``?unit=``, in ``?crs=``; each feature's ``properties.measures`` are what the map colours by."""

    required_scopes = READ

    @extend_schema(parameters=[serializers.GridGeoJSONQuerySerializer], responses=GEOJSON_RESPONSES)
    def get(self, request):
        query = serializers.GridGeoJSONQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        if "unit" in params:
            params["unit"] = _unit_param(request, params["unit"])
        return _geojson(selectors.grids_geojson(request.user, **params))


def _unit_param(request, pk: int):
    """The unit a query parameter names, if in the user's jurisdiction; 400 alike for missing and not yours."""
    unit = units_visible_to(request.user).filter(pk=pk).first()
    if unit is None:
        raise exceptions.ValidationError({"unit": [gettext("No unit with this id in your jurisdiction.")]})
    return unit


class GridDetail(ApiMixin, APIView):
    """One grid with its counts, current team and boundary, with ``ETag`` (send ``If-None-Match`` for 304)."""

    required_scopes = READ

    @extend_schema(responses=serializers.GridDetailOutputSerializer)
    def get(self, request, pk: int):
        grid = selectors.get_grid_for_user(request.user, pk)
        grid.open_team = selectors.grid_members(grid)
        data = serializers.GridDetailOutputSerializer(grid, context=personal_context(request)).data
        return etag_response(request, data)


# --- Workers, patrols, visits


class GridWorkerList(GridsListView):
    """The grid's team by position (current members; ``?include_ended=true`` for its history too)."""

    serializer_class = serializers.MembershipOutputSerializer
    filterset_class = filters.GridWorkerFilter
    pagination_class = cursor_by("grid_role", "started_on", "pk")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no grid
            return GridMembership.objects.none()
        grid = selectors.get_grid_for_user(self.request.user, self.kwargs["pk"])
        return selectors.grid_members(grid, include_ended=True)


class PatrolList(ExportMixin, GridsListView):
    """Patrols in the user's jurisdiction, newest first, each with its track (not in the CSV/Excel export)."""

    serializer_class = serializers.PatrolOutputSerializer
    filterset_class = filters.PatrolFilter
    pagination_class = cursor_by("-started_at", "-pk")
    export_name = "grids.api.patrols"

    def get_queryset(self):
        rows = selectors.patrols_visible_to(self.request.user)
        return rows if self.exporting() else selectors.patrols_with_points(rows)

    def get_serializer_class(self):
        # A file has no use for the tracks (nor the points they are drawn from).
        return serializers.PatrolRowOutputSerializer if self.exporting() else serializers.PatrolOutputSerializer

    def exporting(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), ExportRenderer)


class PatrolDetail(ApiMixin, APIView):
    """One patrol with its track, with ``ETag`` (send ``If-None-Match`` for 304)."""

    required_scopes = READ

    @extend_schema(responses=serializers.PatrolOutputSerializer)
    def get(self, request, pk: int):
        patrol = selectors.get_patrol_for_user(request.user, pk)
        patrol = selectors.patrols_with_points(Patrol.objects.filter(pk=patrol.pk)).get()
        return etag_response(request, serializers.PatrolOutputSerializer(patrol).data)


class PatrolEnded(DomainError):
    """The phone stops re-sending a patrol's points on 409 (static/js/patrol.js)."""

    status = 409
    code = "conflict"


class PatrolPoints(ApiMixin, APIView):
    """Add a batch of GPS fixes to your open patrol (the grid worker's phone, signed in).

    The body is a JSON list of points (at most 500). Re-sending a batch is harmless: a seq already
    stored is skipped. A bad batch stores nothing (400, the refused fields named ``<index>.<field>``).
    Answers 403 to anyone but the patrol's own worker (and to every API token), 409 once the patrol
    has ended, 404 for a patrol outside your jurisdiction.
    """

    required_scopes = READ  # no "write": API tokens may not add points (see the module docstring)

    # The error answers (400, 403, 404, 409 "conflict") are the core schema's, described above.
    @extend_schema(request=serializers.PatrolPointInputSerializer(many=True),
                   responses=serializers.PatrolPointsOutputSerializer)
    def post(self, request, pk: int):
        patrol = selectors.get_patrol_for_user(request.user, pk)
        try:
            max_seq, count = services.patrol_points_add(patrol=patrol, points=request.data, actor=request.user)
        except PermissionDenied as error:
            raise exceptions.PermissionDenied(str(error) or None) from None
        except ValidationError as error:
            if error.code == "patrol_ended":
                raise PatrolEnded(" ".join(error.messages)) from None
            # The service's message names the point, for people; ``fields`` the refused field, for machines.
            return error_response(status.HTTP_400_BAD_REQUEST, "invalid", " ".join(error.messages),
                                  _point_errors(request.data) or {NON_FIELD: error.messages})
        return Response(serializers.PatrolPointsOutputSerializer({"max_seq": max_seq, "count": count}).data)


def _point_errors(data) -> dict[str, list[str]]:
    """The refused fields of a batch the service refused, as ``{"<index>.<field>": [...]}``; empty
    when the shape is right and only the service's own message says what is wrong."""
    form = serializers.PatrolPointInputSerializer(data=data, many=True)
    if form.is_valid():
        return {}
    # DRF gives a list serializer's errors by index (a dict of the refused items, or a list).
    errors = form.errors
    items = errors.items() if isinstance(errors, dict) else enumerate(errors)
    return {f"{index}.{name}": [str(m) for m in messages] for index, item in items if isinstance(index, int) and item
            for name, messages in item.items()}


class VisitList(ExportMixin, GridsListView):
    """Household visits in the user's jurisdiction, newest first. The CSV/Excel export leaves out the
    household (an address) and the notes: residents' personal data is never exported."""

    serializer_class = serializers.VisitOutputSerializer
    filterset_class = filters.VisitFilter
    pagination_class = cursor_by("-visited_at", "-pk")
    export_name = "grids.api.visits"
    export_exclude = {"notes"}  # "household" is dropped by the export itself (PERSONAL_DATA_FIELDS)

    def get_queryset(self):
        return selectors.visits_visible_to(self.request.user)
