"""X-Origin chains, the same for every backend: which heartbeats the outbox relays, and how loops are cut.

A chain is the comma-separated instance ids a heartbeat passed through; one whose chain already holds this
instance came back around a mirroring loop and is not relayed again.
"""

from __future__ import annotations

# Heartbeats of these sources are relayed upstream as they arrive; imports only when a backfill asks.
RELAYED_SOURCES = frozenset({"direct", "mirror"})
ORIGIN_SEPARATOR = ","
MAX_ORIGINS = 16


def parse_origins(header: str | None) -> tuple[str, ...]:
    """The X-Origin chain (comma-separated instance ids), bounded so a header cannot grow without limit."""
    if not header:
        return ()
    parts = [p.strip().lower() for p in header.split(ORIGIN_SEPARATOR)]
    return tuple(p[:64] for p in parts if p)[:MAX_ORIGINS]
