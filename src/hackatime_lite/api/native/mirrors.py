"""Mirror settings API: list, add, remove, resume and backfill the caller's upstream targets."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, RawBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_400_BAD_REQUEST

from hackatime_lite.api.auth import Caller, authenticate, require_write
from hackatime_lite.api.openapi import FROM, KEYED, TO, documented, json_body, struct_schema
from hackatime_lite.context import AppContext
from hackatime_lite.mirror import targets
from hackatime_lite.text.date_bounds import BoundError, parse_range

PREFIX = "/api/native/v1/mirrors"
TAGS = ["mirrors (native)"]


class NewMirror(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    url: str
    api_key: str
    verify: bool = True


class BackfillRequest(msgspec.Struct, kw_only=True):
    from_: str = msgspec.field(name="from")
    to: str | None = None


READ_ONLY = (403, "the API key is read-only")
NO_MIRROR = (404, "no such mirror (of the caller's)")


def _caller(request: Request, *, write: bool) -> tuple[AppContext, Caller]:
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    if write:
        require_write(caller)
    return ctx, caller


def _decode(raw: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(raw or b"{}", type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise HTTPException(f"invalid request body: {exc}", status_code=HTTP_400_BAD_REQUEST) from exc


def _bad_request(exc: Exception) -> HTTPException:
    if isinstance(exc, targets.MirrorError) and str(exc).startswith("no mirror with id"):
        return NotFoundException(str(exc))
    return HTTPException(str(exc), status_code=HTTP_400_BAD_REQUEST)


@get(PREFIX, tags=TAGS, sync_to_thread=True, summary="ListMirrors", **documented(KEYED))
def list_mirrors(request: Request) -> dict[str, Any]:
    ctx, caller = _caller(request, write=False)
    views = targets.list_targets(ctx.store, caller.user.id, now=ctx.clock(), detail=True)
    return {"data": [v.to_dict() for v in views]}


@post(PREFIX, tags=TAGS, status_code=HTTP_201_CREATED, sync_to_thread=True, **documented(
    KEYED, READ_ONLY, 400, 413, body=json_body(struct_schema(NewMirror), "the upstream's URL and API key",
                                               required=True)))
def add_mirror(request: Request, body: RawBody) -> dict[str, Any]:
    """Add an upstream (or replace the key of the one with the same URL); the key is checked unless verify=false."""
    ctx, caller = _caller(request, write=True)
    new = _decode(body, NewMirror)
    try:
        view = targets.add_target(ctx.store, ctx.settings, caller.user.id, new.url, new.api_key, verify=new.verify,
                                 now=ctx.clock())
    except targets.MirrorError as exc:
        raise _bad_request(exc) from exc
    return {"data": view.to_dict()}


@delete(PREFIX + "/{target_id:int}", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
        **documented(KEYED, READ_ONLY, NO_MIRROR, 400))
def remove_mirror(request: Request, target_id: FromPath[int]) -> dict[str, Any]:
    ctx, caller = _caller(request, write=True)
    try:
        targets.remove_target(ctx.store, target_id, caller.user.id)
    except targets.MirrorError as exc:
        raise _bad_request(exc) from exc
    return {"deleted": True, "id": target_id}


@post(PREFIX + "/{target_id:int}/resume", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
      **documented(KEYED, READ_ONLY, NO_MIRROR, 400))
def resume_mirror(request: Request, target_id: FromPath[int]) -> dict[str, Any]:
    ctx, caller = _caller(request, write=True)
    try:
        targets.resume_target(ctx.store, target_id, caller.user.id, now=ctx.clock())
    except targets.MirrorError as exc:
        raise _bad_request(exc) from exc
    views = [v for v in targets.list_targets(ctx.store, caller.user.id, now=ctx.clock()) if v.id == target_id]
    return {"data": views[0].to_dict() if views else None}


@post(PREFIX + "/{target_id:int}/backfill", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
      **documented(KEYED, READ_ONLY, NO_MIRROR, 400, 413, query=(FROM, TO), body=json_body(
          struct_schema(BackfillRequest), "the days to queue (instead of the query parameters)")))
def backfill_mirror(request: Request, target_id: FromPath[int], body: RawBody) -> Response[dict[str, Any]]:
    """Queue the caller's stored heartbeats from `from` (to `to`, inclusive dates) for this upstream."""
    ctx, caller = _caller(request, write=True)
    query = request.query_params
    wanted = _decode(body, BackfillRequest) if body.strip() else BackfillRequest(from_=query.get("from", ""),
                                                                                 to=query.get("to"))
    try:
        if not wanted.from_:
            raise BoundError("`from` (a date) is required for a backfill")
        start, end = parse_range(wanted.from_, wanted.to, caller.user.timezone)
        queued = targets.backfill(ctx.store, target_id, start or 0.0, end, user_id=caller.user.id, now=ctx.clock())
    except (BoundError, targets.MirrorError) as exc:
        raise _bad_request(exc) from exc
    return Response({"queued": queued, "id": target_id})


HANDLERS = [list_mirrors, add_mirror, remove_mirror, resume_mirror, backfill_mirror]
