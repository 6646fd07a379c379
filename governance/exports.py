"""CSV and Excel exports of lists, for pages and the API alike.

One path for every export, so each is scoped, capped, audited and safe to open the same way:

- the rows come from the list's own scoping selector and filters (``events_visible_to`` … plus the
  page's filter form, or the API view's ``get_queryset`` + ``filter_queryset``): an export never
  shows a row its list would not;
- above ``export_max_rows()`` rows the export is refused ("narrow the filters") rather than cut short
  — a truncated file looks complete to whoever opens it;
- each export writes an audit row ``governance.list.exported`` (list, format, row count, filters);
- personal data (names, phones, ID numbers, home addresses of residents, callers, reporters) is never
  exported (../shared/domain/grids.md, "Personal data"): page lists choose columns without it, and
  the API export drops the fields named in ``PERSONAL_DATA_FIELDS`` whatever the serializer holds;
- cells starting with ``= + - @`` (or a tab / carriage return) get a leading apostrophe in both
  formats, so a case title like ``=HYPERLINK(…)`` stays text in Excel (CSV/formula injection).

CSV is UTF-8 with a byte-order mark (Excel on Chinese Windows reads it as UTF-8 only then), streamed
row by row. Excel files are written with openpyxl's write-only workbook: bold frozen header, column
widths from the header and the first rows, times as real Excel times in the platform's time zone.

Pages::

    fmt = requested_format(request)
    if fmt:
        return page_export(request, fmt=fmt, list_name="dispatch.workbench", title=_("Cases"),
                           objects=rows, columns=EVENT_COLUMNS, row=event_row)

The API uses ``governance.api.exports.ExportMixin``.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from governance.audit import audit_log
from governance.errors import DomainError
from governance.params import get_param

Column = tuple[str, Any]  # (key in the row dict, label shown in the header)

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXPORT_PARAM = "export"  # ?export=csv|xlsx on a list page
MAX_ROWS_PARAM = "governance.export_max_rows"
DEFAULT_MAX_ROWS = 100_000
CHUNK_SIZE = 2000  # rows fetched per query while exporting (queryset.iterator)
AUDIT_ACTION = "governance.list.exported"

# Field names that hold personal data, wherever they appear (top level or nested): never exported.
PERSONAL_DATA_FIELDS = frozenset({
    "contact_name", "contact_phone", "caller_name", "caller_phone", "reporter_name", "reporter_phone",
    "reporters", "phone", "mobile", "email", "id_number", "id_card", "household", "home_address",
})

# Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EXCEL_CELL_MAX = 32_767  # characters in one cell
CSV_BATCH = 500  # rows per streamed chunk
WIDTH_SAMPLE = 200  # rows read ahead to size the Excel columns
MIN_WIDTH, MAX_WIDTH = 8, 60


class ExportTooLarge(DomainError):
    code = "export_too_large"

    def __init__(self, count: int, limit: int):
        super().__init__(
            gettext("This list has %(count)s rows; an export holds at most %(limit)s. Narrow the filters and "
                    "export again.") % {"count": count, "limit": limit}
        )
        self.count, self.limit = count, limit


def export_max_rows() -> int:
    """The most rows one export may hold: the ``governance.export_max_rows`` parameter, else the
    ``EXPORT_MAX_ROWS`` setting, else 100 000."""
    return int(get_param(MAX_ROWS_PARAM, getattr(settings, "EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS)))


def check_size(count: int) -> None:
    limit = export_max_rows()
    if count > limit:
        raise ExportTooLarge(count, limit)


# --- Cells -----------------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text that a spreadsheet shows as text, never runs as a formula; characters Excel refuses
    dropped, and cut to what one Excel cell holds."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)[:EXCEL_CELL_MAX - 1]
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_value(value: Any, tz: datetime.tzinfo) -> Any:
    """A value as both formats hold it: numbers and dates as they are, times naive in ``tz`` (Excel
    has no time zones), yes/no in words, lists joined, everything else as safe text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, tz)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, (int, float, decimal.Decimal, datetime.date, datetime.time)):
        return value
    if isinstance(value, (list, tuple, set)):
        return neutralise("; ".join(str(v) for v in (cell_value(v, tz) for v in value) if v not in (None, "")))
    if isinstance(value, dict):
        return neutralise(json.dumps(value, ensure_ascii=False, default=str))
    return neutralise(str(value))


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


# --- Files -----------------------------------------------------------------------------------------


def content_disposition(filename: str, fallback: str = "") -> str:
    """``attachment`` with an ASCII ``filename`` for old clients (``fallback``, else the name with
    what is not ASCII dropped) and the real (Chinese) name as RFC 5987 ``filename*``."""
    stem, dot, ext = (fallback or filename).rpartition(".")
    if not dot:
        stem, ext = fallback or filename, ""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_stem).strip("-.")
    if not re.search(r"[A-Za-z]", ascii_stem):
        ascii_stem = f"export-{ascii_stem}".rstrip("-")
    fallback = f"{ascii_stem}.{ext}" if ext else ascii_stem
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def dated_filename(title: Any, fmt: str) -> str:
    """``案件-20240501.csv``: the list's name (or title) and today's date."""
    stem = re.sub(r'[\\/:*?"<>|\s]+', "_", str(title)).strip("_") or "export"
    return f"{stem}-{timezone.localdate():%Y%m%d}.{fmt}"


class _Echo:
    """A file-like whose write returns what it was given: csv.writer renders one row to a string."""

    def write(self, value: str) -> str:
        return value


def _csv_chunks(rows: Iterable[dict], columns: Sequence[Column], tz, language: str) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([str(label) for _key, label in columns])
    rows = iter(rows)
    while True:
        # The body is read after the view returned: render each batch in the request's language.
        with translation.override(language):
            batch = [
                writer.writerow([csv_text(cell_value(row.get(key), tz)) for key, _label in columns])
                for row in islice(rows, CSV_BATCH)
            ]
        if not batch:
            return
        yield "".join(batch)


def _display_width(value: Any) -> int:
    text = csv_text(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_xlsx(rows: Iterable[dict], columns: Sequence[Column], *, title: str, tz, out) -> None:
    """Write the rows as an Excel workbook into the binary file ``out``."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", "_", title)[:31] or "Sheet1")
    rows = iter(rows)
    sample = [[cell_value(row.get(key), tz) for key, _label in columns] for row in islice(rows, WIDTH_SAMPLE)]
    labels = [str(label) for _key, label in columns]
    # Widths and the frozen header must be set before the first row is written (write-only sheets).
    for index, label in enumerate(labels, start=1):
        widest = max([_display_width(label) + 2, *(_display_width(r[index - 1]) + 1 for r in sample)])
        sheet.column_dimensions[get_column_letter(index)].width = max(MIN_WIDTH, min(MAX_WIDTH, widest))
    sheet.freeze_panes = "A2"
    header = []
    for label in labels:
        cell = WriteOnlyCell(sheet, value=neutralise(label))
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for values in sample:
        sheet.append(values)
    for row in rows:
        sheet.append([cell_value(row.get(key), tz) for key, _label in columns])
    workbook.save(out)


def export_response(rows: Iterable[dict], columns: Sequence[Column], *, filename: str, fmt: str,
                    ascii_filename: str = "") -> HttpResponseBase:
    """The rows as a downloadable CSV (streamed) or Excel file. ``columns``: ``(key, label)`` pairs,
    in order; each row is a dict by key. Times come out in the current time zone. ``filename`` may
    be Chinese; ``ascii_filename`` is what clients without RFC 5987 get."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if not filename.endswith(f".{fmt}"):
        filename = f"{filename}.{fmt}"
    tz = timezone.get_current_timezone()
    columns = [(key, str(label)) for key, label in columns]
    if fmt == CSV:
        response = StreamingHttpResponse(
            _csv_chunks(rows, columns, tz, translation.get_language() or settings.LANGUAGE_CODE),
            content_type=CONTENT_TYPES[CSV],
        )
    else:
        # An .xlsx is a zip written at the end: built here whole (openpyxl keeps the rows in a temporary
        # file meanwhile), then sent as one response.
        out = io.BytesIO()
        write_xlsx(rows, columns, title=filename.rsplit(".", 1)[0], tz=tz, out=out)
        response = HttpResponse(out.getvalue(), content_type=CONTENT_TYPES[XLSX])
    response["Content-Disposition"] = content_disposition(filename, ascii_filename)
    response["Cache-Control"] = "no-store"
    return response


# --- One export: scoped rows in, audited file out ------------------------------------------------


def objects_in_chunks(objects: QuerySet | Sequence, chunk_size: int = CHUNK_SIZE) -> Iterable:
    """Iterate a queryset a chunk at a time (its select_related and prefetch_related kept)."""
    if isinstance(objects, QuerySet):
        return objects.iterator(chunk_size=chunk_size)
    return objects


def export_list(
    *,
    actor,
    list_name: str,
    objects: QuerySet | Sequence,
    row: Callable[[Any], dict],
    columns: Sequence[Column],
    filename: str,
    fmt: str,
    filters: dict | None = None,
    channel: str = "page",
) -> HttpResponseBase:
    """Check the size, audit, and answer the file. Raises ``ExportTooLarge`` (nothing audited) when
    the list is over the limit."""
    count = objects.count() if isinstance(objects, QuerySet) else len(objects)
    check_size(count)
    audit_log(actor=actor, action=AUDIT_ACTION, data={
        "list": list_name, "format": fmt, "rows": count, "filters": filters or {}, "channel": channel,
    })
    return export_response((row(obj) for obj in objects_in_chunks(objects)), columns, filename=filename, fmt=fmt,
                           ascii_filename=dated_filename(list_name, fmt))


def query_filters(query, *, ignore: Iterable[str]) -> dict:
    """A QueryDict as ``{name: value}`` (``[values]`` when repeated), for the audit row."""
    ignore = set(ignore)
    return {key: values[0] if len(values) == 1 else values
            for key, values in query.lists() if key not in ignore and any(values)}


# --- Pages -----------------------------------------------------------------------------------------


def requested_format(request: HttpRequest) -> str | None:
    """``csv`` or ``xlsx`` when the page is asked for an export (``?export=``), else None."""
    fmt = request.GET.get(EXPORT_PARAM)
    return fmt if fmt in FORMATS else None


def export_links(request: HttpRequest) -> dict[str, str]:
    """The page's address with ``export=csv`` / ``export=xlsx`` added, its filters kept (no page number)."""
    links = {}
    for fmt in FORMATS:
        query = request.GET.copy()
        query.pop("page", None)
        query[EXPORT_PARAM] = fmt
        links[fmt] = f"?{query.urlencode()}"
    return links


def page_export(
    request: HttpRequest,
    *,
    fmt: str,
    list_name: str,
    title: Any,
    objects: QuerySet | Sequence,
    row: Callable[[Any], dict],
    columns: Sequence[Column],
) -> HttpResponseBase:
    """Every row ``objects`` holds (all pages of the list) as a file; over the limit, back to the list
    with a message."""
    try:
        return export_list(
            actor=request.user, list_name=list_name, objects=objects, row=row, columns=columns,
            filename=dated_filename(title, fmt), fmt=fmt,
            filters=query_filters(request.GET, ignore=(EXPORT_PARAM, "page")),
        )
    except ExportTooLarge as refusal:
        messages.error(request, refusal.message)
        query = request.GET.copy()
        query.pop(EXPORT_PARAM, None)
        return HttpResponseRedirect(f"{request.path}?{query.urlencode()}" if query else request.path)

