"""File importers: WakaTime's data dump (`days[].heartbeats[]`) and our own JSON/CSV exports, streamed.

Transactional rule: a file is read twice. The first pass only checks it (well-formed JSON/CSV with the
expected structure) and writes nothing, so a malformed or truncated file is refused whole. The second pass
normalises and inserts in chunks of a few thousand rows (one transaction each, so live ingest never waits
long). Items that are individually invalid are skipped and counted, as ingest answers them with a per-item
400. If the second pass is interrupted, importing the same file again completes it: rows dedupe by hash.

A WakaTime dump names each heartbeat's user agent and machine by id; the top-level `user_agents` and
`machines` / `machine_names` lists (anywhere in the file) are read before the second pass to resolve them.
A dump whose days hold summaries but no heartbeats (WakaTime's summaries-only export) is refused whole.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import ijson

from hackatime_lite.data.importers.common import (
    CountingReader,
    ImportFailed,
    ImportProgress,
    ImportSink,
    ImportStats,
    ProgressFn,
    no_progress,
)
from hackatime_lite.models import User
from hackatime_lite.store import StoreBackend

FORMATS = ("wakatime-dump", "json", "csv")
EXPORT_FORMAT_TAG = "hackatime-lite-heartbeats"
_SNIFF_BYTES = 64 * 1024
_SCAN_BYTES = 1024 * 1024
_PROGRESS_EVERY = 2000
_UUID_LENGTH = 36
_EXPORT_TAG_FIELD = re.compile(rb'"format"\s*:\s*"' + re.escape(EXPORT_FORMAT_TAG.encode()) + rb'"')
csv.field_size_limit(1024 * 1024)


def detect_format(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        # The tag as the value of `format` (a heartbeat's text could contain the tag, escaped, but not this).
        return "json" if _EXPORT_TAG_FIELD.search(head) else "wakatime-dump"
    if head.startswith(b"["):
        return "json"
    return "csv"


class UserAgentRef(NamedTuple):
    """One entry of a dump's `user_agents` list: the header value and the editor / OS WakaTime read from it."""

    value: str | None
    editor: str | None
    operating_system: str | None


@dataclass
class Lookups:
    """A dump's (or an upstream's) id → user agent and id → machine name lists, which heartbeats refer to."""

    user_agents: dict[str, UserAgentRef] = field(default_factory=dict)
    machines: dict[str, str] = field(default_factory=dict)

    def add_user_agent(self, entry: Any) -> None:
        key = _lookup_id(entry)
        if key is None:
            return
        ref = UserAgentRef(_text(entry.get("value")), _text(entry.get("editor")),
                           _text(entry.get("os")) or _text(entry.get("operating_system")))
        if any(ref):
            self.user_agents[key] = ref

    def add_machine(self, entry: Any) -> None:
        key = _lookup_id(entry)
        if key is None:
            return
        # `value` is the host name heartbeats were sent with; `name` the label a user may have given it.
        name = _text(entry.get("value")) or _text(entry.get("name"))
        if name:
            self.machines[key] = name


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id_text(ident: Any) -> str | None:
    """An id as the lookups key it (WakaTime's are strings; some tools write numbers)."""
    return str(ident) if isinstance(ident, str | int) and not isinstance(ident, bool) and ident != "" else None


def _lookup_id(entry: Any) -> str | None:
    return _id_text(entry.get("id")) if isinstance(entry, dict) else None


def _unresolved(value: Any) -> str | None:
    """An id not in the lookups: Wakapi puts the value itself in the *_id field; a bare UUID names nothing."""
    if not isinstance(value, str) or not value:
        return None
    looks_like_uuid = len(value) == _UUID_LENGTH and value.count("-") == 4
    return None if looks_like_uuid else value


def wakatime_item(raw: Any, lookups: Lookups | None = None) -> Any:
    """A heartbeat from WakaTime's dump or heartbeats API, as ingest's wire item (ids resolved through the
    lookups: user agent with its editor and OS, machine name)."""
    if not isinstance(raw, dict):
        return raw
    item = dict(raw)
    found = lookups or Lookups()
    if not item.get("user_agent"):
        agent = found.user_agents.get(_id_text(item.get("user_agent_id")) or "")
        if agent is not None:
            item["user_agent"] = agent.value
            # The dump's own reading of the agent wins over ours, so editor and OS survive a round trip.
            item["editor"] = item.get("editor") or agent.editor
            item["operating_system"] = item.get("operating_system") or agent.operating_system
        else:
            item["user_agent"] = _unresolved(item.get("user_agent_id"))
    if not item.get("machine"):
        item["machine"] = (item.get("machine_name") or found.machines.get(_id_text(item.get("machine_name_id")) or "")
                           or _unresolved(item.get("machine_name_id")))
    return item


# -- readers: each yields wire items from a binary stream --------------------------------------------
def _json_items(stream: BinaryIO, prefix: str) -> Iterator[Any]:
    return ijson.items(stream, prefix, use_float=True)


def _json_prefix(path: Path, fmt: str) -> str:
    if fmt == "wakatime-dump":
        return "days.item.heartbeats.item"
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "item" if head.startswith(b"[") else "heartbeats.item"


def _csv_value(name: str, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if name == "dependencies" and value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if name == "time":
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _csv_rows(stream: BinaryIO) -> Iterator[tuple[list[str], list[str]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    header = next(reader, None)
    if not header or "entity" not in header or "time" not in header:
        raise ImportFailed("the CSV file needs a header row with at least the columns entity and time")
    for row in reader:
        if len(row) != len(header):
            raise ImportFailed(f"CSV line {reader.line_num} has {len(row)} fields, the header has {len(header)}")
        yield header, row


def _csv_items(stream: BinaryIO) -> Iterator[Any]:
    for header, row in _csv_rows(stream):
        yield {name: _csv_value(name, value) for name, value in zip(header, row, strict=True)}


def _items(stream: BinaryIO, path: Path, fmt: str, lookups: Lookups | None = None) -> Iterator[Any]:
    if fmt == "csv":
        return _csv_items(stream)
    items = _json_items(stream, _json_prefix(path, fmt))
    return (wakatime_item(i, lookups) for i in items) if fmt == "wakatime-dump" else items


def _keys_present(path: Path, keys: tuple[str, ...]) -> list[str]:
    """Which of the quoted keys occur anywhere in the file (a byte scan, far faster than parsing)."""
    needles = {key: f'"{key}"'.encode() for key in keys}
    overlap = max(len(n) for n in needles.values()) - 1
    found: set[str] = set()
    tail = b""
    with path.open("rb") as handle:
        while len(found) < len(keys) and (block := handle.read(_SCAN_BYTES)):
            window = tail + block
            found.update(key for key, needle in needles.items() if needle in window)
            tail = window[-overlap:]
    return [key for key in keys if key in found]


def read_lookups(path: Path) -> Lookups:
    """A WakaTime dump's top-level `user_agents` and `machines` / `machine_names` lists, wherever they are in
    the file (WakaTime's heartbeats name their user agent and machine only by id). One parse per list present."""
    lookups = Lookups()
    adders = {"user_agents": lookups.add_user_agent, "machines": lookups.add_machine,
              "machine_names": lookups.add_machine}
    for key in _keys_present(path, tuple(adders)):
        with path.open("rb") as handle:
            for entry in ijson.items(handle, f"{key}.item", use_float=True):
                adders[key](entry)
    return lookups


def _refuse_summaries_only(path: Path) -> None:
    """A dump without a single heartbeat whose days carry no `heartbeats` list is WakaTime's summaries-only
    dump: coding time is computed from heartbeats, so nothing in it can be imported. Say so, not "0 new"."""
    with path.open("rb") as handle:
        days = sum(1 for day in ijson.items(handle, "days.item", use_float=True)
                   if isinstance(day, dict) and "heartbeats" not in day)
    if days:
        raise ImportFailed(
            f"this WakaTime dump has daily summaries ({days:,} days) but no heartbeats, so there is nothing to "
            "import: coding time is computed from heartbeats, and WakaTime's summaries-only export leaves them "
            "out. Request a new data dump on wakatime.com (account settings, Export) of type heartbeats, "
            "and import that file.")


def _check_top_level(path: Path, fmt: str) -> None:
    """The dump must be an object with a `days` array (an export: an object with `heartbeats`, or an array)."""
    expected = "days" if fmt == "wakatime-dump" else "heartbeats"
    with path.open("rb") as handle:
        events = ijson.parse(handle)
        first = next(events, None)
        if first is None:
            raise ImportFailed("the file is empty")
        if first[1] == "start_array" and fmt == "json":
            return
        if first[1] != "start_map":
            raise ImportFailed(f"the file is not a JSON object with a `{expected}` list")
        for prefix, event, value in events:
            if prefix == "" and event == "map_key" and value == expected:
                _, kind, _ = next(events)
                if kind != "start_array":
                    raise ImportFailed(f"`{expected}` must be a list")
                return
            if prefix == "" and event == "end_map":
                break
    raise ImportFailed(f"the file has no `{expected}` list; is it a "
                       f"{'WakaTime data dump' if fmt == 'wakatime-dump' else 'hackatime-lite export'}?")


def _read_errors() -> tuple[type[BaseException], ...]:
    return (ijson.JSONError, UnicodeDecodeError, csv.Error)


def _describe(exc: BaseException, position: int) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"the file is not UTF-8 text (near byte {position})"
    if isinstance(exc, csv.Error):
        return f"the CSV file is malformed: {exc}"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"the file is not valid JSON ({detail}, near byte {position})"


def validate_file(path: Path, fmt: str, on_progress: ProgressFn = no_progress) -> int:
    """First pass: the whole file parses with the expected structure. Returns the number of items."""
    total = path.stat().st_size
    stats = ImportStats()
    with path.open("rb") as raw:
        counter = CountingReader(raw)
        stream = io.BufferedReader(counter)
        try:
            if fmt != "csv":
                _check_top_level(path, fmt)
            count = 0
            for _ in _items(stream, path, fmt):
                count += 1
                if count % _PROGRESS_EVERY == 0:
                    on_progress(ImportProgress("validating", counter.count, total, stats))
            if count == 0 and fmt == "wakatime-dump":
                _refuse_summaries_only(path)
        except _read_errors() as exc:
            raise ImportFailed(_describe(exc, counter.count)) from exc
    on_progress(ImportProgress("validating", total, total, stats))
    return count


def import_file(store: StoreBackend, user: User, path: Path, fmt: str | None = None, *,
                on_progress: ProgressFn = no_progress, should_stop: Callable[[], bool] | None = None,
                chunk_rows: int | None = None) -> ImportStats:
    """Import a WakaTime dump or one of our exports for `user` (see the module doc for the transactional rule)."""
    path = Path(path)
    if not path.is_file():
        raise ImportFailed(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise ImportFailed("the file is empty")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ImportFailed(f"unknown import format {fmt!r}; use one of {', '.join(FORMATS)}")
    validate_file(path, fmt, on_progress)
    try:
        lookups = read_lookups(path) if fmt == "wakatime-dump" else None
    except _read_errors() as exc:  # the file changed since the first pass
        raise ImportFailed(_describe(exc, 0)) from exc
    total = path.stat().st_size
    # Our own exports carry each row's source: doctor's test heartbeats stay `test` (left out of all figures).
    sink = ImportSink(store, user, should_stop=should_stop, keep_test_source=fmt in ("json", "csv"),
                      **({"chunk_rows": chunk_rows} if chunk_rows else {}))
    with path.open("rb") as raw:
        counter = CountingReader(raw)
        stream = io.BufferedReader(counter)
        try:
            for item in _items(stream, path, fmt, lookups):
                sink.add(item)
                if sink.stats.read % _PROGRESS_EVERY == 0:
                    on_progress(ImportProgress("importing", counter.count, total, sink.stats))
        except _read_errors() as exc:  # the file changed since the first pass
            sink.flush()
            raise ImportFailed(_describe(exc, counter.count)) from exc
        sink.flush()
    on_progress(ImportProgress("done", total, total, sink.stats))
    return sink.stats
