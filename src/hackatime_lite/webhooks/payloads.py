"""Event payloads: stored once per event (JSON), rendered per webhook at delivery in its format.

`json`: `{"id": <delivery id>, "event", "created_at", "user": {"id", "username"}, "data": {…}, "text"}`.
`slack`: Slack's incoming-webhook message, `{"text": …, "blocks": [section, context]}`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from hackatime_lite.models import User
from hackatime_lite.text import formatting

_encoder = msgspec.json.Encoder()


def event_payload(user: User, event: str, data: dict[str, Any], text: str, now: float) -> str:
    return _encoder.encode({"event": event, "created_at": formatting.iso_utc(now),
                            "user": {"id": user.public_id, "username": user.username},
                            "data": data, "text": text}).decode()


def render(fmt: str, delivery_id: str, event: str, payload: str) -> bytes:
    """The raw body sent (and signed) for one delivery."""
    stored = msgspec.json.decode(payload)
    if fmt == "slack":
        text = str(stored.get("text") or event)
        return _encoder.encode({"text": text, "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"hackatime-lite · `{event}`"}]},
        ]})
    return _encoder.encode({"id": delivery_id, **stored})
