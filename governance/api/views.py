"""Base of every API view, and the sync feed view apps subclass."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.changes import changes_page


class ApiMixin:
    """Every API view: DRF answers anonymous and token requests (not the pages' login redirect);
    authentication, scopes, throttling and the error format are the project's DRF defaults."""

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # PostgreSQL refuses NUL in text: refuse it here, with the parameter named, not in the database.
        bad = [name for name, values in request.query_params.lists()
               if "\x00" in name or any("\x00" in value for value in values)]
        if bad:
            raise serializers.ValidationError({name.replace("\x00", ""): [gettext("Remove the NUL character.")]
                                               for name in bad})


FEED_LIMIT_MAX = 500


CHANGES_DESCRIPTION = (
    "Incremental sync: what changed after `cursor` (start without one), oldest first. Each entry is "
    "`{\"op\": \"upsert\", \"id\", \"object\"}` (the object as the list shows it, as it is now) or "
    "`{\"op\": \"delete\", \"id\", \"object\": null}` (deleted, or no longer in your jurisdiction). "
    "Apply the entries in order, store `next_cursor` and ask again; `has_more` says whether to ask at once. "
    "No change is skipped (a transaction that commits late holds the feed back) and an answer gives each "
    "object once."
)


class ChangesView(ApiMixin, APIView):
    """Incremental sync (``CHANGES_DESCRIPTION``, docs/api.md). Subclasses set ``journal`` (the model
    label), ``get_queryset()`` (the scoped objects) and ``serializer_class`` (the list representation)."""

    journal: str = ""
    serializer_class: type[serializers.Serializer]

    def get_queryset(self):  # pragma: no cover - subclasses
        raise NotImplementedError

    def get(self, request):
        try:
            limit = min(int(request.query_params.get("limit", 200)), FEED_LIMIT_MAX)
        except ValueError:
            raise serializers.ValidationError({"limit": [gettext("Give a number of entries, 1 to 500.")]}) from None
        page = changes_page(
            user=request.user, model=self.journal, cursor=request.query_params.get("cursor"),
            visible=self.get_queryset(), limit=max(limit, 1),
            serialize=lambda objs: self.serializer_class(objs, many=True, context={"request": request}).data,
        )
        return Response({"results": page.entries, "next_cursor": page.next_cursor, "has_more": page.has_more})


def changes_schema(serializer_class, *, name: str):
    """The OpenAPI description of a ``ChangesView`` subclass whose objects are ``serializer_class``."""
    entries = inline_serializer(
        name=f"{name}Change",
        fields={
            "op": serializers.ChoiceField(choices=["upsert", "delete"]),
            "id": serializers.IntegerField(),
            "object": serializer_class(allow_null=True),
        },
        many=True,
    )
    return extend_schema(
        summary=gettext_lazy("Changes since a cursor (sync)"),
        description=CHANGES_DESCRIPTION,
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="next_cursor of your last answer; none to start."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="Entries per answer, 1 to 500 (default 200)."),
        ],
        responses=inline_serializer(
            name=f"{name}ChangesPage",
            fields={"results": entries, "next_cursor": serializers.CharField(), "has_more": serializers.BooleanField()},
        ),
    )


@csrf_exempt
@login_not_required
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any /api/v1/ address no endpoint answers: a 404 in the error format, not the HTML page."""
    message = gettext("There is no such address in the API; the list is at /api/v1/docs/.")
    return JsonResponse({"error": {"code": "not_found", "message": message, "fields": {}}}, status=404,
                        json_dumps_params={"ensure_ascii": False})
