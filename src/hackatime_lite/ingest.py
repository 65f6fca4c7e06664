"""Heartbeat ingestion, free of any transport: validate → normalise → dedup hash → store.

Callers hand over decoded JSON items plus request context and get one result per item, in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import time as time_module
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import unquote_plus

import msgspec

from hackatime_lite.errors import InputError
from hackatime_lite.models import BROWSING_TYPES, HEARTBEAT_COLUMNS, HEARTBEAT_TYPES, Heartbeat, User
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import HeartbeatRow, InsertOutcome
from hackatime_lite.text.clean import clean_text
from hackatime_lite.text.json_items import split_array
from hackatime_lite.text.languages import language_for_entity
from hackatime_lite.text.useragent import parse_user_agent

# Old times are fine (offline queues replay weeks later) but nothing predates WakaTime itself.
EARLIEST_TIME = 946684800.0  # 2000-01-01
FUTURE_TOLERANCE = 86400.0
# Clients with millisecond, microsecond or nanosecond clocks: (the unit's upper bound, its divisor). Each
# range starts where the one before ends in seconds (1e11 s is the year 5138), so one value has one reading;
# a value beyond them all (1e30) is no time at all rather than seconds scaled down until they look plausible.
TIME_UNITS = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6), (1e20, 1e9))
# A heartbeat nests two levels (object, dependencies list). Far deeper is junk or an attack, and decoding it
# would recurse once per level, so such an item is refused unread.
MAX_ITEM_DEPTH = 64
ESSENTIAL_FIELDS = frozenset({"entity", "time", "type", "timestamp", "entity_type"})
MAX_DEPENDENCIES = 100
FIELD_CAPS = {
    "entity": 2048,
    "project": 512,
    "branch": 512,
    "language": 128,
    "category": 64,
    "user_agent": 1024,
    "editor": 128,
    "operating_system": 128,
    "machine": 256,
    "ai_session": 256,
    "ai_model": 256,
    "dependency": 256,
}
PLACEHOLDERS = {"<<LAST_PROJECT>>": "project", "<<LAST_LANGUAGE>>": "language", "<<LAST_BRANCH>>": "branch"}
_INT32_MAX = 2_147_483_647


# Editors send counters that overflow; an out-of-range counter is noise, not a reason to drop the heartbeat.
# msgspec checks the range in C: a body with such a value fails the typed decode and takes the lenient
# per-item path, whose conversion drops just that field (like any badly typed optional field).
Counter = Annotated[int, msgspec.Meta(ge=-_INT32_MAX, le=_INT32_MAX)]


class HeartbeatIn(msgspec.Struct, kw_only=True):
    """A heartbeat as clients send it. Lenient: unknown keys ignored, numeric strings coerced."""

    entity: str
    time: float | None = None
    type: str | None = None
    category: str | None = None
    project: str | None = None
    branch: str | None = None
    language: str | None = None
    dependencies: list[str] | str | None = None
    lines: Counter | None = None
    lineno: Counter | None = None
    cursorpos: Counter | None = None
    is_write: bool | None = None
    project_root_count: Counter | None = None
    line_additions: Counter | None = None
    line_deletions: Counter | None = None
    ai_line_changes: Counter | None = None
    human_line_changes: Counter | None = None
    ai_session: str | None = None
    ai_model: str | None = None
    ai_input_tokens: Counter | None = None
    ai_output_tokens: Counter | None = None
    ai_prompt_length: Counter | None = None
    user_agent: str | None = None
    machine: str | None = None
    editor: str | None = None
    operating_system: str | None = None
    # Aliases written by wakatime-cli's --extra-heartbeats.
    entity_type: str | None = None
    timestamp: float | None = None


# Decodes a whole request body in C; bodies it cannot type (a bad item somewhere) take the per-item path.
batch_decoder = msgspec.json.Decoder(list[HeartbeatIn] | HeartbeatIn, strict=False)
_item_decoder = msgspec.json.Decoder(HeartbeatIn, strict=False)
# Untyped, for what the typed decoders refuse (then converted field by field). A literal beyond float range
# (1e999) becomes ±inf instead of failing the whole decode, so only the field holding it is refused.
_any_decoder = msgspec.json.Decoder(float_hook=float)
# What a decoder raises for unreadable input: msgspec's errors (ValidationError among them), invalid UTF-8
# in a string, and nesting deeper than the interpreter's recursion limit.
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


@dataclass(frozen=True)
class Unreadable:
    """A bulk item that could not be decoded on its own: it gets a per-item 400, its neighbours are stored."""

    reason: str


class BatchTooLarge(InputError):
    """More heartbeats in one request than the settings allow (HTTP 413)."""

    status_code = 413


def _decode_error_reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "invalid UTF-8 in a string"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _decode_item(chunk: bytes, depth: int) -> Any:
    """One item of a bulk body: a HeartbeatIn, other decoded JSON for the lenient path, or Unreadable."""
    if depth > MAX_ITEM_DEPTH:
        return Unreadable(f"heartbeat is nested more than {MAX_ITEM_DEPTH} levels deep")
    try:
        return _item_decoder.decode(chunk)
    except msgspec.ValidationError:
        pass  # readable JSON that needs the field-by-field conversion
    except _DECODE_ERRORS as exc:
        return Unreadable(f"heartbeat is not valid JSON: {_decode_error_reason(exc)}")
    try:
        return _any_decoder.decode(chunk)
    except _DECODE_ERRORS as exc:
        return Unreadable(f"heartbeat is not valid JSON: {_decode_error_reason(exc)}")


def decode_body(raw: bytes, max_items: int) -> tuple[list[Any], bool]:
    """The items of a request body and whether it was a JSON array (bulk) rather than one object.

    Items are HeartbeatIn (the fast path), other decoded JSON (the lenient path) or Unreadable (an item of
    an array that no decoder can read: invalid UTF-8, NaN, thousands of levels deep). Only a body whose top
    level cannot be read is refused whole (InputError, 400); more than `max_items` is BatchTooLarge.
    """
    decoded: Any
    try:
        decoded = batch_decoder.decode(raw)
    except _DECODE_ERRORS:
        try:
            decoded = _any_decoder.decode(raw)
        except _DECODE_ERRORS as exc:
            chunks = split_array(raw, max_items)
            if chunks is None:
                raise InputError(f"invalid JSON: {_decode_error_reason(exc)}") from None
            decoded = [_decode_item(chunk, depth) for chunk, depth in chunks[: max_items + 1]]
    is_bulk = isinstance(decoded, list)
    items = decoded if is_bulk else [decoded]
    if not items:
        raise InputError("no heartbeats in request")
    if len(items) > max_items:
        raise BatchTooLarge(
            f"too many heartbeats in one request (more than {max_items}); send them in batches"
        )
    return items, is_bulk


@dataclass(frozen=True)
class IngestContext:
    user: User
    user_agent: str | None = None
    machine: str | None = None
    source: str = "direct"
    now: float = field(default_factory=time_module.time)
    # X-Origin chain of mirroring instances this batch already passed through (loops stop at our own id).
    origins: tuple[str, ...] = ()
    # Called with (this context, the results) once the batch is committed: live updates, metrics.
    observer: Callable[[IngestContext, list[ItemResult]], None] | None = None


class ItemResult:
    """One item's answer: 201 with the stored id (`created` False for a duplicate), or 400 with the reason.

    A plain slotted class rather than a dataclass, and `heartbeat` built only when asked for (the single-POST
    answer echoes it; a bulk answer does not): one small object per item on the hot path.
    """

    __slots__ = ("_row", "created", "error", "heartbeat_id", "status")

    def __init__(self, status: int, error: str | None = None, heartbeat_id: int | None = None,
                 created: bool = False, row: HeartbeatRow | None = None) -> None:
        self.status = status
        self.error = error
        self.heartbeat_id = heartbeat_id
        self.created = created
        self._row = row

    @property
    def time(self) -> float | None:
        """The stored heartbeat's time (None for a rejected item), without building the Heartbeat."""
        return None if self._row is None else self._row[_TIME]

    @property
    def heartbeat(self) -> Heartbeat | None:
        """The stored heartbeat (with its id), or None for a rejected item."""
        if self._row is None:
            return None
        hb = heartbeat_from_row(self._row)
        hb.id = self.heartbeat_id
        return hb

    def __repr__(self) -> str:
        return f"ItemResult({self.status}, {self.error!r}, {self.heartbeat_id!r}, created={self.created})"


class ItemRejected(ValueError):
    """One heartbeat is invalid; the client should drop it (per-item 400)."""


def decode_machine_header(raw: str | None) -> str | None:
    return clean_text(unquote_plus(raw), FIELD_CAPS["machine"]) if raw else None


def normalise_time(value: float, now: float) -> float:
    if not math.isfinite(value):
        raise ItemRejected("time must be a finite number of seconds")
    for bound, divisor in TIME_UNITS:
        if value < bound:
            value /= divisor
            break
    else:
        raise ItemRejected("time is not a plausible epoch time in seconds, ms, µs or ns")
    if value < EARLIEST_TIME:
        raise ItemRejected("time is not a plausible epoch time in seconds")
    if value > now + FUTURE_TOLERANCE:
        raise ItemRejected("time is in the future")
    return value


def _hash_key(user_id: int, entity: str, hb_type: str, category: str, project: str | None, branch: str | None,
              language: str | None, is_write: bool | None, time_value: float) -> bytes:
    # The fields joined by \x1f, None as "" (an f-string: one allocation, not a generator of str() calls).
    return (f"{user_id}\x1f{entity}\x1f{hb_type}\x1f{category}\x1f{'' if project is None else project}\x1f"
            f"{'' if branch is None else branch}\x1f{'' if language is None else language}\x1f"
            f"{'' if is_write is None else is_write}\x1f{round(time_value * 1000)}").encode()


def dedup_hash(hb: Heartbeat) -> bytes:
    """Identity of a heartbeat across resends, imports and exports (not affected by UA parsing)."""
    key = _hash_key(hb.user_id, hb.entity, hb.type, hb.category, hb.project, hb.branch, hb.language,
                    hb.is_write, hb.time)
    return hashlib.sha256(key).digest()[:16]


def heartbeat_from_row(row: HeartbeatRow) -> Heartbeat:
    """The Heartbeat a row in HEARTBEAT_COLUMNS order stores (dependencies decoded, is_write a bool)."""
    values = dict(zip(HEARTBEAT_COLUMNS, row, strict=True))
    del values["dedup_hash"], values["created_at"]
    values["dependencies"] = msgspec.json.decode(row[_DEPS]) if row[_DEPS] else None
    values["is_write"] = None if row[_IS_WRITE] is None else bool(row[_IS_WRITE])
    return Heartbeat(**values)


def _prepare_raw(item: Any) -> dict[str, Any]:
    if isinstance(item, Unreadable):
        raise ItemRejected(item.reason)
    if not isinstance(item, dict):
        raise ItemRejected("each heartbeat must be a JSON object")
    raw = dict(item)
    deps = raw.get("dependencies")
    if isinstance(deps, list):
        raw["dependencies"] = [d for d in deps if isinstance(d, str)]
    return raw


def _convert(raw: dict[str, Any]) -> HeartbeatIn:
    """Convert leniently: a badly typed optional field is dropped, a badly typed essential one rejects."""
    for _ in range(len(raw) + 1):
        try:
            return msgspec.convert(raw, HeartbeatIn, strict=False)
        except msgspec.ValidationError as exc:
            message = str(exc)
            match = re.search(r"at `\$\.(\w+)", message)
            name = match.group(1) if match else None
            if "missing required field" in message:
                missing = re.search(r"`(\w+)`", message)
                raise ItemRejected(f"{missing.group(1) if missing else 'a field'} is required") from exc
            if name is None or name in ESSENTIAL_FIELDS or name not in raw:
                raise ItemRejected(message) from exc
            raw = {k: v for k, v in raw.items() if k != name}
    raise ItemRejected("heartbeat could not be read")


def _clean(value: str | None, cap: int) -> str | None:
    """clean_text, with the answer for nearly every real value (printable, trimmed, within its cap) found
    without a copy. Of the whitespace characters only the ASCII space is printable, so checking both ends
    for it is all `strip()` would do to a printable value."""
    if value is None:
        return None
    if value and len(value) <= cap and value.isprintable() and value[0] != " " and value[-1] != " ":
        return value
    return clean_text(value, cap)


_DEPS = HEARTBEAT_COLUMNS.index("dependencies")
_TIME = HEARTBEAT_COLUMNS.index("time")
_IS_WRITE = HEARTBEAT_COLUMNS.index("is_write")
_ENTITY_CAP = FIELD_CAPS["entity"]
_CATEGORY_CAP = FIELD_CAPS["category"]
_PROJECT_CAP = FIELD_CAPS["project"]
_BRANCH_CAP = FIELD_CAPS["branch"]
_LANGUAGE_CAP = FIELD_CAPS["language"]
_UA_CAP = FIELD_CAPS["user_agent"]
_EDITOR_CAP = FIELD_CAPS["editor"]
_OS_CAP = FIELD_CAPS["operating_system"]
_MACHINE_CAP = FIELD_CAPS["machine"]
_AI_SESSION_CAP = FIELD_CAPS["ai_session"]
_AI_MODEL_CAP = FIELD_CAPS["ai_model"]
_DEPENDENCY_CAP = FIELD_CAPS["dependency"]
_TYPE_ERROR = f"type must be one of {', '.join(sorted(HEARTBEAT_TYPES))}"
_sha256 = hashlib.sha256


class Normaliser:
    """Turns wire heartbeats into stored ones for one request (user, headers, placeholders).

    `row()` is the hot path: a HeartbeatIn straight to the stored tuple (HEARTBEAT_COLUMNS order, dedup hash
    included), with what repeats within a request (the header user agent and what it parses to, the
    dependency lists, languages by file name) worked out once. `normalise()` gives the same heartbeat as a
    Heartbeat struct (imports).
    """

    def __init__(self, ctx: IngestContext, last_fields: Callable[[], dict[str, str | None]]) -> None:
        self.ctx = ctx
        self._stored_last_loader = last_fields
        self._stored_last: dict[str, str | None] | None = None
        self._batch_last: dict[str, str] = {}
        self._header_machine = decode_machine_header(ctx.machine)
        self._user_id = ctx.user.id
        # The newest time taken as seconds without a second look: not in the future, and below the bound
        # where normalise_time would read it as milliseconds.
        self._latest = min(ctx.now + FUTURE_TOLERANCE, math.nextafter(TIME_UNITS[0][0], 0.0))
        # The request's User-Agent header, cleaned and parsed once (items that carry their own are parsed
        # each: parse_user_agent keeps its own cache).
        self._header_ua = clean_text(ctx.user_agent, _UA_CAP)
        self._header_ua_parsed = parse_user_agent(self._header_ua)
        self._deps: dict[tuple[str, ...], str | None] = {}
        self._languages: dict[str, str | None] = {}

    def _previous(self, name: str) -> str | None:
        """Value of the previous heartbeat in this batch, else of the user's newest stored one."""
        if name in self._batch_last:
            return self._batch_last[name]
        if self._stored_last is None:
            self._stored_last = self._stored_last_loader()
        return self._stored_last.get(name)

    def _dependencies(self, deps: list[str] | str) -> str | None:
        """The stored form (JSON text) of a dependency list: cleaned, de-duplicated, capped; None if empty."""
        key = tuple(deps.split(",")) if isinstance(deps, str) else tuple(deps)
        if key in self._deps:
            return self._deps[key]
        cleaned = [d for d in (clean_text(d, _DEPENDENCY_CAP) for d in key) if d]
        unique = list(dict.fromkeys(cleaned))[:MAX_DEPENDENCIES]
        stored = msgspec.json.encode(unique).decode() if unique else None
        self._deps[key] = stored
        return stored

    def _language(self, entity: str) -> str | None:
        if entity not in self._languages:
            self._languages[entity] = language_for_entity(entity)
        return self._languages[entity]

    def row(self, item: Any) -> HeartbeatRow:
        """`item` (a HeartbeatIn, the typed fast path, or any decoded JSON value, the lenient path) as the
        row to store; ItemRejected says why it cannot be."""
        incoming = item if type(item) is HeartbeatIn else _convert(_prepare_raw(item))
        entity = _clean(incoming.entity, _ENTITY_CAP)
        if not entity:
            raise ItemRejected("entity is required")
        time_value = incoming.time
        if time_value is None:
            time_value = incoming.timestamp
            if time_value is None:
                raise ItemRejected("time is required")
        hb_type = incoming.type or incoming.entity_type or "file"
        if hb_type not in HEARTBEAT_TYPES:
            hb_type = hb_type.strip().lower()
            if hb_type not in HEARTBEAT_TYPES:
                raise ItemRejected(_TYPE_ERROR)
        # Seconds already in the plausible range are what normalise_time would return unchanged.
        if not EARLIEST_TIME <= time_value <= self._latest:
            time_value = normalise_time(time_value, self.ctx.now)
        category = _clean(incoming.category, _CATEGORY_CAP)
        category = category.lower() if category else ("browsing" if hb_type in BROWSING_TYPES else "coding")

        project = _clean(incoming.project, _PROJECT_CAP)
        if project in PLACEHOLDERS:
            project = self._previous(PLACEHOLDERS[project])
        branch = _clean(incoming.branch, _BRANCH_CAP)
        if branch in PLACEHOLDERS:
            branch = self._previous(PLACEHOLDERS[branch])
        language = _clean(incoming.language, _LANGUAGE_CAP)
        if language in PLACEHOLDERS:
            language = self._previous(PLACEHOLDERS[language])
        if language is None and hb_type == "file":
            language = self._language(entity)
        batch_last = self._batch_last
        if project:
            batch_last["project"] = project
        if branch:
            batch_last["branch"] = branch
        if language:
            batch_last["language"] = language

        if incoming.user_agent:
            user_agent = clean_text(incoming.user_agent, _UA_CAP)
            parsed_editor, parsed_os = parse_user_agent(user_agent)
        else:
            user_agent = self._header_ua
            parsed_editor, parsed_os = self._header_ua_parsed
        editor = incoming.editor
        if editor is not None:
            editor = _clean(editor, _EDITOR_CAP)
        operating_system = incoming.operating_system
        if operating_system is not None:
            operating_system = _clean(operating_system, _OS_CAP)
        machine = incoming.machine
        if machine is not None:
            machine = _clean(machine, _MACHINE_CAP)
        deps = incoming.dependencies
        is_write = incoming.is_write
        user_id = self._user_id
        return (
            user_id,
            time_value,
            entity,
            hb_type,
            category,
            project,
            branch,
            language,
            self._dependencies(deps) if deps else None,
            incoming.lines,
            incoming.lineno,
            incoming.cursorpos,
            None if is_write is None else int(is_write),
            incoming.project_root_count,
            incoming.line_additions,
            incoming.line_deletions,
            incoming.ai_line_changes,
            incoming.human_line_changes,
            _clean(incoming.ai_session, _AI_SESSION_CAP),
            _clean(incoming.ai_model, _AI_MODEL_CAP),
            incoming.ai_input_tokens,
            incoming.ai_output_tokens,
            incoming.ai_prompt_length,
            user_agent,
            editor or parsed_editor,
            operating_system or parsed_os,
            machine or self._header_machine,
            self.ctx.source,
            _sha256(_hash_key(user_id, entity, hb_type, category, project, branch, language, is_write,
                              time_value)).digest()[:16],
            self.ctx.now,
        )

    def normalise(self, item: Any) -> Heartbeat:
        """`item` as a Heartbeat: the same values `row()` stores."""
        return heartbeat_from_row(self.row(item))


class PreparedBatch:
    """Validated heartbeats (`rows`, ready for one write transaction) and per-item rejections."""

    def __init__(self, store: StoreBackend, items: Sequence[Any], ctx: IngestContext) -> None:
        self.ctx = ctx
        self.store = store
        row = Normaliser(ctx, lambda: store.latest_heartbeat_fields(ctx.user.id)).row
        self.size = len(items)
        self.rows: list[HeartbeatRow] = []
        # Position -> reason of the rejected items (most batches have none).
        self.rejected: dict[int, str] = {}
        rows = self.rows
        for position, item in enumerate(items):
            try:
                rows.append(row(item))
            except ItemRejected as exc:
                self.rejected[position] = str(exc)

    def insert(self) -> Future[list[InsertOutcome]]:
        """Queue the insert (new rows also queued for the user's mirrors, in the same transaction)."""
        return self.store.insert_heartbeats(self.rows, user_id=self.ctx.user.id, source=self.ctx.source,
                                            origins=self.ctx.origins, now=self.ctx.now)

    def finish(self, outcomes: list[InsertOutcome]) -> list[ItemResult]:
        """One result per item, in input order."""
        stored = [ItemResult(201, None, heartbeat_id, created, row)
                  for row, (heartbeat_id, created) in zip(self.rows, outcomes, strict=True)]
        if not self.rejected:
            return stored
        results: list[ItemResult] = []
        next_stored = iter(stored)
        for position in range(self.size):
            reason = self.rejected.get(position)
            results.append(next(next_stored) if reason is None else ItemResult(400, reason))
        return results


def ingest(store: StoreBackend, items: Sequence[Any], ctx: IngestContext) -> list[ItemResult]:
    """Store the valid items in one transaction; returns once they are committed."""
    batch = PreparedBatch(store, items, ctx)
    outcomes = batch.insert().result() if batch.rows else []
    results = batch.finish(outcomes)
    if ctx.observer is not None:
        ctx.observer(ctx, results)
    return results


async def ingest_async(store: StoreBackend, items: Sequence[Any], ctx: IngestContext) -> list[ItemResult]:
    batch = PreparedBatch(store, items, ctx)
    outcomes: list[InsertOutcome] = []
    if batch.rows:
        outcomes = await asyncio.wrap_future(batch.insert())
    results = batch.finish(outcomes)
    if ctx.observer is not None:
        ctx.observer(ctx, results)
    return results
