"""The signature scheme of webhook deliveries (documented in the README's "Webhooks" section).

Every delivery carries `X-Hackatime-Timestamp: <unix seconds>` and
`X-Hackatime-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<raw body>" keyed with the webhook secret>`.
The timestamp is inside the signed string, so a captured delivery cannot be replayed later with a fresh
timestamp; receivers reject timestamps older than TOLERANCE seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
TOLERANCE = 300.0


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Hackatime-Signature` value."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, body: bytes, timestamp_header: str | None, signature_header: str | None, *, now: float,
           tolerance: float = TOLERANCE) -> bool:
    """A receiver's check: the signature matches the body and the timestamp is recent."""
    if not timestamp_header or not signature_header:
        return False
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)
