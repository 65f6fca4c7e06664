"""Wire shapes of the heartbeat write path, for responses and the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import KwargDefinition

from hackatime_lite.api.openapi import ErrorBody

__all__ = ["BulkResponse", "CreatedHeartbeat", "ErrorBody", "ItemOutcome", "SingleResponse"]


class ItemOutcome(msgspec.Struct, omit_defaults=False):
    """One item's body in a bulk answer: `{"data": null, "error": null}` when stored (or a duplicate),
    `{"error": "..."}` when refused."""

    data: None = None
    error: str | None = None


# One `[body, status]` pair. Typed as a 2-item array of (body | status) rather than a tuple: a tuple becomes
# JSON schema `prefixItems`, which OpenAPI 3.1 allows but common tools (schemathesis, several generators)
# cannot check or generate; the order (body first, then the item's HTTP status) is in the description.
BulkEntry = Annotated[
    list[ItemOutcome | int],
    KwargDefinition(  # Litestar reads its own constraint type here (it ignores a msgspec.Meta in this place)
        min_items=2,
        max_items=2,
        description="`[body, status]`: the item's body (an object), then its HTTP status (an integer: 201 "
        "stored, 400 invalid, …).",
    ),
]


class BulkResponse(msgspec.Struct):
    """`responses` holds one `[body, status]` pair per input heartbeat, in input order."""

    responses: list[BulkEntry]


class CreatedHeartbeat(msgspec.Struct):
    id: str
    entity: str
    type: str
    time: float


class SingleResponse(msgspec.Struct):
    data: CreatedHeartbeat
