"""POST heartbeats: single and bulk, on every base path and the aliases old clients post to."""

from __future__ import annotations

import dataclasses
import functools
import zlib
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, post
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, RequestBody
from litestar.params import FromPath
from litestar.status_codes import (
    HTTP_201_CREATED,
    HTTP_400_BAD_REQUEST,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)

from hackatime_lite.api.auth import authenticate, require_write, resolve_user
from hackatime_lite.api.openapi import KEYED, UNKNOWN_USER, ApiOperation, documented
from hackatime_lite.api.wakatime import on_every_base
from hackatime_lite.api.wakatime.schemas import BulkResponse, SingleResponse
from hackatime_lite.context import AppContext
from hackatime_lite.ingest import HeartbeatIn, IngestContext, ItemResult, decode_body, ingest_async
from hackatime_lite.store.origins import parse_origins
from hackatime_lite.text.clean import clean_text

_ACCEPTED_CONTENT_TYPES = ("application/json", "text/plain", "application/octet-stream", "")
_encoder = msgspec.json.Encoder()
_OK_ITEM: dict[str, Any] = {"data": None, "error": None}
# `hackatime-lite doctor` marks its probe heartbeat with this header: stored as source 'test', which the
# analytics leave out of every figure.
TEST_HEADER = "x-hackatime-test"


@functools.cache
def heartbeat_json_schema() -> dict[str, Any]:
    """JSON schema of one incoming heartbeat (self-contained: HeartbeatIn has no nested structs)."""
    (_,), components = msgspec.json.schema_components([HeartbeatIn])
    return components["HeartbeatIn"]


@dataclasses.dataclass
class HeartbeatBodyOperation(ApiOperation):
    """Documents the body we parse by hand (leniently) so the OpenAPI schema still shows it."""

    def body(self) -> RequestBody | None:
        schema = heartbeat_json_schema()
        return RequestBody(
            required=True,
            description="One heartbeat object, or a JSON array of them (bulk).",
            content={
                "application/json": OpenAPIMediaType(
                    schema={"oneOf": [schema, {"type": "array", "items": schema}]}  # type: ignore[arg-type]  # a plain JSON schema
                )
            },
        )


# Every status a heartbeat POST answers. Per-item problems in a batch are answered inside the bulk body.
_ERRORS = (
    *KEYED,
    (403, "the API key is read-only, or (`{user}` routes) the user is another (only admins may post for others)"),
    (HTTP_400_BAD_REQUEST, "unparsable JSON, an empty batch, or (single heartbeat) an invalid heartbeat"),
    (HTTP_413_REQUEST_ENTITY_TOO_LARGE, "body or batch too large"),
    (HTTP_415_UNSUPPORTED_MEDIA_TYPE,
     "a content type other than JSON (or text/plain, octet-stream), or a content encoding other than gzip/deflate"),
)
_BULK_ANSWER = "one `[body, status]` per item, in input order"
_BULK_RESPONSES: dict[int, Any] = {
    HTTP_201_CREATED: ResponseSpec(BulkResponse, generate_examples=False, description=_BULK_ANSWER),
}
_SINGLE_RESPONSES: dict[int, Any] = {
    HTTP_201_CREATED: ResponseSpec(
        SingleResponse | BulkResponse,  # type: ignore[arg-type]  # a union is a valid data container for Litestar
        generate_examples=False,
        description=f"one heartbeat: stored (or a duplicate); a JSON array: {_BULK_ANSWER}",
    ),
}


def _json(body: Any, status: int) -> Response[bytes]:
    return Response(_encoder.encode(body), status_code=status, media_type=MediaType.JSON)


def _too_large() -> HTTPException:
    return HTTPException("request body too large", status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE)


def _decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding, never more than `limit` bytes of it.

    The size a gzip stream claims is not trusted: output is produced at most `limit` + 1 bytes at a time, so
    a small body that inflates to gigabytes is refused (413) having cost at most that much memory.
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise HTTPException(f"unsupported content encoding {encoding[:32]!r}; send gzip or plain JSON",
                            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE)
    out = bytearray()
    data = raw
    while data:  # gzip allows several members back to back
        # wbits MAX_WBITS | 32: a gzip or a zlib header, detected (HTTP "deflate" is zlib-wrapped).
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:  # also a trailer whose length or checksum does not match
            raise HTTPException(f"body is not valid {encoding}: {exc}", status_code=HTTP_400_BAD_REQUEST) from exc
        if len(out) > limit:
            raise _too_large()
        if not inflater.eof:
            raise HTTPException(f"body is not valid {encoding}: truncated", status_code=HTTP_400_BAD_REQUEST)
        data = inflater.unused_data
    return bytes(out)


def _parse_body(request: Request, raw: bytes, ctx: AppContext) -> tuple[list[Any], bool]:
    """The items and whether the body was a JSON array (bulk answer) rather than one object."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() not in _ACCEPTED_CONTENT_TYPES:
        raise HTTPException(
            "heartbeats must be sent as application/json", status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE
        )
    if len(raw) > ctx.settings.max_body_bytes:
        raise _too_large()
    raw = _decompress(raw, request.headers.get("content-encoding", ""), ctx.settings.max_body_bytes)
    # Unparsable JSON and an empty batch are InputErrors (400), too many heartbeats BatchTooLarge (413).
    return decode_body(raw, ctx.settings.max_heartbeats_per_request)


def _bulk_entry(result: ItemResult) -> tuple[dict[str, Any], int]:
    # No echoed data: the newest CLI matches echoed heartbeats and would resend a normalised one forever.
    return (_OK_ITEM, result.status) if result.error is None else ({"error": result.error}, result.status)


@functools.lru_cache(maxsize=64)
def _all_stored_body(count: int) -> bytes:
    """The bulk answer when every item was stored: the same bytes for every batch of `count` (cached)."""
    return _encoder.encode({"responses": [(_OK_ITEM, HTTP_201_CREATED)] * count})


def _bulk_body(results: list[ItemResult]) -> bytes:
    if all(r.error is None for r in results):
        return _all_stored_body(len(results))
    return _encoder.encode({"responses": [_bulk_entry(r) for r in results]})


async def _receive(request: Request, user_ref: str, force_bulk: bool) -> Response[bytes]:
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    require_write(caller)
    user = resolve_user(caller, user_ref, ctx.store)
    items, is_bulk = _parse_body(request, await request.body(), ctx)
    ingest_ctx = IngestContext(
        user=user,
        # Header values are cleaned by ingest like body fields (control characters stripped, capped).
        user_agent=request.headers.get("user-agent"),
        machine=request.headers.get("x-machine-name"),
        now=ctx.clock(),
        # Sent by mirroring instances (ours included): the chain of instances the heartbeats came through.
        # Stored with the outbox rows and sent on as a header, so cleaned like every stored header.
        origins=(origins := parse_origins(clean_text(request.headers.get("x-origin"), 2048))),
        source="mirror" if origins else ("test" if request.headers.get(TEST_HEADER) == "1" else "direct"),
        observer=ctx.observe_ingest,  # live dashboards and metrics, after the commit
    )
    results = await ingest_async(ctx.store, items, ingest_ctx)
    if is_bulk or force_bulk:
        # 201 as Wakapi and Hackatime answer: clients written for them accept nothing else, and both
        # WakaTime CLIs accept it as well as WakaTime's own 202 (COMPAT.md).
        return Response(_bulk_body(results), status_code=HTTP_201_CREATED, media_type=MediaType.JSON)
    result = results[0]
    if result.error is not None or result.heartbeat is None:
        return _json({"error": result.error or "invalid heartbeat"}, result.status)  # api/errors.py's shape
    hb = result.heartbeat
    return _json(
        {"data": {"id": str(result.heartbeat_id), "entity": hb.entity, "type": hb.type, "time": hb.time}},
        HTTP_201_CREATED,
    )


_COMMON: dict[str, Any] = {
    "tags": ["heartbeats (WakaTime)"],
    "status_code": HTTP_201_CREATED,  # what the docs show; each handler sets its answer's status itself
}
_BULK_DOC = documented(_ERRORS, UNKNOWN_USER, responses=_BULK_RESPONSES, operation_class=HeartbeatBodyOperation)
_SINGLE_DOC = documented(_ERRORS, UNKNOWN_USER, responses=_SINGLE_RESPONSES, operation_class=HeartbeatBodyOperation)
# The routes without `{user}` post for the caller: no other user to be refused or not found.
_OWN_BULK_DOC = documented(_ERRORS, responses=_BULK_RESPONSES, operation_class=HeartbeatBodyOperation)
_OWN_SINGLE_DOC = documented(_ERRORS, responses=_SINGLE_RESPONSES, operation_class=HeartbeatBodyOperation)


@post(on_every_base("/users/{user:str}/heartbeats.bulk"), **_COMMON, **_BULK_DOC)
async def post_user_heartbeats_bulk(request: Request, user: FromPath[str]) -> Response[bytes]:
    return await _receive(request, user, force_bulk=True)


@post(on_every_base("/users/{user:str}/heartbeats"), **_COMMON, **_SINGLE_DOC)
async def post_user_heartbeats(request: Request, user: FromPath[str]) -> Response[bytes]:
    return await _receive(request, user, force_bulk=False)


@post(on_every_base("/heartbeats.bulk"), **_COMMON, **_OWN_BULK_DOC)
async def post_heartbeats_bulk(request: Request) -> Response[bytes]:
    return await _receive(request, "current", force_bulk=True)


# The legacy CLI posts to `api_url` verbatim, so the bare base paths take heartbeats too.
@post(on_every_base("/heartbeats", "/heartbeat", ""), **_COMMON, **_OWN_SINGLE_DOC)
async def post_heartbeats(request: Request) -> Response[bytes]:
    return await _receive(request, "current", force_bulk=False)


HANDLERS = [post_user_heartbeats_bulk, post_user_heartbeats, post_heartbeats_bulk, post_heartbeats]
