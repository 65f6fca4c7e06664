"""Heartbeat export as streamed JSON or CSV: every stored column (the source too: `doctor`'s test heartbeats
stay test heartbeats when imported), times at full precision; or WakaTime's data dump (data.wakatime_export).

Re-importing an export (importers.files) reproduces the same dedup hashes: same user → 0 new rows.
Chunks are read with keyset pagination, each chunk in one query, so the stream may be pulled from any thread.
"""

from __future__ import annotations

import csv
import io
import json
import operator
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from hackatime_lite.context import AppContext
from hackatime_lite.data.importers.files import EXPORT_FORMAT_TAG
from hackatime_lite.data.wakatime_export import wakatime_stream
from hackatime_lite.errors import InputError
from hackatime_lite.models import HEARTBEAT_COLUMNS, User
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import STORED_COLUMNS

# Heartbeat rows (every column) in JSON or CSV; `wakatime`: WakaTime's data-dump layout (data.wakatime_export).
HEARTBEAT_FORMATS = ("json", "csv")
EXPORT_FORMATS = (*HEARTBEAT_FORMATS, "wakatime")
EXPORT_VERSION = 1
CHUNK_ROWS = 2000
# Every stored column; the owner appears once in the JSON header instead of per row.
EXPORT_COLUMNS: tuple[str, ...] = ("id", *(c for c in HEARTBEAT_COLUMNS if c not in ("user_id", "dedup_hash")),
                                   "dedup_hash")
_AS_EXPORTED = operator.itemgetter(*(STORED_COLUMNS.index(name) for name in EXPORT_COLUMNS))
_TIME, _ID = STORED_COLUMNS.index("time"), STORED_COLUMNS.index("id")
_encoder = msgspec.json.Encoder()
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "wakatime": "application/json"}


class ExportError(InputError):
    """Bad export parameters; the message is safe to show."""


def _chunks(store: StoreBackend, user_id: int, start: float | None,
            end: float | None) -> Iterator[list[tuple[Any, ...]]]:
    """Rows in EXPORT_COLUMNS order, ordered by (time, id), CHUNK_ROWS at a time (one store read each)."""
    after: tuple[float, int] | None = None
    while True:
        rows = store.heartbeat_rows(user_id, start, end, after=after, limit=CHUNK_ROWS)
        if not rows:
            return
        yield [_AS_EXPORTED(row) for row in rows]
        after = (rows[-1][_TIME], rows[-1][_ID])
        if len(rows) < CHUNK_ROWS:
            return


def export_record(row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(EXPORT_COLUMNS, row, strict=True))
    deps = record["dependencies"]
    record["dependencies"] = json.loads(deps) if deps else None
    if record["is_write"] is not None:
        record["is_write"] = bool(record["is_write"])
    record["dedup_hash"] = record["dedup_hash"].hex() if record["dedup_hash"] is not None else None
    return record


def _json_stream(store: StoreBackend, user: User, start: float | None, end: float | None) -> Iterator[bytes]:
    header = {"format": EXPORT_FORMAT_TAG, "version": EXPORT_VERSION, "user": user.username,
              "timezone": user.timezone, "exported_at": time.time(), "from": start, "to": end}
    yield _encoder.encode(header)[:-1] + b', "heartbeats": ['
    separator = b"\n"
    for rows in _chunks(store, user.id, start, end):
        yield separator + b",\n".join(_encoder.encode(export_record(r)) for r in rows)
        separator = b",\n"
    yield b"\n]}\n"


def _csv_value(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "time" or isinstance(value, float):
        return repr(value)  # shortest exact round-trip text
    if name == "is_write":
        return "true" if value else "false"
    if name == "dedup_hash":
        return value.hex()
    return value


def _csv_stream(store: StoreBackend, user: User, start: float | None, end: float | None) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue().encode()
    for rows in _chunks(store, user.id, start, end):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_csv_value(n, v) for n, v in zip(EXPORT_COLUMNS, row, strict=True)] for row in rows)
        yield buffer.getvalue().encode()


def _check(fmt: str, formats: tuple[str, ...], start: float | None, end: float | None) -> None:
    if fmt not in formats:
        raise ExportError(f"format must be one of {', '.join(formats)}")
    if start is not None and end is not None and end < start:
        raise ExportError("`to` is before `from`")


def export_heartbeats(store: StoreBackend, user: User, fmt: str, start: float | None = None,
                      end: float | None = None) -> Iterator[bytes]:
    """The user's heartbeats in [start, end) as a stream of bytes in `fmt` (json or csv)."""
    _check(fmt, HEARTBEAT_FORMATS, start, end)
    return (_json_stream if fmt == "json" else _csv_stream)(store, user, start, end)


def export_stream(ctx: AppContext, user: User, fmt: str, start: float | None = None,
                  end: float | None = None) -> Iterator[bytes]:
    """Any export format as a stream of bytes; `wakatime` reads each day's figures from the replica."""
    _check(fmt, EXPORT_FORMATS, start, end)
    if fmt == "wakatime":
        ctx.require_replica()  # before the first byte: a stream cannot turn into an error answer later
        return wakatime_stream(ctx, user, start, end)
    return export_heartbeats(ctx.store, user, fmt, start, end)


def export_filename(user: User, fmt: str) -> str:
    if fmt == "wakatime":
        return f"hackatime-lite-{user.username}-wakatime.json"
    return f"hackatime-lite-{user.username}-heartbeats.{fmt}"
