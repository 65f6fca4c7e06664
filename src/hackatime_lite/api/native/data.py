"""The caller's own data: export (streamed), import upload (background job), deletion of heartbeats/account."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, RawBody
from litestar.response import Stream
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_202_ACCEPTED,
    HTTP_400_BAD_REQUEST,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
)
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from hackatime_lite.accounts.deletion import delete_account, delete_heartbeats_in_range
from hackatime_lite.api.auth import authenticate, require_write
from hackatime_lite.api.openapi import FROM, KEYED, TO, ApiOperation, documented, flag_param, json_body, param
from hackatime_lite.context import AppContext
from hackatime_lite.data.exporters import MEDIA_TYPES, ExportError, export_filename, export_stream
from hackatime_lite.data.importers.files import FORMATS
from hackatime_lite.data.importers.jobs import ImportJob, ImportJobs
from hackatime_lite.models import User
from hackatime_lite.text.date_bounds import BoundError, parse_range

PREFIX = "/api/native/v1"
TAGS = ["data (native)"]
MAX_UPLOAD_BYTES = 2 * 1024**3


READ_ONLY = (403, "the API key is read-only")
_CONFIRM = flag_param("confirm", "true to confirm (or send the body)")
_CONFIRM_BODY = json_body({"type": "object", "properties": {"confirm": {"type": "boolean"}}},
                          '`{"confirm": true}` to confirm (or the query parameter)')
_UPLOAD = RequestBody(
    required=True,
    description="The file: the raw request body, or the first file of a multipart form (field `file`).",
    content={
        "application/octet-stream": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)),
        "multipart/form-data": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT, properties={
            "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)})),
    },
)


def _bad(message: str) -> HTTPException:
    return HTTPException(message, status_code=HTTP_400_BAD_REQUEST)


def import_jobs(ctx: AppContext) -> ImportJobs:
    """The app's import job runner (created on first use; stopped with the app)."""
    if ctx.import_jobs is None:
        # Uploads left behind by a server that stopped mid-upload belong to no job any more.
        for stale in _upload_dir(ctx).glob("upload-*.part"):
            stale.unlink(missing_ok=True)
        ctx.import_jobs = ImportJobs(ctx.store)
        ctx.shutdown_hooks.append(ctx.import_jobs.stop)
    return ctx.import_jobs


def _upload_dir(ctx: AppContext) -> Path:
    return ctx.settings.paths.root / "imports"


def _confirmed(request: Request, body: bytes) -> bool:
    if request.query_params.get("confirm", "").lower() in ("1", "true", "yes"):
        return True
    if not body.strip():
        return False
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise _bad("invalid JSON body") from exc
    return isinstance(decoded, dict) and decoded.get("confirm") is True


# -- export -------------------------------------------------------------------------------------
@dataclasses.dataclass
class ExportOperation(ApiOperation):
    """The export's body is JSON or CSV, by `format`."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {media.split(";")[0]: OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.STRING if media.startswith("text/") else None)) for media in MEDIA_TYPES.values()}


@get(PREFIX + "/export", tags=TAGS, **documented(KEYED, 400, operation_class=ExportOperation, query=(
    param("format", "json (default), csv, or wakatime (a WakaTime data dump)", enum=MEDIA_TYPES), FROM, TO)))
async def export(request: Request) -> Stream:
    """All the caller's heartbeats (or those in from/to) as JSON or CSV, or (`format=wakatime`) as a WakaTime
    data dump (days with their figures and heartbeats; whole days), streamed."""
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    query = request.query_params
    fmt = (query.get("format") or "json").lower()
    try:
        start, end = parse_range(query.get("from"), query.get("to"), caller.user.timezone)
        chunks = export_stream(ctx, caller.user, fmt, start, end)
    except (BoundError, ExportError) as exc:
        raise _bad(str(exc)) from exc
    return Stream(chunks, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{export_filename(caller.user, fmt)}"'})


# -- import -------------------------------------------------------------------------------------
async def _save_upload(request: Request, directory: Path) -> Path:
    """Stream the request body (raw, or the first file of a multipart form) to a temp file; bounded size."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
    path = Path(name)
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    parser = PushMultipartParser(options["boundary"]) if content_type == "multipart/form-data" and \
        options.get("boundary") else None
    written = 0
    in_file, file_done = parser is None, False
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.stream():
                pieces: Any = [chunk]
                if parser is not None:
                    pieces = []
                    for event in parser.parse(chunk):
                        if isinstance(event, MultipartSegment):
                            in_file = not file_done and bool(event.filename or event.name == "file")
                        elif event is None:
                            file_done = file_done or in_file
                            in_file = False
                        elif in_file:
                            pieces.append(bytes(event))
                elif not in_file:
                    pieces = []
                for piece in pieces:
                    written += len(piece)
                    if written > MAX_UPLOAD_BYTES:
                        raise HTTPException("the upload is too large",
                                            status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE)
                    handle.write(piece)
            if parser is not None:
                parser.close()
    except MultipartError as exc:
        path.unlink(missing_ok=True)
        raise _bad(f"malformed multipart upload: {exc}") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if written == 0:
        path.unlink(missing_ok=True)
        raise _bad("the upload is empty (send the file as the request body or as a form field named file)")
    return path


async def start_upload_import(request: Request, ctx: AppContext, user: User) -> ImportJob:
    """The request's upload (`format` query parameter optional) saved and imported for `user` in the
    background; the API and the dashboard's upload both start imports here."""
    fmt = request.query_params.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        raise _bad(f"format must be one of {', '.join(FORMATS)} (or left out to detect it)")
    jobs = import_jobs(ctx)  # before saving: its first use clears stale uploads from the same folder
    path = await _save_upload(request, _upload_dir(ctx))
    return jobs.start(user, path, fmt)


@post(PREFIX + "/import", tags=TAGS, status_code=HTTP_202_ACCEPTED, request_max_body_size=MAX_UPLOAD_BYTES,
      **documented(KEYED, READ_ONLY, 400, 413, query=(
          param("format", "the file's format (default: detected)", enum=FORMATS),), body=_UPLOAD))
async def start_import(request: Request) -> dict[str, Any]:
    """Upload a WakaTime data dump or one of our exports; it is imported in the background (poll the job)."""
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    require_write(caller)
    job = await start_upload_import(request, ctx, caller.user)
    return {"data": job.to_dict()}


@get(PREFIX + "/import/{job_id:str}", tags=TAGS, **documented(KEYED, (404, "no such import job (of the caller's)")))
async def import_status(request: Request, job_id: FromPath[str]) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    job = import_jobs(ctx).get(job_id, caller.user.id)
    if job is None:
        raise NotFoundException("no such import job")
    return {"data": job.to_dict()}


# -- deletion -----------------------------------------------------------------------------------
@delete(PREFIX + "/heartbeats", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
        **documented(KEYED, READ_ONLY, 400, 413, query=(_CONFIRM, FROM, TO), body=_CONFIRM_BODY))
def delete_my_heartbeats(request: Request, body: RawBody) -> dict[str, Any]:
    """Delete the caller's heartbeats in from/to (dates inclusive; all when both are left out). Needs confirm."""
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    require_write(caller)
    if not _confirmed(request, body):
        raise _bad('deleting heartbeats needs confirmation: send {"confirm": true} or ?confirm=true')
    try:
        start, end = parse_range(request.query_params.get("from"), request.query_params.get("to"),
                                 caller.user.timezone)
    except BoundError as exc:
        raise _bad(str(exc)) from exc
    return {"deleted": delete_heartbeats_in_range(ctx.store, caller.user.id, start, end)}


@delete(PREFIX + "/account", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
        **documented(KEYED, READ_ONLY, 400, 413, query=(_CONFIRM,), body=_CONFIRM_BODY))
def delete_my_account(request: Request, body: RawBody) -> Response[dict[str, Any]]:
    """Delete the caller's account with all its data (keys, heartbeats, mirrors). Needs confirm."""
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    require_write(caller)
    if not _confirmed(request, body):
        raise _bad('deleting the account needs confirmation: send {"confirm": true} or ?confirm=true')
    deleted = delete_account(ctx.store, caller.user.id)
    return Response({"deleted": True, "username": caller.user.username, "heartbeats_deleted": deleted})


HANDLERS = [export, start_import, import_status, delete_my_heartbeats, delete_my_account]
