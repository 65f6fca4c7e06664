"""Errors on dashboard routes: a login redirect or an HTML error page for pages, JSON for /web/api/*."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from hackatime_lite.api.errors import error_response
from hackatime_lite.errors import InputError, TemporarilyUnavailable
from hackatime_lite.web.auth import redirect_to_login

log = logging.getLogger("hackatime_lite.web")
JSON_PREFIX = "/web/api/"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIX)


def _error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Template:
    viewer = request.state.get("viewer")
    return Template(
        template_name="error.html",
        context={
            "status": status,
            "error_message": message,
            "viewer": viewer,
            "user": viewer.user if viewer else None,
        },
        status_code=status,
        headers=headers,
    )


def http_error(request: Request, exc: HTTPException) -> Response[Any] | Template:
    if isinstance(exc, NotAuthorizedException) and not _wants_json(request):
        return redirect_to_login(request)
    message = exc.detail or "error"
    if _wants_json(request):
        return error_response(message, exc.status_code, headers=exc.headers)
    return _error_page(request, exc.status_code, message, exc.headers)


def input_error(request: Request, exc: InputError) -> Response[Any] | Template:
    if _wants_json(request):
        return error_response(str(exc), exc.status_code)
    return _error_page(request, exc.status_code, str(exc))


def unavailable(request: Request, exc: TemporarilyUnavailable) -> Response[Any] | Template:
    # Not logged: the fault is logged once per incident where it is noticed (the store's writer, the replica).
    headers = {"Retry-After": str(exc.retry_after)}
    if _wants_json(request):
        return error_response(str(exc), HTTP_503_SERVICE_UNAVAILABLE, headers=headers)
    return _error_page(request, HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers)


def internal_error(request: Request, exc: Exception) -> Response[Any] | Template:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if _wants_json(request):
        return error_response("Internal Server Error", HTTP_500_INTERNAL_SERVER_ERROR)
    return _error_page(request, HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong on our side.")


WEB_EXCEPTION_HANDLERS = {HTTPException: http_error, InputError: input_error, TemporarilyUnavailable: unavailable,
                          Exception: internal_error}
