"""Unsubscribe links of the weekly report e-mail: a token signed with the server secret (itsdangerous) that
names the user, so the link works without logging in and cannot be made up for someone else."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from hackatime_lite.config import Settings
from hackatime_lite.mirror.secretbox import server_secret
from hackatime_lite.models import User

# A salt of its own: a token signed for another purpose with the same secret is no unsubscribe token.
_SALT = "hackatime-lite weekly-report unsubscribe v1"
PATH = "/unsubscribe/weekly-report"


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(server_secret(settings), salt=_SALT)


def make_token(settings: Settings, user: User) -> str:
    return _serializer(settings).dumps(user.public_id)


def read_token(settings: Settings, token: str) -> str | None:
    """The public id of the user the token was made for, or None for a token we did not sign."""
    if not token or len(token) > 512:
        return None
    try:
        found = _serializer(settings).loads(token)
    except BadSignature:
        return None
    return found if isinstance(found, str) else None


def base_url(settings: Settings) -> str:
    """Where users reach this server: `public_url`, else the address it listens on."""
    if settings.public_url.strip():
        return settings.public_url.strip().rstrip("/")
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"http://{host}:{settings.port}"


def unsubscribe_url(settings: Settings, user: User) -> str:
    return f"{base_url(settings)}{PATH}/{make_token(settings, user)}"
