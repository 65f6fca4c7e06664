"""What the OpenAPI document (/schema) says about each API route beyond its success body.

Every error leaves as `{"error": "..."}` (api/errors.py), so each route documents the error statuses it can
answer with that one `ErrorBody` schema, never Litestar's default `{status_code, detail}`; 429 and 503 carry
`Retry-After`. Routes also say how they authenticate and which query parameters they read (handlers parse
the query string by hand, so Litestar cannot see them). A handler spreads `documented(...)` into its
decorator:

    @get(path, **documented(USER_READ, 400, (404, "no such project"), query=(START_DATE, END_DATE)))

Statuses are ints or (int, description) pairs (descriptions of one status are joined); the presets below
group the ones most routes share. tests/test_openapi.py validates the document and fuzzes every operation
against it (schemathesis), so a status a route answers but does not document fails the suite.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)

from hackatime_lite.analytics.ranges import RANGE_NAMES
from hackatime_lite.api.params import FILTER_PARAMS


class ErrorBody(msgspec.Struct):
    """The body of every 4xx/5xx answer."""

    error: str


# Default descriptions of the error statuses; a route may give its own for a status.
ERROR_DESCRIPTIONS = {
    400: "a bad query parameter or body",
    401: "no API key, or an unknown one",
    403: "not allowed for this key",
    404: "not found",
    409: "conflict",
    413: "the request body is too large",
    415: "the body is not JSON",
    429: "too many requests: retry after `Retry-After` seconds",
    503: "temporarily unavailable (storage or analytics): retry after `Retry-After` seconds",
}

# Status sets most routes share. Every keyed route may be rate limited (429) and may find the store or the
# analytics replica unavailable (503).
KEYED = (401, 429, 503)
OTHER_USER = (403, "another user's data (only admins may read it)")
UNKNOWN_USER = (404, "no such user (asked by an admin)")
READ_ONLY_KEY = (403, "the API key is read-only, or the data is another user's (only admins may change it)")
# `{user}` routes: the caller's own data (`current`, their id or name), or any user's for an admin.
USER_READ = (*KEYED, OTHER_USER, UNKNOWN_USER)
USER_WRITE = (*KEYED, READ_ONLY_KEY, UNKNOWN_USER)
# Leaderboards are built by a job; until the first build a board answers 503.
NOT_BUILT = (503, "the leaderboard is not built yet: retry after `Retry-After` seconds")

Status = int | tuple[int, str]

# How callers authenticate: the API key in any of the forms WakaTime clients send (api/auth.py).
SECURITY_SCHEMES: dict[str, SecurityScheme | Reference] = {
    "basic": SecurityScheme(
        type="http",
        scheme="basic",
        description="The API key as the user name (wakatime-cli sends base64 of `KEY`; `KEY:` and "
        "`user:KEY` work too).",
    ),
    "bearer": SecurityScheme(type="http", scheme="bearer", description="The API key, raw or base64-encoded."),
    "api_key": SecurityScheme(
        type="apiKey", name="api_key", security_scheme_in="query", description="The API key in the query string."
    ),
}
KEY_AUTH: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
# Stats of users who share them publicly may be read without a key.
OPTIONAL_KEY_AUTH: list[dict[str, list[str]]] = [{}, *KEY_AUTH]

_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
    description="Seconds to wait before trying again.",
    required=True,
)


# -- query parameters --------------------------------------------------------------------------------------
def param(name: str, description: str, *, type: str = "string", enum: Iterable[str] | None = None,
          minimum: int | None = None, maximum: int | None = None) -> Parameter:
    """An optional query parameter (every one we read is optional; an empty value means "not given")."""
    schema = Schema(type=OpenAPIType(type), minimum=minimum, maximum=maximum,
                    enum=list(enum) if enum is not None else None)
    return Parameter(name=name, param_in="query", required=False, description=description, schema=schema)


def flag_param(name: str, description: str) -> Parameter:
    return param(name, description, enum=("true", "false", "1", "0", "yes", "no", "on", "off"))


def filter_params(names: Iterable[str]) -> tuple[Parameter, ...]:
    """The filter parameters (api/params.FILTER_PARAMS) among `names`."""
    return tuple(
        param(name, f"only this {FILTER_PARAMS[name].replace('_', ' ')} (comma-separated alternatives)")
        for name in names
    )


DATE = param("date", "a local day, YYYY-MM-DD (default: today in the zone)")
TIMEZONE = param("timezone", "an IANA zone (default: the user's)")
START_DATE = param("start_date", "first day, YYYY-MM-DD in the user's zone, or an ISO date-time")
END_DATE = param("end_date", "last day (inclusive), YYYY-MM-DD in the user's zone, or an ISO date-time")
PAGE = param("page", "page number", type="integer", minimum=1, maximum=1_000_000)
LANGUAGE = param("language", "only this language")
# Bounds of a day range (date or ISO date-time, inclusive), for exports, deletions and backfills.
FROM = param("from", "first day, YYYY-MM-DD in the user's zone, or an ISO date-time")
TO = param("to", "last day (inclusive), YYYY-MM-DD in the user's zone, or an ISO date-time")


RANGE_TEXT = f"a named range ({', '.join(RANGE_NAMES)}), a year (YYYY) or a month (YYYY-MM)"
# What the path parameters (declared by the handlers' signatures) mean.
PATH_PARAMETERS = {
    "user": "`current`, or the caller's id or username; admins may name any user",
    "range_name": RANGE_TEXT,
    "project_name": "a project's name",
    "target_id": "a mirror's id (`GET /api/native/v1/mirrors`)",
    "job_id": "an import job's id (from the answer that started it)",
    "interval": f"a badge's range, `interval:NAME` or NAME: {RANGE_TEXT}",
    "filter": "a badge's filter, `DIMENSION:VALUE` (project, language, editor, os, machine, category)",
    "team": "a team's id (`GET …/users/current/teams`)",
    "member": "a team member: `current`, or their username or id",
    "rule_id": "a rule's id (from the list or the answer that added it)",
    "webhook_id": "a webhook's id (from the list or the answer that added it)",
}


# -- the operation class -------------------------------------------------------------------------------------
_LITESTAR_ERROR_KEYS = {"status_code", "detail"}


def _is_litestar_error(response: Any) -> bool:
    """Litestar's own `{status_code, detail}` error doc, which our error handlers never send."""
    if not isinstance(response, OpenAPIResponse) or not response.content:
        return False
    for media in response.content.values():
        schema = media.schema
        if isinstance(schema, Schema) and schema.properties and set(schema.properties) >= _LITESTAR_ERROR_KEYS:
            return True
    return False


def _is_error_body(response: Any) -> bool:
    if not isinstance(response, OpenAPIResponse) or not response.content:
        return False
    # While operations are built the reference still carries the module path (…_api_openapi_ErrorBody);
    # Litestar shortens it to …/ErrorBody when it writes the components.
    return any(isinstance(m.schema, Reference) and m.schema.ref.endswith(("/ErrorBody", "_ErrorBody"))
               for m in response.content.values())


@dataclasses.dataclass
class ApiOperation(Operation):
    """Litestar's operation, corrected: Litestar's default error docs removed (a route documents its own
    with `documented()`), `Retry-After` on 429/503 error answers, and the route's query parameters added."""

    def __post_init__(self) -> None:
        responses = self.responses or {}
        for status in [s for s, r in responses.items() if _is_litestar_error(r)]:
            del responses[status]
        for status, response in responses.items():
            if status in ("429", "503") and _is_error_body(response):
                assert isinstance(response, OpenAPIResponse)
                response.headers = {**(response.headers or {}), "Retry-After": _RETRY_AFTER}
        for parameter in self.parameters or ():
            if isinstance(parameter, Parameter) and parameter.param_in == "path" and not parameter.description:
                parameter.description = PATH_PARAMETERS.get(parameter.name)
        extra = list(self.query_parameters())
        if extra:
            self.parameters = [*(self.parameters or []), *extra]
        if self.request_body is None:
            self.request_body = self.body()

    # Subclasses made by documented() override these.
    def query_parameters(self) -> Iterable[Parameter]:
        return ()

    def body(self) -> RequestBody | None:
        return None


def json_body(schema: Mapping[str, Any], description: str, *, required: bool = False) -> RequestBody:
    return RequestBody(
        required=required,
        description=description,
        content={"application/json": OpenAPIMediaType(schema=dict(schema))},  # type: ignore[arg-type]  # a plain JSON schema is what the document carries
    )


def struct_schema(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON schema of a msgspec struct without nested structs (inlined, no `$ref`)."""
    (_,), components = msgspec.json.schema_components([kind])
    return components[kind.__name__]


def error_responses(*statuses: Status | Iterable[Status]) -> dict[int, ResponseSpec]:
    """ResponseSpecs (ErrorBody) for the statuses given (ints, (int, description), or tuples of those)."""
    found: dict[int, list[str]] = {}
    for item in _flatten(statuses):
        code, note = item if isinstance(item, tuple) else (item, ERROR_DESCRIPTIONS.get(item, ""))
        notes = found.setdefault(code, [])
        if note and note not in notes:
            notes.append(note)
    return {
        code: ResponseSpec(
            ErrorBody, generate_examples=False,
            description="; ".join(notes) or HTTPStatus(code).phrase,
        )
        for code, notes in sorted(found.items())
    }


def _flatten(items: Iterable[Any]) -> Iterable[Status]:
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int) and isinstance(item[1], str):
            yield item
        elif isinstance(item, tuple | list):
            yield from _flatten(item)
        else:
            yield item


def documented(
    *statuses: Status | Iterable[Status],
    query: Iterable[Parameter] = (),
    body: RequestBody | None = None,
    auth: list[dict[str, list[str]]] | None = KEY_AUTH,
    responses: Mapping[int, ResponseSpec] | None = None,
    operation_class: type[ApiOperation] = ApiOperation,
) -> dict[str, Any]:
    """Decorator keyword arguments documenting a route: its error statuses, query parameters, request body,
    authentication (None: no key needed) and any further responses (success bodies)."""
    params, request_body = tuple(query), body
    overrides: dict[str, Any] = {}
    if params:
        overrides["query_parameters"] = lambda self: params
    if request_body is not None:
        overrides["body"] = lambda self: request_body
    if overrides:
        # Litestar builds the operation by calling the class, so the route's details ride on a subclass.
        operation_class = type(operation_class.__name__, (operation_class,),
                               {**overrides, "__module__": operation_class.__module__})
    kwargs: dict[str, Any] = {
        "responses": {**error_responses(*statuses), **(responses or {})},
        "operation_class": operation_class,
    }
    if auth:
        kwargs["security"] = auth
    return kwargs
