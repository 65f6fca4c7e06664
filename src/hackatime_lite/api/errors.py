"""Every error leaves as JSON `{"error": "..."}` with a 4xx/5xx status; nothing else leaks out."""

from __future__ import annotations

import logging

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from hackatime_lite.errors import InputError, TemporarilyUnavailable

log = logging.getLogger("hackatime_lite.api")


class BadRequest(HTTPException):
    status_code = HTTP_400_BAD_REQUEST


def error_response(
    message: str, status_code: int, headers: dict[str, str] | None = None
) -> Response[dict[str, str]]:
    return Response({"error": message}, status_code=status_code, media_type=MediaType.JSON, headers=headers)


def http_exception_handler(_: Request, exc: HTTPException) -> Response[dict[str, str]]:
    message = exc.detail or "error"
    if isinstance(exc, ValidationException) and exc.extra:
        # Litestar's parameter validation: name the offending parameter in the message.
        details = exc.extra if isinstance(exc.extra, list) else [exc.extra]
        parts = [
            f"{d.get('key', '')}: {d.get('message', '')}".strip(": ") for d in details if isinstance(d, dict)
        ]
        if parts:
            message = f"{message} ({'; '.join(parts)})"
    return error_response(message, exc.status_code, headers=exc.headers)


def input_error_handler(_: Request, exc: InputError) -> Response[dict[str, str]]:
    return error_response(str(exc), exc.status_code)


def unavailable_handler(_: Request, exc: TemporarilyUnavailable) -> Response[dict[str, str]]:
    # Not logged here: whoever noticed the fault logs it once per incident, not once per request.
    return error_response(str(exc), HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(exc.retry_after)})


def internal_error_handler(request: Request, exc: Exception) -> Response[dict[str, str]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response("Internal Server Error", HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS = {
    HTTPException: http_exception_handler,
    InputError: input_error_handler,
    TemporarilyUnavailable: unavailable_handler,  # context.ServiceUnavailable, StoreUnavailable, …
    Exception: internal_error_handler,
}
