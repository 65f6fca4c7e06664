"""Wire shapes of the heartbeat write path, for responses and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

import msgspec


class ItemOutcome(msgspec.Struct, omit_defaults=False):
    data: None = None
    error: str | None = None


class BulkResponse(msgspec.Struct):
    """`responses` holds one `[body, status]` pair per input heartbeat, in input order."""

    responses: list[tuple[dict[str, Any], int]]


class CreatedHeartbeat(msgspec.Struct):
    id: str
    entity: str
    type: str
    time: float


class SingleResponse(msgspec.Struct):
    data: CreatedHeartbeat


class ErrorBody(msgspec.Struct):
    error: str
