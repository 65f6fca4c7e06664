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
from typing import Any
from urllib.parse import unquote_plus

import msgspec

from hackatime_lite.errors import InputError
from hackatime_lite.models import BROWSING_TYPES, HEARTBEAT_TYPES, Heartbeat, User
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import HeartbeatRow, InsertOutcome, heartbeat_row
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
    lines: int | None = None
    lineno: int | None = None
    cursorpos: int | None = None
    is_write: bool | None = None
    project_root_count: int | None = None
    line_additions: int | None = None
    line_deletions: int | None = None
    ai_line_changes: int | None = None
    human_line_changes: int | None = None
    ai_session: str | None = None
    ai_model: str | None = None
    ai_input_tokens: int | None = None
    ai_output_tokens: int | None = None
    ai_prompt_length: int | None = None
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


_INT_FIELDS = frozenset(f.name for f in msgspec.structs.fields(HeartbeatIn) if f.type == (int | None))


@dataclass(frozen=True)
class IngestContext:
    user: User
    user_agent: str | None = None
    machine: str | None = None
    source: str = "direct"
    now: float = field(default_factory=time_module.time)
    # X-Origin chain of mirroring instances this batch already passed through (loops stop at our own id).
    origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemResult:
    status: int
    error: str | None = None
    heartbeat_id: int | None = None
    heartbeat: Heartbeat | None = None
    created: bool = False


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


def dedup_hash(hb: Heartbeat) -> bytes:
    """Identity of a heartbeat across resends, imports and exports (not affected by UA parsing)."""
    parts = (
        hb.user_id,
        hb.entity,
        hb.type,
        hb.category,
        hb.project,
        hb.branch,
        hb.language,
        hb.is_write,
        round(hb.time * 1000),
    )
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).digest()[:16]


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


def _counter(value: int | None) -> int | None:
    # Editors send counters that overflow; an out-of-range counter is noise, not a reason to drop the heartbeat.
    return value if value is None or -_INT32_MAX <= value <= _INT32_MAX else None


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


class Normaliser:
    """Turns wire heartbeats into stored ones for one request (user, headers, placeholders)."""

    def __init__(self, ctx: IngestContext, last_fields: Callable[[], dict[str, str | None]]) -> None:
        self.ctx = ctx
        self._stored_last_loader = last_fields
        self._stored_last: dict[str, str | None] | None = None
        self._batch_last: dict[str, str] = {}
        self._header_machine = decode_machine_header(ctx.machine)

    def _previous(self, name: str) -> str | None:
        """Value of the previous heartbeat in this batch, else of the user's newest stored one."""
        if name in self._batch_last:
            return self._batch_last[name]
        if self._stored_last is None:
            self._stored_last = self._stored_last_loader()
        return self._stored_last.get(name)

    def normalise(self, item: Any) -> Heartbeat:
        """`item` is a HeartbeatIn (typed fast path) or any decoded JSON value (lenient path)."""
        incoming = item if isinstance(item, HeartbeatIn) else _convert(_prepare_raw(item))
        entity = clean_text(incoming.entity, FIELD_CAPS["entity"])
        if not entity:
            raise ItemRejected("entity is required")
        time_value = incoming.time if incoming.time is not None else incoming.timestamp
        if time_value is None:
            raise ItemRejected("time is required")
        hb_type = (incoming.type or incoming.entity_type or "file").strip().lower()
        if hb_type not in HEARTBEAT_TYPES:
            raise ItemRejected(f"type must be one of {', '.join(sorted(HEARTBEAT_TYPES))}")
        category = clean_text(incoming.category, FIELD_CAPS["category"])
        category = category.lower() if category else ("browsing" if hb_type in BROWSING_TYPES else "coding")

        values: dict[str, str | None] = {}
        for name in ("project", "branch", "language"):
            value = clean_text(getattr(incoming, name), FIELD_CAPS[name])
            if value in PLACEHOLDERS:
                value = self._previous(PLACEHOLDERS[value])
            values[name] = value
        if values["language"] is None and hb_type == "file":
            values["language"] = language_for_entity(entity)

        user_agent = clean_text(incoming.user_agent or self.ctx.user_agent, FIELD_CAPS["user_agent"])
        parsed_editor, parsed_os = parse_user_agent(user_agent)
        editor = clean_text(incoming.editor, FIELD_CAPS["editor"]) or parsed_editor
        operating_system = clean_text(incoming.operating_system, FIELD_CAPS["operating_system"]) or parsed_os

        deps = incoming.dependencies
        if isinstance(deps, str):
            deps = deps.split(",")
        cleaned_deps = [d for d in (clean_text(d, FIELD_CAPS["dependency"]) for d in deps or ()) if d]
        dependencies = list(dict.fromkeys(cleaned_deps))[:MAX_DEPENDENCIES] or None

        hb = Heartbeat(
            user_id=self.ctx.user.id,
            time=normalise_time(time_value, self.ctx.now),
            entity=entity,
            type=hb_type,
            category=category,
            project=values["project"],
            branch=values["branch"],
            language=values["language"],
            dependencies=dependencies,
            lines=_counter(incoming.lines),
            lineno=_counter(incoming.lineno),
            cursorpos=_counter(incoming.cursorpos),
            is_write=incoming.is_write,
            project_root_count=_counter(incoming.project_root_count),
            line_additions=_counter(incoming.line_additions),
            line_deletions=_counter(incoming.line_deletions),
            ai_line_changes=_counter(incoming.ai_line_changes),
            human_line_changes=_counter(incoming.human_line_changes),
            ai_session=clean_text(incoming.ai_session, FIELD_CAPS["ai_session"]),
            ai_model=clean_text(incoming.ai_model, FIELD_CAPS["ai_model"]),
            ai_input_tokens=_counter(incoming.ai_input_tokens),
            ai_output_tokens=_counter(incoming.ai_output_tokens),
            ai_prompt_length=_counter(incoming.ai_prompt_length),
            user_agent=user_agent,
            editor=editor,
            operating_system=operating_system,
            machine=clean_text(incoming.machine, FIELD_CAPS["machine"]) or self._header_machine,
            source=self.ctx.source,
        )
        self._batch_last.update({k: v for k, v in values.items() if v})
        return hb


class PreparedBatch:
    """Validated heartbeats and per-item rejections, ready for one write transaction."""

    def __init__(self, store: StoreBackend, items: Sequence[Any], ctx: IngestContext) -> None:
        self.ctx = ctx
        self.store = store
        normaliser = Normaliser(ctx, lambda: store.latest_heartbeat_fields(ctx.user.id))
        self.results: list[ItemResult | None] = []
        self.rows: list[HeartbeatRow] = []
        self.positions: list[int] = []
        self.heartbeats: list[Heartbeat] = []
        for position, item in enumerate(items):
            try:
                hb = normaliser.normalise(item)
            except ItemRejected as exc:
                self.results.append(ItemResult(400, str(exc)))
                continue
            self.results.append(None)
            self.positions.append(position)
            self.heartbeats.append(hb)
            self.rows.append(heartbeat_row(hb, dedup_hash(hb), ctx.now))

    def insert(self) -> Future[list[InsertOutcome]]:
        """Queue the insert (new rows also queued for the user's mirrors, in the same transaction)."""
        return self.store.insert_heartbeats(self.rows, user_id=self.ctx.user.id, source=self.ctx.source,
                                            origins=self.ctx.origins, now=self.ctx.now)

    def finish(self, outcomes: list[InsertOutcome]) -> list[ItemResult]:
        for position, hb, (heartbeat_id, created) in zip(
            self.positions, self.heartbeats, outcomes, strict=True
        ):
            hb.id = heartbeat_id
            self.results[position] = ItemResult(201, None, heartbeat_id, hb, created)
        return [r for r in self.results if r is not None]


def ingest(store: StoreBackend, items: Sequence[Any], ctx: IngestContext) -> list[ItemResult]:
    """Store the valid items in one transaction; returns once they are committed."""
    batch = PreparedBatch(store, items, ctx)
    outcomes = batch.insert().result() if batch.rows else []
    return batch.finish(outcomes)


async def ingest_async(store: StoreBackend, items: Sequence[Any], ctx: IngestContext) -> list[ItemResult]:
    batch = PreparedBatch(store, items, ctx)
    outcomes: list[InsertOutcome] = []
    if batch.rows:
        outcomes = await asyncio.wrap_future(batch.insert())
    return batch.finish(outcomes)
