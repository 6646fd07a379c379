"""Dispatch REST API: the catalogue, filing reports, reading cases and acting on them.

Thin views over ``dispatch.selectors`` (every read goes through ``events_visible_to`` /
``get_event_for_user``: 404 for missing and not yours alike) and ``dispatch.services`` (the same
writes the pages make). A case's state, department and owner change only through
``POST events/<id>/actions/<action>/``.

Authentication (tokens with scopes, sessions), the error format, cursor pagination, the sync
feed, ETags, throttling and masking are the core's (``governance.api``, docs/api.md). Scopes:
``dispatch:read`` to read, ``dispatch:report`` to file, ``dispatch:act`` for workflow actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import django_filters
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers as drf_serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import services
from dispatch.api import serializers
from dispatch.journal import JOURNAL
from dispatch.models import Alert, Assignment, Channel, Event, State, Transition
from dispatch.permissions import is_centre
from dispatch.selectors import (
    catalogue_search,
    catalogue_tree,
    events_visible_to,
    get_event_for_user,
    with_list_relations,
)
from dispatch.workflow import ACTIONS, NotAllowed, actions_for
from governance.api.errors import error_response
from governance.api.etags import etag_response
from governance.api.exports import ExportMixin
from governance.api.filters import IdFilter, StrictOrderingFilter, UtcIsoDateTimeFilter
from governance.api.schema import AnyOf
from governance.api.views import ApiMixin, ChangesView, changes_schema
from governance.models import AdministrativeUnit
from governance.personal import audit_personal_view, mask_name, mask_phone, may_see_unmasked
from governance.roles import Role
from governance.selectors import roles_of

READ = {"read": "dispatch:read"}


# --- The catalogue -------------------------------------------------------------------------------


class CatalogueView(ApiMixin, APIView):
    """Active major classes, each with its active minor classes (what ``category`` may name)."""

    required_scopes = READ

    @extend_schema(summary=gettext_lazy("The catalogue"), responses=serializers.MajorClassOutputSerializer(many=True))
    def get(self, request):
        return Response(serializers.MajorClassOutputSerializer(catalogue_tree(), many=True).data)


class CatalogueSearchView(ApiMixin, APIView):
    """Minor classes matching ``?q=`` (words of the name, keywords or major class, or a four-digit code)."""

    required_scopes = READ

    @extend_schema(
        summary=gettext_lazy("Search the catalogue"),
        parameters=[serializers.CatalogueSearchQuerySerializer],
        responses=serializers.MinorClassSearchOutputSerializer(many=True),
    )
    def get(self, request):
        query = serializers.CatalogueSearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)  # a NUL character is refused here, not by PostgreSQL (500)
        rows = catalogue_search(query.validated_data["q"])
        return Response(serializers.MinorClassSearchOutputSerializer(rows, many=True).data)


# --- Cases: list and file ------------------------------------------------------------------------


class EventFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices, help_text=gettext_lazy("Repeat for several."))
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    category = IdFilter(field_name="minor_id", help_text=gettext_lazy("Minor class id."))
    unit = django_filters.ModelChoiceFilter(
        queryset=AdministrativeUnit.objects.all(), method="filter_unit",
        help_text=gettext_lazy("Unit id: cases in the unit and every unit under it."),
    )
    alert = django_filters.TypedChoiceFilter(choices=Alert.choices, coerce=int)
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UtcIsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text=gettext_lazy("Changed at or after this time (ISO 8601 with time zone). To mirror cases, "
                               "use changes/ instead: it never misses a change and reports deletions."),
    )

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_unit(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)


IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_MAX = 64
GRID_CHANNEL_ROLES = {Role.GRID_WORKER, Role.GRID_LEADER}


@extend_schema_view(get=extend_schema(
    summary=gettext_lazy("List cases"),
    description=gettext_lazy("The cases you may see (the same jurisdiction as the pages), filtered, ordered and "
                             "paginated by cursor: follow ``next``. To mirror cases, use changes/."),
))
class EventListCreateView(ExportMixin, ApiMixin, generics.ListAPIView):
    """GET: the cases the user may see, filtered, ordered and paginated. POST: file a report.

    POST takes JSON or multipart (with ``photos`` file parts). Send an ``Idempotency-Key`` header
    (1–64 characters, unique per client) so a retried submission makes one case: the first answer
    is 201 with ``Location``; a retry with the same key answers 200 with the same case and
    ``Idempotent-Replayed: true``.
    """

    required_scopes = {"read": "dispatch:read", "write": "dispatch:report"}
    serializer_class = serializers.EventListOutputSerializer
    filter_backends = [DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = EventFilter
    ordering_fields = ["created_at", "updated_at"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return with_list_relations(events_visible_to(self.request.user))

    @extend_schema(
        summary=gettext_lazy("File a report"),
        description=gettext_lazy(
            "JSON, or multipart with ``photos`` file parts. Send an ``Idempotency-Key`` header so a retried "
            "submission makes one case: the first answer is 201 with ``Location``; a retry with the same key "
            "answers 200 with the same case and ``Idempotent-Replayed: true``. Fields other than these are "
            "refused (400): state, department and owner change only through the workflow actions."),
        request={"application/json": serializers.EventReportInputSerializer,
                 "multipart/form-data": serializers.EventReportInputSerializer},
        parameters=[
            OpenApiParameter(IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, description=gettext_lazy(
                "1–64 printable characters, unique per submission and the same for each retry of it: a retry "
                "answers 200 with the case the first attempt made.")),
            OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[200, 201],
                             required=True, description=gettext_lazy("The case's address in the API.")),
            OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201], required=True),
            OpenApiParameter("Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
                             enum=["true"], description=gettext_lazy(
                                 "Present when this answer repeats an earlier submission with the same key.")),
        ],
        examples=[OpenApiExample(
            "A report with a point", request_only=True,
            value={"category_code": "event:0102", "title": "小区门口垃圾堆积", "description": "垃圾已堆放两天，有异味。",
                   "lon": 108.9312, "lat": 34.2709, "address": "雁塔区某小区东门", "contact_name": "张先生",
                   "contact_phone": "13800000000"},
        )],
        responses={
            201: OpenApiResponse(serializers.EventDetailOutputSerializer, description=gettext_lazy("Filed.")),
            200: OpenApiResponse(serializers.EventDetailOutputSerializer, description=gettext_lazy(
                "Already filed with this Idempotency-Key: the case the first attempt made.")),
        },
    )
    def post(self, request):
        key = _idempotency_key(request)
        form = serializers.EventReportInputSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        if form.validated_data["channel"] == Channel.GRID and not roles_of(request.user) & GRID_CHANNEL_ROLES:
            raise drf_serializers.ValidationError(
                {"channel": [gettext("Only grid workers report through the grid channel.")]}
            )
        event, created = services.event_report(
            reporter=request.user, idempotency_key=f"api:{request.user.pk}:{key}" if key else None,
            **form.validated_data,
        )
        headers = {"Location": request.build_absolute_uri(reverse("dispatch-api:event_detail", args=[event.pk]))}
        if not created:
            headers["Idempotent-Replayed"] = "true"
            event = get_event_for_user(request.user, event.pk)
        # A new case is answered from the row just written, with its relations in hand: its reporter
        # always sees it (selectors.events_visible_to), so it is not read again through the scope.
        return etag_response(request, _detail_data(request, event), headers=headers,
                             status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@changes_schema(serializers.EventListOutputSerializer, name="Event")
class EventChangesView(ChangesView):
    required_scopes = READ
    journal = JOURNAL
    serializer_class = serializers.EventListOutputSerializer

    def get_queryset(self):
        return with_list_relations(events_visible_to(self.request.user))


def _idempotency_key(request) -> str | None:
    if IDEMPOTENCY_HEADER not in request.headers:
        return None
    key = request.headers[IDEMPOTENCY_HEADER].strip()
    if not key or len(key) > IDEMPOTENCY_MAX or not key.isprintable():
        raise drf_serializers.ValidationError({IDEMPOTENCY_HEADER: [
            gettext("Send 1 to %(max)d printable characters, the same for every retry of one submission.")
            % {"max": IDEMPOTENCY_MAX}
        ]})
    return key


# --- One case ------------------------------------------------------------------------------------


def _detail_data(request, event: Event) -> dict:
    """``event`` (read through a selector that checked ``request.user`` may see it) as that user may see
    it, with the actions the user may take now."""
    prefetch_related_objects(
        [event],
        Prefetch("assignments", queryset=Assignment.objects.select_related("department")),
        Prefetch("history", queryset=Transition.objects.select_related("actor")),
        "attachments",
    )
    event.allowed_actions = allowed_api_actions(request.user, event)
    data = serializers.EventDetailOutputSerializer(event, context={"request": request}).data
    shown = [name for name in PERSONAL_FIELDS if data[name]]
    if not shown:
        return data
    if may_see_unmasked(request, is_centre(request.user, event) or event.reporter_id == request.user.pk):
        audit_personal_view(actor=request.user, obj=event, fields=shown, channel="api")
    else:
        data["contact_name"], data["contact_phone"] = mask_name(data["contact_name"]), mask_phone(data["contact_phone"])
    return data


IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description=gettext_lazy("The ETag of the copy you hold: 304 with no body if the case has not changed."),
)

# The reporter's contact: for the command centre that runs the case (to call back) and the reporter,
# as on the case page; masked for everyone else and for tokens without the personal_data scope.
PERSONAL_FIELDS = ("contact_name", "contact_phone")


class EventDetailView(ApiMixin, APIView):
    """One case, with ``ETag``: send ``If-None-Match`` to get 304 when nothing changed."""

    required_scopes = READ

    @extend_schema(
        summary=gettext_lazy("One case"),
        parameters=[
            IF_NONE_MATCH,
            OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 304], required=True),
        ],
        responses={
            200: serializers.EventDetailOutputSerializer,
            304: OpenApiResponse(description=gettext_lazy("Not modified: the ETag you sent is still current.")),
        },
    )
    def get(self, request, pk: int):
        return etag_response(request, _detail_data(request, get_event_for_user(request.user, pk)))


# --- Workflow actions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiAction:
    """One ``POST events/<id>/actions/<name>/``: the input it takes and the service that does it."""

    name: str
    service: Callable
    input: type[serializers.ActionInputSerializer]
    workflow: tuple[str, ...]  # the workflow actions it stands for (what ``allowed_actions`` shows)
    label: Promise | None = None  # default: the workflow action's label

    @property
    def display_label(self) -> str:
        return str(self.label or ACTIONS[self.workflow[0]].label)

    @property
    def note_required(self) -> bool:
        return all(ACTIONS[name].note_required for name in self.workflow)


def _action(name, service, input=serializers.ActionInputSerializer, workflow=None, **kw) -> ApiAction:
    return ApiAction(name, service, input, tuple(workflow or (name,)), **kw)


S = serializers
API_ACTIONS: dict[str, ApiAction] = {
    a.name: a
    for a in [
        _action("accept", services.event_accept),
        _action("reject", services.event_reject),
        _action("register", services.event_register, S.RegisterInputSerializer),
        _action("not_register", services.event_not_register),
        _action("merge", services.event_merge, S.MergeInputSerializer),
        _action("escalate", services.event_escalate),
        _action("delegate", services.event_delegate, S.DelegateInputSerializer),
        _action("dispatch", services.event_dispatch, S.DispatchInputSerializer),
        _action("sign", services.event_sign),
        _action("return", services.event_return),
        _action("start", services.event_start),
        _action("summon", services.event_summon, S.SummonInputSerializer),
        _action("co_sign", services.event_co_sign, S.CoSignInputSerializer),
        _action("request_extension", services.event_request_extension, S.ExtensionInputSerializer),
        _action("approve_extension", services.event_approve_extension),
        _action("refuse_extension", services.event_refuse_extension),
        _action("suspend", services.event_suspend),
        _action("resume", services.event_resume),
        _action("backlog", services.event_backlog),
        _action("reactivate", services.event_reactivate),
        _action("handle", services.event_handle, S.PhotosActionInputSerializer),
        _action("verify", services.event_verify, S.VerifyInputSerializer, ("verify_pass", "rework"),
                label=gettext_lazy("Verify on the spot")),
        _action("callback", services.event_callback, S.CallbackInputSerializer, ("evaluate",)),
        _action("reopen", services.event_reopen),
        _action("remind", services.event_remind),
        _action("supervise", services.event_supervise, S.SuperviseInputSerializer),
        _action("respond", services.event_respond, S.RespondInputSerializer),
        _action("list_supervision", services.event_list_supervision, S.ListSupervisionInputSerializer,
                ("list_supervision", "unlist_supervision"),
                label=gettext_lazy("List for supervision (挂牌督办) or take it off")),
    ]
}


def allowed_api_actions(user, event: Event) -> list[dict]:
    """What ``user`` may do to ``event`` now, by API action name (the workflow checks again)."""
    possible = {a.name for a in actions_for(user, event)}
    return [{"name": a.name, "label": a.display_label} for a in API_ACTIONS.values()
            if possible.intersection(a.workflow)]


ACTION_DESCRIPTION = (
    "Take a workflow action on the case. The body has ``note``, ``version`` (the case's version as you "
    "read it: if it changed meanwhile, nothing is saved and the answer is 409) and the action's own "
    "fields, as the table says; JSON, or multipart where photos are sent. The answer is the case as it "
    "is now. An action the case's state or your role does not allow answers 409 ``not_allowed`` with "
    "``allowed_actions``."
)


def _action_schema():
    """The action endpoint's OpenAPI description: ``action`` as the enum of API_ACTIONS, the body as
    any of the actions' input shapes (the path, not the body, says which one applies)."""
    inputs = list(dict.fromkeys(a.input for a in API_ACTIONS.values()))
    rows = "\n".join(
        f"| {a.name} | {a.input.__name__.removesuffix('Serializer')}Request | {'yes' if a.note_required else ''} |"
        for a in API_ACTIONS.values()
    )
    photo_inputs = [cls for cls in inputs if "photos" in cls._declared_fields]
    return extend_schema(
        summary=gettext_lazy("Take a workflow action"),
        description=f"{ACTION_DESCRIPTION}\n\n| action | body | note required |\n|---|---|---|\n{rows}",
        parameters=[
            OpenApiParameter("action", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(API_ACTIONS),
                             description=gettext_lazy("The action; GET events/{id}/ lists those you may take now "
                                                      "(allowed_actions).")),
            OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], required=True),
        ],
        request={
            "application/json": AnyOf(inputs, component_name="AnyActionInput"),
            "multipart/form-data": AnyOf(photo_inputs, component_name="AnyPhotoActionInput"),
        },
        examples=[
            OpenApiExample("accept, register, sign …", request_only=True, value={"note": "已核实", "version": 3}),
            OpenApiExample("dispatch", request_only=True, value={"department": 12, "co_departments": [], "version": 3}),
        ],
        responses={200: OpenApiResponse(serializers.EventDetailOutputSerializer,
                                        description=gettext_lazy("Done: the case as it is now."))},
    )


class EventActionView(ApiMixin, APIView):
    """Take a workflow action. Body: ``note``, ``version`` (the version you read; a stale one answers
    409) and the action's own fields; JSON, or multipart where photos are sent. Answers the case."""

    required_scopes = {"write": "dispatch:act"}

    def post(self, request, pk: int, action: str):
        event = get_event_for_user(request.user, pk)
        api_action = API_ACTIONS.get(action)
        if api_action is None:
            raise Http404
        form = api_action.input(data=request.data, context={"request": request, "event": event})
        form.is_valid(raise_exception=True)
        kwargs = dict(form.validated_data)
        version = kwargs.pop("version", None)
        if api_action.note_required and not kwargs["note"].strip():
            raise drf_serializers.ValidationError({"note": [
                gettext("“%(action)s” needs a reason or a note.") % {"action": api_action.display_label}
            ]})
        kwargs["expected_version"] = version  # every workflow service checks it under the row lock
        try:
            api_action.service(event=event, actor=request.user, **kwargs)
        except NotAllowed as exc:
            # Machine clients get the names they may send now, besides the message naming them.
            now = get_event_for_user(request.user, pk)
            return error_response(exc.status, "not_allowed", exc.message,
                                  allowed_actions=[a["name"] for a in allowed_api_actions(request.user, now)])
        return etag_response(request, _detail_data(request, get_event_for_user(request.user, pk)))


EventActionView.post = _action_schema()(EventActionView.post)
