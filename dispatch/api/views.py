"""Dispatch REST API: the catalogue, filing reports, reading cases and acting on them.

Thin views over ``dispatch.selectors`` (every read goes through ``events_visible_to`` /
``get_event_for_user``: 404 for missing and not yours alike) and ``dispatch.services`` (the same
writes the pages make). A case's state, department and owner change only through
``POST events/<id>/actions/<action>/``.

Every error answers in one shape::

    {"error": {"code": "invalid", "message": "…", "fields": {"category": ["…"]}}}

``DispatchAPIMixin`` installs that format for these views only (DRF has no per-view exception
handler setting, but ``get_exception_handler`` is a documented hook); the global DRF settings are
untouched. The mixin also lets anonymous requests reach DRF, so a client without a session gets a
JSON 403 instead of the login page's redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import django_filters
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, generics, serializers as drf_serializers, status
from rest_framework.pagination import BasePagination, LimitOffsetPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback

from dispatch import services
from dispatch.api import serializers
from dispatch.models import Alert, Assignment, Channel, Event, State, Transition
from dispatch.selectors import catalogue_search, catalogue_tree, events_visible_to, get_event_for_user
from dispatch.workflow import ACTIONS, Conflict, Forbidden, NotAllowed, WorkflowError, actions_for
from governance.models import AdministrativeUnit
from governance.roles import Role
from governance.selectors import roles_of

# --- One error format ----------------------------------------------------------------------------

NON_FIELD = "non_field_errors"
# Service error keys that the API names differently.
FIELD_NAMES = {"__all__": NON_FIELD, "to_unit": "unit", "minor": "category"}


def error_response(status_code: int, code: str, message: str, fields: dict | None = None, headers=None,
                   **extra) -> Response:
    return Response({"error": {"code": code, "message": message, "fields": fields or {}, **extra}},
                    status=status_code, headers=headers)


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail → {"field": ["message", …]}, nested fields as "parent.child" / "list.0.child"."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = FIELD_NAMES.get(key, key) if not prefix else key
            out.update(_flatten(value, f"{prefix}{name}"))
        return out
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            if item:
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    messages = [str(m) for m in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or NON_FIELD: messages}


def _invalid(fields: dict[str, list[str]]) -> Response:
    if set(fields) == {NON_FIELD}:
        message = " ".join(fields[NON_FIELD])
    else:
        message = gettext("Check these fields: %(fields)s.") % {"fields": ", ".join(sorted(fields))}
    return error_response(status.HTTP_400_BAD_REQUEST, "invalid", message, fields)


def api_exception_handler(exc, context) -> Response | None:
    """The dispatch API's answer to every refused request; None (→ 500) for real faults."""
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        return _invalid(_flatten(detail))
    if isinstance(exc, WorkflowError):
        set_rollback()
        code = ("not_allowed" if isinstance(exc, NotAllowed) else "conflict" if isinstance(exc, Conflict)
                else "forbidden" if isinstance(exc, Forbidden) else "refused")
        return error_response(exc.status, code, exc.message)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return _invalid(_flatten(exc.detail))
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = "%d" % exc.wait
        code = exc.detail.code if isinstance(exc.detail, exceptions.ErrorDetail) else exc.default_code
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)
    return None


class DispatchAPIMixin:
    """Base of every dispatch API view: the error format, and DRF (not the login redirect) answering
    anonymous requests. Authentication and permissions are the project's DRF defaults."""

    @classmethod
    def as_view(cls, **initkwargs):
        return login_not_required(super().as_view(**initkwargs))

    def get_exception_handler(self):
        return api_exception_handler


# --- The catalogue -------------------------------------------------------------------------------


class CatalogueView(DispatchAPIMixin, APIView):
    """Active major classes, each with its active minor classes (what ``category`` may name)."""

    def get(self, request):
        return Response(serializers.MajorClassOutputSerializer(catalogue_tree(), many=True).data)


class CatalogueSearchView(DispatchAPIMixin, APIView):
    """Minor classes matching ``?q=`` (words of the name, keywords or major class, or a four-digit code)."""

    def get(self, request):
        rows = catalogue_search(request.query_params.get("q", "").strip())
        return Response(serializers.MinorClassSearchOutputSerializer(rows, many=True).data)


# --- Cases: list and file ------------------------------------------------------------------------


class StableOrderingFilter(django_filters.OrderingFilter):
    """Ordering by the client's fields, then by id, so pages never repeat or skip rows on ties."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, "-pk") if value else qs


class EventFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices, help_text=gettext_lazy("Repeat for several."))
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices)
    category = django_filters.NumberFilter(field_name="minor_id", help_text=gettext_lazy("Minor class id."))
    unit = django_filters.ModelChoiceFilter(
        queryset=AdministrativeUnit.objects.all(), method="filter_unit",
        help_text=gettext_lazy("Unit id: cases in the unit and every unit under it."),
    )
    alert = django_filters.TypedChoiceFilter(choices=Alert.choices, coerce=int)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte",
        help_text=gettext_lazy("Changed at or after this time (ISO 8601 with time zone)."),
    )
    ordering = StableOrderingFilter(fields=("created_at", "updated_at", "step_due_at"))

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_unit(self, queryset, name, unit):
        return queryset.filter(unit_path__startswith=unit.path)


class EventPagination(BasePagination):
    """Page numbers (``?page=``, ``?page_size=``) unless the client sends ``?limit=`` / ``?offset=``.
    Both answer ``{"count", "next", "previous", "results"}``."""

    class Pages(PageNumberPagination):
        page_size = 50
        page_size_query_param = "page_size"
        max_page_size = 500

    class Window(LimitOffsetPagination):
        default_limit = 50
        max_limit = 500

    def _pick(self, request) -> BasePagination:
        return self.Window() if {"limit", "offset"} & set(request.query_params) else self.Pages()

    def paginate_queryset(self, queryset, request, view=None):
        self.delegate = self._pick(request)
        return self.delegate.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.delegate.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        return self.Pages().get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view):
        pages, window = self.Pages(), self.Window()
        return [*pages.get_schema_operation_parameters(view), *window.get_schema_operation_parameters(view)]


IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_MAX = 64
GRID_CHANNEL_ROLES = {Role.GRID_WORKER, Role.GRID_LEADER}


class EventListCreateView(DispatchAPIMixin, generics.ListAPIView):
    """GET: the cases the user may see, filtered, ordered and paginated. POST: file a report.

    POST takes JSON or multipart (with ``photos`` file parts). Send an ``Idempotency-Key`` header
    (1–64 characters, unique per client) so a retried submission makes one case: the first answer
    is 201 with ``Location``; a retry with the same key answers 200 with the same case and
    ``Idempotent-Replayed: true``.
    """

    serializer_class = serializers.EventListOutputSerializer
    pagination_class = EventPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = EventFilter

    def get_queryset(self):
        return (
            events_visible_to(self.request.user)
            .select_related("minor__major", "unit", "grid", "department")
            .order_by("-created_at", "-pk")
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
        return Response(_detail_data(request, event.pk), headers=headers,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


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


def _detail_data(request, pk) -> dict:
    """The case as ``request.user`` may see it, with the actions that user may take now (404 if not theirs)."""
    event = get_event_for_user(request.user, pk)
    prefetch_related_objects(
        [event],
        Prefetch("assignments", queryset=Assignment.objects.select_related("department")),
        Prefetch("history", queryset=Transition.objects.select_related("actor")),
        "attachments",
    )
    event.allowed_actions = allowed_api_actions(request.user, event)
    return serializers.EventDetailOutputSerializer(event, context={"request": request}).data


class EventDetailView(DispatchAPIMixin, APIView):
    def get(self, request, pk: int):
        return Response(_detail_data(request, pk))


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


class EventActionView(DispatchAPIMixin, APIView):
    """Take a workflow action. Body: ``note``, ``version`` (the version you read; a stale one answers
    409) and the action's own fields; JSON, or multipart where photos are sent. Answers the case."""

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
        return Response(_detail_data(request, pk))
