"""CSV and Excel exports of API lists: ``?format=csv`` / ``?format=xlsx`` on a list endpoint.

Add ``ExportMixin`` first in the bases of a ``generics.ListAPIView`` (or ListCreateAPIView)::

    class EventListCreateView(ExportMixin, ApiMixin, generics.ListAPIView):

``GET <list>?format=csv`` (or ``xlsx``, or ``Accept: text/csv``) then answers every row of the
list as a file: the same ``get_queryset()`` (the scoping selector, its select_related and
prefetch_related kept) and ``filter_queryset()`` (filters, ordering) as the JSON list, without
pagination, read ``CHUNK_SIZE`` rows at a time. The columns are the list serializer's fields,
nested objects flattened (``unit.name``), lists joined, labelled with the fields' labels or the
model's verbose names (translated). ``?format=json`` and ``Accept: application/json`` work as before.

What the mixin adds to the machinery of ``governance.exports``: the row limit (400 in the API's
error format, code ``export_too_large``), the audit row, formula-injection safety, and no personal
data — fields named in ``PERSONAL_DATA_FIELDS`` (contact_name, contact_phone, …) are dropped
whatever the serializer holds. A view may drop more with ``export_exclude = {"track", "boundary"}``
(top-level or dotted names), name its list in the audit with ``export_name`` and its file with
``export_title`` (the model's verbose plural by default).

How it fits DRF: ``format`` is DRF's URL_FORMAT_OVERRIDE, which picks a renderer, so the mixin
adds two renderers (``CSVRenderer``, ``XLSXRenderer``) after the view's own — JSON stays the
default. ``list()`` answers the file itself when one of them was chosen; any other answer the view
gives under them (a refusal, a POST's 201) is rendered as JSON. The OpenAPI schema documents the
``format`` parameter and the two file types of the 200 answer (``ExportSchema``).
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from governance import exports
from governance.api.auth import client_of

FORMAT_PARAM = "format"  # DRF's URL_FORMAT_OVERRIDE
PAGING_PARAMS = (FORMAT_PARAM, "cursor", "page_size", "page", "limit", "offset")  # not filters: left out of the audit
CHUNK_SIZE = exports.CHUNK_SIZE
DISPLAY_PREFIX, DISPLAY_SUFFIX = "get_", "_display"


# --- Renderers -----------------------------------------------------------------------------------


class ExportRenderer(BaseRenderer):
    """Chosen by ``?format=`` or Accept; ``ExportMixin.list`` answers the file itself. ``render`` is
    the fallback for a plain list of objects handed to it directly (columns from their keys)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = [flatten(item) for item in data] if isinstance(data, list) else [flatten(data or {})]
        keys = list(dict.fromkeys(key for row in rows for key in row))
        tz = timezone.get_current_timezone()
        if self.format == exports.XLSX:
            out = io.BytesIO()
            exports.write_xlsx(rows, [(k, k) for k in keys], title="export", tz=tz, out=out)
            return out.getvalue()
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(keys)
        for row in rows:
            writer.writerow([exports.csv_text(exports.cell_value(row.get(k), tz)) for k in keys])
        return ("\ufeff" + text.getvalue()).encode()


class CSVRenderer(ExportRenderer):
    media_type = "text/csv"
    format = exports.CSV
    charset = "utf-8"


class XLSXRenderer(ExportRenderer):
    media_type = exports.CONTENT_TYPES[exports.XLSX]
    format = exports.XLSX
    charset = None
    render_style = "binary"


EXPORT_RENDERERS = (CSVRenderer, XLSXRenderer)


# --- Columns from a serializer -------------------------------------------------------------------


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"unit": {"id": 1, "name": "甲"}}`` → ``{"unit.id": 1, "unit.name": "甲"}``; lists stay lists."""
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def _model_field(model, source: str) -> models.Field | None:
    if model is None or not source or "." in source:
        return None
    if source.startswith(DISPLAY_PREFIX) and source.endswith(DISPLAY_SUFFIX):
        source = source[len(DISPLAY_PREFIX):-len(DISPLAY_SUFFIX)]
    try:
        return model._meta.get_field(source)
    except Exception:  # FieldDoesNotExist, or a reverse relation without a verbose name
        return None


def field_label(field: serializers.Field, name: str, model) -> str:
    """The header of a serializer field: its own label, else the model field's verbose name, else
    its name as DRF words it (translated when the catalogue knows the words)."""
    explicit = field._kwargs.get("label")
    if explicit:
        return str(explicit)
    model_field = _model_field(model, field.source or name)
    if model_field is not None and getattr(model_field, "verbose_name", None):
        # gettext too: a field without its own verbose_name has one made from its name, untranslated.
        return gettext(str(capfirst(model_field.verbose_name)))
    if name == "id":
        return "ID"
    return gettext(str(field.label or name.replace("_", " ").capitalize()))


Column = tuple[str, str, str]  # (key, label, kind: "datetime", "date", "decimal" or "")


def _kind(field: serializers.Field) -> str:
    if isinstance(field, serializers.DateTimeField):
        return "datetime"
    if isinstance(field, serializers.DateField):
        return "date"
    if isinstance(field, serializers.DecimalField):
        return "decimal"
    return ""


def serializer_columns(serializer, *, exclude: Iterable[str] = (), prefix: str = "",
                       label_prefix: str = "") -> list[Column]:
    """The readable fields of ``serializer``, nested serializers flattened into dotted columns, with
    personal-data fields and ``exclude`` (names or dotted paths) left out."""
    if isinstance(serializer, serializers.ListSerializer):
        serializer = serializer.child
    exclude = set(exclude)
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    fields = serializer.fields
    # A choice field shown twice, as its code (``state``) and its label (``get_state_display``).
    displayed = {f.source[len(DISPLAY_PREFIX):-len(DISPLAY_SUFFIX)] for f in fields.values()
                 if f.source and f.source.startswith(DISPLAY_PREFIX) and f.source.endswith(DISPLAY_SUFFIX)}
    columns: list[Column] = []
    for name, field in fields.items():
        key = f"{prefix}{name}"
        if field.write_only or name in exports.PERSONAL_DATA_FIELDS or name in exclude or key in exclude:
            continue
        label = field_label(field, name, model)
        if field.source in displayed:
            label = gettext("%(label)s (code)") % {"label": label}
        label = f"{label_prefix} · {label}" if label_prefix else label
        if isinstance(field, serializers.Serializer):  # a nested object (many=True is a ListSerializer)
            columns += serializer_columns(field, exclude=exclude, prefix=f"{key}.", label_prefix=label)
        else:
            columns.append((key, label, _kind(field)))
    return _distinct_labels(columns) if not prefix else columns


def _distinct_labels(columns: list[Column]) -> list[Column]:
    """A header that two columns would share is told apart by the later column's key."""
    seen: set[str] = set()
    distinct = []
    for key, label, kind in columns:
        distinct.append((key, f"{label} ({key})" if label in seen else label, kind))
        seen.add(label)
    return distinct


def _typed(value: Any, kind: str) -> Any:
    """Serializer output back to the value a spreadsheet should hold (a real time, not its ISO text)."""
    if not isinstance(value, str) or not value or not kind:
        return value
    try:
        if kind == "datetime":
            return datetime.datetime.fromisoformat(value)
        if kind == "date":
            return datetime.date.fromisoformat(value)
        return decimal.Decimal(value)
    except (ValueError, decimal.InvalidOperation):
        return value


# --- The schema --------------------------------------------------------------------------------------


class ExportSchema(AutoSchema):
    """The list's JSON answer as before, plus the ``format`` parameter and the two file types."""

    def map_renderers(self, attribute: str):
        # Only JSON's media types carry the serializer's schema; the files are added below.
        return [m for m in super().map_renderers(attribute)
                if m not in {getattr(r, attribute) for r in EXPORT_RENDERERS}]

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method != "GET":
            return parameters
        return [*parameters, OpenApiParameter(
            FORMAT_PARAM, OpenApiTypes.STR, enum=["json", *exports.FORMATS],
            description=gettext("json (the default); csv or xlsx: every row of the filtered list as a file "
                                "(no pagination; at most the export limit of rows, else 400 export_too_large)."),
        )]

    def get_response_serializers(self):
        serializer = super().get_response_serializers()
        if self.method != "GET" or not _one_serializer(serializer):
            return serializer
        file = OpenApiResponse(OpenApiTypes.BINARY)
        return {
            **{(200, media): serializer for media in self.map_renderers("media_type")},
            (200, CSVRenderer.media_type): file,
            (200, XLSXRenderer.media_type): file,
        }


def _one_serializer(serializer) -> bool:
    """A single serializer (not an ``@extend_schema`` responses override the view already set)."""
    return isinstance(serializer, serializers.BaseSerializer)


# --- The mixin ---------------------------------------------------------------------------------------


class ExportMixin:
    """``?format=csv`` / ``?format=xlsx`` on a DRF list view: see the module docstring."""

    export_exclude: Iterable[str] = ()
    export_name: str = ""
    export_title: str = ""
    schema = ExportSchema()

    def get_renderers(self):
        return [*super().get_renderers(), *(renderer() for renderer in EXPORT_RENDERERS)]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            # DRF answers an unknown ?format= with 404; here the parameter is documented: say what is wrong.
            if request.query_params.get(FORMAT_PARAM) is None:
                raise
            raise serializers.ValidationError(
                {FORMAT_PARAM: [gettext("Choose one of: json, csv, xlsx.")]}) from None

    def list(self, request, *args, **kwargs):
        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(renderer, ExportRenderer):
            return self.export(request, renderer.format)
        return super().list(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(response, "accepted_renderer", None)
        if isinstance(response, Response) and isinstance(renderer, ExportRenderer):
            # Not the export itself (that is a file response): a refusal, or another method's answer.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    # --- the export

    def export_columns(self, serializer) -> list[Column]:
        return serializer_columns(serializer, exclude=self.export_exclude)

    def export_objects(self, queryset: QuerySet) -> Iterator:
        """The objects, a chunk at a time. Override to load per chunk what ``list()`` loads per page."""
        if not queryset.ordered:
            queryset = queryset.order_by("pk")  # a stable order on every database
        return queryset.iterator(chunk_size=CHUNK_SIZE)

    def export_list_name(self, queryset: QuerySet) -> str:
        """The list in the audit row, and the ASCII fallback of the file name: ``api.dispatch.event``."""
        return self.export_name or f"api.{queryset.model._meta.label_lower}"

    def export_file_title(self, queryset: QuerySet) -> str:
        return str(self.export_title or capfirst(queryset.model._meta.verbose_name_plural))

    def export(self, request, fmt: str):
        queryset = self.filter_queryset(self.get_queryset())
        serializer = self.get_serializer()
        columns = self.export_columns(serializer)
        kinds = {key: kind for key, _label, kind in columns if kind}

        def row(obj) -> dict:
            flat = flatten(serializer.to_representation(obj))
            return {key: _typed(value, kinds.get(key, "")) for key, value in flat.items()}

        client = client_of(request)
        filters = exports.query_filters(request.query_params, ignore=PAGING_PARAMS)
        return exports.export_list(
            actor=request.user, list_name=self.export_list_name(queryset), objects=_Chunked(queryset, self),
            row=row, columns=[(key, label) for key, label, _kind in columns],
            filename=exports.dated_filename(self.export_file_title(queryset), fmt), fmt=fmt,
            filters=filters, channel=f"api:{client.name}" if client else "api",
        )


class _Chunked:
    """A queryset as ``export_list`` takes it (``count()`` then iteration), iterated by the view."""

    def __init__(self, queryset: QuerySet, view: ExportMixin):
        self.queryset, self.view = queryset, view

    def __len__(self) -> int:
        return self.queryset.count()

    def __iter__(self):
        return iter(self.view.export_objects(self.queryset))
