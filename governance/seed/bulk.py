"""Fast writes for the synthetic city: binary COPY on PostgreSQL, batched INSERTs elsewhere (SQLite).

Rows are given as tuples in the order of the fields named (``write``) or column by column
(``write_columns``): ints, floats, strings, booleans, None, and — the conventions to know —
instants as whole epoch seconds (UTC), dates as ``YYYY-MM-DD`` strings, JSON as a pre-serialised
string, ``NULL_INT`` (-1) for NULL in numpy integer columns, and ``Coded`` for text columns of
few distinct values. Primary keys are given explicitly (``ids``), so steps link rows without
reading them back.

On PostgreSQL each table goes to the server in binary COPY buffers of ``CHUNK_ROWS`` rows (numbers
and instants travel as they are stored, so the server parses nothing but the text), sent by a
background thread while the main thread prepares the next buffer. Inside ``guarded`` every query of
the main thread first waits for what was sent before it, so the connection never carries two
things at once. ``lift`` takes the foreign keys and plain indexes off the big tables before the
load and ``restore`` puts them back, the foreign keys validated — the PostgreSQL manual's recipe
for populating a database — all inside the seeding transaction, so that a failure leaves the
schema as it was. A step's indexes are rebuilt by the COPY thread as soon as the step is done,
while the main thread prepares the next one.
"""

from __future__ import annotations

import datetime
import io
import json
import queue
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from itertools import islice

import numpy as np
from django.core.management.color import no_style
from django.db import models

CHUNK_ROWS = 50_000
NULL_INT = -1  # in a numpy integer column: NULL (every key, instant and count written is >= 0)
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_EPOCH_DAY = datetime.date(1970, 1, 1).toordinal()


class _Instants:
    """Epoch seconds → database text, with per-day and per-second-of-day strings cached."""

    def __init__(self, suffix: str):
        self.suffix = suffix
        self.days: dict[int, str] = {}
        self.times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]

    def __call__(self, t) -> str:
        day, second = divmod(int(t), 86400)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = datetime.date.fromordinal(_EPOCH_DAY + day).isoformat() + " "
        return prefix + self.times[second]


# PostgreSQL's binary COPY: column types we can send, as (numpy big-endian type, width).
_BINARY_TYPES = {"bigint": (">i8", 8), "integer": (">i4", 4), "smallint": (">i2", 2), "double precision": (">f8", 8),
                 "boolean": ("u1", 1), "timestamp with time zone": (">i8", 8), "date": (">i4", 4)}
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension length
_NULL_FIELD = b"\xff\xff\xff\xff"  # length -1
_INT32 = struct.Struct(">i")
_PG_EPOCH = 946_684_800  # 2000-01-01 UTC, the origin of PostgreSQL's binary timestamps and dates
_PG_EPOCH_DAY = datetime.date(2000, 1, 1).toordinal()


class Coded:
    """A text column of few distinct values: ``codes`` index into ``table`` (-1 for NULL). Each
    distinct string is encoded once; the rows' bytes are gathered by code."""

    __slots__ = ("codes", "table")

    def __init__(self, codes, table: Sequence[str]):
        self.codes = np.asarray(codes, np.int64)
        self.table = list(table)

    @classmethod
    def constant(cls, value: str, n: int) -> Coded:
        return cls(np.zeros(n, np.int64), [value])

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, key) -> Coded:
        return Coded(self.codes[key], self.table)

    def tolist(self) -> list:
        values = np.asarray(self.table + [None], object)
        return values[self.codes].tolist()  # -1 picks the None at the end


def _binary_type(field: models.Field, connection) -> str | None:
    """How the field travels in binary COPY: a key of _BINARY_TYPES, "text", "jsonb", or None."""
    db_type = (field.db_type(connection) or "").lower()
    if db_type in _BINARY_TYPES or db_type in ("text", "jsonb"):
        return db_type
    if db_type.startswith(("varchar", "character varying", "char")):
        return "text"
    return None


def _binary_field(kind: str, values, n: int) -> list[list[bytes]]:
    """One column as lists of byte strings whose row-wise concatenation is the field in binary
    COPY (its length, -1 for NULL, then its bytes). Integer numpy columns hold NULL_INT for NULL."""
    if kind in ("text", "jsonb"):
        prefix = b"\x01" if kind == "jsonb" else b""  # jsonb's binary format: a version byte, then text
        if isinstance(values, Coded):
            # Each distinct value once, with its length in front; the rows pick theirs by code.
            table = [prefix + v.encode() for v in values.table]
            entries = [_INT32.pack(len(e)) + e for e in table] + [_NULL_FIELD]
            return [np.asarray(entries, object)[values.codes].tolist()]
        if isinstance(values, np.ndarray):
            values = values.tolist()
        pack = _INT32.pack
        try:
            return [[pack(len(e)) + e for e in ((prefix + v.encode()) if prefix else v.encode() for v in values)]]
        except (AttributeError, TypeError):  # NULLs, or values to turn into text first
            return [[_NULL_FIELD if v is None else (lambda e: pack(len(e)) + e)(prefix + _as_text(kind, v).encode())
                     for v in values]]
    dtype, width = _BINARY_TYPES[kind]
    if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
        missing = values == NULL_INT if values.dtype.kind in "iu" else None
        raw = values
    elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
        missing, raw = None, values
    else:
        missing = np.fromiter((v is None for v in values), bool, n)
        if kind == "date":
            raw = np.fromiter((0 if v is None else (v if isinstance(v, datetime.date)
                                                    else datetime.date.fromisoformat(v)).toordinal() - _PG_EPOCH_DAY
                               for v in values), np.int64, n)
        else:
            raw = np.asarray([0 if v is None else v for v in values], np.float64 if dtype == ">f8" else np.int64)
    if kind == "timestamp with time zone":
        raw = (raw.astype(np.int64) - _PG_EPOCH) * 1_000_000
    elif kind == "boolean":
        raw = raw != 0
    block = np.empty((n, 4 + width), np.uint8)
    block[:, :4] = np.frombuffer(_INT32.pack(width), np.uint8)
    block[:, 4:] = raw.astype(dtype).reshape(n, 1).view(np.uint8)
    fields = block.view(f"V{4 + width}").ravel().tolist()
    if missing is not None and missing.any():
        for i in np.flatnonzero(missing).tolist():
            fields[i] = _NULL_FIELD
    return [fields]


def _as_text(kind: str, value) -> str:
    if type(value) is str:
        return value
    return json.dumps(value, ensure_ascii=False) if kind == "jsonb" else str(value)


def _binary_copy(kinds: list[str], columns: list, n: int) -> bytes:
    """A whole binary COPY stream (header, rows, trailer) for ``n`` rows: each column becomes lists
    of ready byte strings (numpy does the numbers), and each row is one C-level join of them."""
    lists = [part for kind, column in zip(kinds, columns, strict=True) for part in _binary_field(kind, column, n)]
    count = struct.pack(">h", len(kinds))
    return b"".join([_BINARY_HEADER, b"".join(map(b"".join, zip([count] * n, *lists, strict=True))), b"\xff\xff"])


def _kind(field: models.Field) -> str:
    internal = field.get_internal_type()
    if field.is_relation or internal in {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField",
                                         "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
                                         "PositiveSmallIntegerField", "PositiveBigIntegerField"}:
        return "int"
    return {"FloatField": "float", "BooleanField": "bool", "DateTimeField": "ts", "DateField": "date",
            "JSONField": "json"}.get(internal, "text")


class BulkWriter:
    def __init__(self, connection, *, log: Callable[[str], None] = print):
        self.connection = connection
        self.pg = connection.vendor == "postgresql"
        self.log = log
        self.counts: Counter[str] = Counter()
        self._next_id: dict[type[models.Model], int] = {}
        self._instant = _Instants("+00" if self.pg else "")
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.copy_seconds = 0.0  # time the COPY thread spent waiting on the server
        self.copy_by_table: Counter[str] = Counter()
        self.index_seconds = 0.0  # time spent re-creating lifted indexes and foreign keys
        self.restored = 0
        self._lifted: dict[str, list[str]] = {}
        self.touched: set[type[models.Model]] = set()

    # --- keys ------------------------------------------------------------------------------------

    def ids(self, model: type[models.Model], n: int) -> np.ndarray:
        """``n`` new primary keys for ``model``, after every key in use."""
        start = self._next_id.get(model)
        if start is None:
            self.drain()
            top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
            start = (top or 0) + 1
        self._next_id[model] = start + n
        return np.arange(start, start + n, dtype=np.int64)

    def prime(self, model_list: Iterable[type[models.Model]]) -> None:
        """Read the largest key of each model now, before anything is queued, so that ``ids`` never
        has to query (a query waits for every copy and index rebuild queued before it)."""
        for model in model_list:
            if model not in self._next_id and model._meta.pk is not None and not model._meta.proxy:
                top = model._default_manager.aggregate(top=models.Max("pk"))["top"]
                if top is None or isinstance(top, int):
                    self._next_id[model] = (top or 0) + 1

    def next_id(self, model: type[models.Model]) -> int:
        """One new primary key (for rows other rows must name before they are written)."""
        start = self._next_id.get(model)
        if start is None:
            start = int(self.ids(model, 1)[0])
        self._next_id[model] = start + 1
        return start

    # --- writing ---------------------------------------------------------------------------------

    def _columns(self, model, fields: Sequence[str]) -> tuple[list[str], list[str]]:
        columns, kinds = [], []
        for name in fields:
            field = model._meta.get_field(name)
            columns.append(field.column)
            kinds.append(_kind(field))
        return columns, kinds

    def _pg_column(self, kind: str, values: list) -> list[str] | map:
        """One column of a COPY buffer from Python values (None for NULL)."""
        has_null = None in values
        if kind == "int" and not has_null:
            return map(str, values)
        if kind == "float" and not has_null:
            try:
                return list(map(float.__repr__, values))
            except TypeError:  # ints among the floats
                return [repr(float(v)) for v in values]
        if kind in ("text", "json", "date"):
            try:  # all strings already: one C-level pass
                joined, strings = "\x01".join(values), values
            except TypeError:
                strings = [v if type(v) is str else (_NULL if v is None else
                                                     json.dumps(v, ensure_ascii=False) if kind == "json" else str(v))
                           for v in values]
                joined = "\x01".join(strings)
            if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
                strings = [v if v is _NULL else v.translate(_ESCAPES) for v in strings]
            return strings
        if kind == "ts":
            instant = self._instant
            return [_NULL if v is None else instant(v) for v in values]
        if kind == "bool":
            return [_NULL if v is None else ("t" if v else "f") for v in values]
        return [_NULL if v is None else (str(int(v)) if kind == "int" else repr(float(v))) for v in values]

    def _sqlite_column(self, kind: str, values: list) -> list:
        """One column of parameters for SQLite (Django's own storage formats)."""
        if kind == "ts":
            instant = self._instant
            return [None if v is None else instant(v) for v in values]
        if kind == "bool":
            return [None if v is None else int(bool(v)) for v in values]
        if kind == "json":
            return [None if v is None else (v if type(v) is str else json.dumps(v, ensure_ascii=False)) for v in values]
        if kind == "int":
            return [None if v is None else int(v) for v in values]
        if kind == "float":
            return [None if v is None else float(v) for v in values]
        return [None if v is None else str(v) for v in values]

    def write(self, model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
        """Insert ``rows`` (tuples in the order of ``fields``); returns how many."""
        n = 0
        iterator = iter(rows)
        while True:
            chunk = list(islice(iterator, CHUNK_ROWS))
            if not chunk:
                break
            columns = list(zip(*chunk, strict=True))
            if len(columns) != len(fields):
                raise ValueError(f"{model._meta.label}: rows of {len(columns)} values for {len(fields)} fields")
            n += self.write_columns(model, fields, columns)
        return n

    def write_columns(self, model: type[models.Model], fields: Sequence[str], columns: Sequence[Sequence]) -> int:
        """Insert rows given column by column: each column a sequence (list, tuple or numpy array;
        None for NULL in lists, NULL_INT in numpy integer columns) of equal length."""
        names, kinds = self._columns(model, fields)
        if len(columns) != len(kinds):
            raise ValueError(f"{model._meta.label}: {len(columns)} columns for {len(kinds)} fields")
        total = len(columns[0]) if len(columns) else 0
        if any(len(c) != total for c in columns):
            raise ValueError(f"{model._meta.label}: columns of different lengths")
        quote = self.connection.ops.quote_name
        table, column_list = quote(model._meta.db_table), ", ".join(quote(c) for c in names)
        binary = [_binary_type(model._meta.get_field(f), self.connection) for f in fields] if self.pg else []
        if self.pg and None not in binary:
            sql = f"COPY {table} ({column_list}) FROM STDIN WITH (FORMAT binary)"
            for start in range(0, total, CHUNK_ROWS):
                n = min(CHUNK_ROWS, total - start)
                self._send(sql, _binary_copy(binary, [c[start:start + n] for c in columns], n))
        elif self.pg:  # a column type the binary encoder does not know: text COPY
            sql = f"COPY {table} ({column_list}) FROM STDIN"
            for start in range(0, total, CHUNK_ROWS):
                formatted = [self._text_column(kind, column[start:start + CHUNK_ROWS])
                             for kind, column in zip(kinds, columns, strict=True)]
                self._send(sql, "\n".join(map("\t".join, zip(*formatted, strict=True))) + "\n")
        else:
            sql = f"INSERT INTO {table} ({column_list}) VALUES ({', '.join(['%s'] * len(names))})"
            for start in range(0, total, CHUNK_ROWS):
                formatted = [self._sqlite_column(kind, self._python(column[start:start + CHUNK_ROWS]))
                             for kind, column in zip(kinds, columns, strict=True)]
                with self.connection.cursor() as cursor:
                    cursor.executemany(sql, list(zip(*formatted, strict=True)))
        self.counts[model._meta.label] += total
        self.touched.add(model)
        return total

    @staticmethod
    def _python(column) -> list:
        """Plain Python values, None for NULL."""
        if isinstance(column, Coded):
            return column.tolist()
        if not isinstance(column, np.ndarray):
            return list(column)
        values = column.tolist()
        if column.dtype.kind in "iu":
            missing = np.flatnonzero(column == NULL_INT)
            for i in missing.tolist():
                values[i] = None
        return values

    def _text_column(self, kind: str, column) -> list[str]:
        return list(self._pg_column(kind, self._python(column)))

    def update(self, model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence]) -> int:
        """``UPDATE … SET fields WHERE pk``: rows are (pk, *values). For a few thousand rows at most."""
        self.drain()
        _columns, kinds = self._columns(model, fields)
        formatters = [lambda v, kind=kind: self._sqlite_column(kind, [v])[0] for kind in kinds]
        quote = self.connection.ops.quote_name
        assignments = ", ".join(f"{quote(model._meta.get_field(f).column)} = %s" for f in fields)
        sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
        if self.pg:  # parameters, not COPY: psycopg2 adapts them; instants as text with their offset
            formatters = [self._pg_param(model._meta.get_field(f)) for f in fields]
        params = [[f(v) for f, v in zip(formatters, values, strict=True)] + [pk] for pk, *values in rows]
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, params)
        return len(params)

    def _pg_param(self, field) -> Callable:
        kind = _kind(field)
        if kind == "json":
            return lambda v: None if v is None else (v if type(v) is str else json.dumps(v, ensure_ascii=False))
        if kind == "ts":
            return lambda v: None if v is None else self._instant(v)
        return lambda v: v

    # --- the COPY thread (PostgreSQL) -------------------------------------------------------------

    @contextmanager
    def guarded(self):
        """While the COPY thread streams, the connection must carry nothing else: every query of this
        thread (the steps' own ORM reads and writes) first waits for the copies sent before it."""
        def wait_for_copies(execute, sql, params, many, context):
            self.drain()
            return execute(sql, params, many, context)

        with self.connection.execute_wrapper(wait_for_copies):
            yield

    def _send(self, sql: str, text: str | bytes) -> None:
        self._put(("copy", sql, text))

    def _put(self, item: tuple) -> None:
        if self._error is not None:
            raise self._error
        if self._thread is None:
            self.connection.ensure_connection()
            self._queue = queue.Queue(maxsize=2)
            # ``django.db.connection`` is per thread: hand the thread this thread's psycopg2 connection.
            self._thread = threading.Thread(target=self._copy_loop, args=(self.connection.connection,),
                                            name="seed-copy", daemon=True)
            self._thread.start()
        self._queue.put(item)

    def _copy_loop(self, raw) -> None:
        """Runs in the COPY thread; ``raw`` is the psycopg2 connection, inside the caller's transaction."""
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    if item[0] == "copy":
                        started = time.perf_counter()
                        data = io.BytesIO(item[2]) if isinstance(item[2], bytes) else io.StringIO(item[2])
                        with raw.cursor() as cursor:
                            cursor.copy_expert(item[1], data, size=1 << 20)
                        spent = time.perf_counter() - started
                        self.copy_seconds += spent
                        self.copy_by_table[item[1].split('"')[1]] += spent
                    else:
                        self._run_sql(raw, item[1])
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
                self._error = exc
            finally:
                self._queue.task_done()

    def _run_sql(self, raw, statements: list[str]) -> None:
        started = time.perf_counter()
        with raw.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
        self.index_seconds += time.perf_counter() - started

    def drain(self) -> None:
        """Wait until every buffer sent has been copied; raise what the server refused."""
        if self._queue is not None:
            self._queue.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """After a failure: let the COPY thread finish what it holds (errors ignored), so the
        rollback that follows does not race it."""
        if self._thread is not None:
            try:
                self._queue.join()
            finally:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error

    # --- around the load ---------------------------------------------------------------------------

    def lift(self, model_list: Sequence[type[models.Model]]) -> None:
        """PostgreSQL: drop the foreign keys and plain (non-unique) indexes of these tables, to be
        re-created by ``restore`` — the foreign keys validated. Partial indexes stay: they hold a
        small share of the rows (e.g. live cases only), and PostgreSQL would write a re-created
        predicate back in another (equivalent) form than the migration's. Call inside the seeding transaction
        and before anything is written: PostgreSQL's DDL is transactional, so if the load fails the
        rollback brings every index and constraint back unchanged."""
        if not self.pg:
            return
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            for model in model_list:
                table = model._meta.db_table
                if table in self._lifted:
                    continue
                saved = self._lifted[table] = []
                cursor.execute(
                    """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                       WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname""", [table])
                for name, definition in cursor.fetchall():
                    saved.append(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
                    cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
                cursor.execute(
                    """SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                       JOIN pg_class c ON c.oid = i.indexrelid
                       WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT i.indisunique
                         AND i.indpred IS NULL
                         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                       ORDER BY c.relname""", [table])
                for name, definition in cursor.fetchall():
                    saved.insert(0, definition)  # indexes before foreign keys: the checks use them
                    cursor.execute(f"DROP INDEX {quote(name)}")

    def restore(self, model_list: Sequence[type[models.Model]] | None = None) -> None:
        """Re-create what ``lift`` dropped for these tables (all when None). Queued behind the copies
        already sent, so the server builds the indexes while this thread goes on to the next step."""
        tables = [m._meta.db_table for m in model_list] if model_list is not None else list(self._lifted)
        statements = [sql for table in tables for sql in self._lifted.pop(table, [])]
        if not statements:
            return
        # Deferred checks queued by the small tables run first, so no table altered has pending
        # trigger events; then the usual deferred mode again.
        statements = ["SET CONSTRAINTS ALL IMMEDIATE", "SET CONSTRAINTS ALL DEFERRED",
                      "SET LOCAL maintenance_work_mem = '512MB'", *statements]
        self.restored += sum(1 for sql in statements if sql.startswith(("CREATE", "ALTER")))
        if self._thread is None:
            self._run_sql(self.connection.connection, statements)
        else:
            self._put(("sql", statements))

    def reset_sequences(self) -> None:
        """After explicit keys: move each PostgreSQL sequence past the largest key
        (SQLite's AUTOINCREMENT counter follows explicit keys by itself)."""
        self.drain()
        statements = self.connection.ops.sequence_reset_sql(no_style(), sorted(self.touched, key=str))
        if statements:
            with self.connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)

    def analyze(self) -> None:
        """Fresh planner statistics for every table written (run after the commit)."""
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            for model in sorted(self.touched, key=str):
                cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")
