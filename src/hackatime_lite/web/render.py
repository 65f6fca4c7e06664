"""Rendering helpers shared by the pages: the Jinja2 environment's filters/globals and `page(...)`."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template

from hackatime_lite import __version__, paths
from hackatime_lite.config import Settings
from hackatime_lite.mirror.secretbox import server_secret
from hackatime_lite.text import formatting
from hackatime_lite.web.auth import Viewer, current_viewer

# Messages shown after a redirect, chosen by a short code in the URL (never text from the URL itself).
NOTICES = {
    "rule-added": "The rule was added: your coding time shows it from now on.",
    "rule-deleted": "The rule was deleted.",
    "level-changed": "The level was changed and recorded in the audit log.",
    "team-created": "The team was created.",
    "team-joined": "You joined the team.",
    "team-left": "You left the team.",
    "team-saved": "The team was updated.",
    "key-revoked": "The API key was revoked.",
    "profile-saved": "Your settings were saved.",
    "sharing-saved": "Your sharing settings were saved.",
    "weekly-report-saved": "Your weekly report e-mail settings were saved.",
    "password-changed": "Your password was changed.",
    "user-created": "The user was created.",
    "user-disabled": "The user was disabled and logged out everywhere.",
    "user-enabled": "The user was enabled.",
    "password-reset": "The password was reset and the user's sessions ended.",
    "invite-revoked": "The invite was revoked.",
    "mirror-added": "The mirror was added.",
    "mirror-removed": "The mirror was removed.",
    "webhook-removed": "The webhook was removed.",
    "mirror-resumed": "The mirror was resumed.",
    "data-deleted": "Your heartbeats in that range were deleted.",
    "logged-out": "You are logged out.",
    "goal-saved": "The goal was saved.",
    "goal-deleted": "The goal was deleted.",
}


def csrf_secret(settings: Settings) -> str:
    """The CSRF signing key: derived from the server secret, so it is stable across restarts."""
    return hmac.new(server_secret(settings), b"hackatime-lite web csrf v1", hashlib.sha256).hexdigest()


@functools.cache
def _manifest() -> dict[str, Any]:
    try:
        return json.loads((paths.web_root() / "static" / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": {}}


def asset(name: str) -> str:
    """URL of a static file with its content hash, so a new build is never served from a stale cache."""
    digest = _manifest().get("files", {}).get(name, {}).get("sha256", __version__)
    return f"/static/{name}?v={digest[:12]}"


def duration_text(seconds: float | None) -> str:
    return formatting.human_text(seconds or 0.0)


def duration_short(seconds: float | None) -> str:
    """`3h 07m`, `42m`, `0m` — compact, for tables and cards."""
    hours, minutes, _ = formatting.split_seconds(seconds or 0.0)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def local_time(epoch: float | None, tz: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if epoch is None:
        return "never"
    return dt.datetime.fromtimestamp(epoch, ZoneInfo(tz)).strftime(fmt)


def configure_engine(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.globals.update(asset=asset, app_version=__version__)
    env.filters.update(duration=duration_text, short=duration_short, localtime=local_time)
    env.trim_blocks = True
    env.lstrip_blocks = True


def page(request: Request, template: str, *, status_code: int = 200, **context: Any) -> Template:
    """A full page: the template plus what the layout needs (viewer, notice, active nav item)."""
    viewer: Viewer | None = current_viewer(request)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return Template(
        template_name=template,
        context={"viewer": viewer, "user": viewer.user if viewer else None, "notice": notice, **context},
        status_code=status_code,
    )


def redirect(path: str, **query: str) -> Redirect:
    """303 See Other (the browser follows with GET) to one of our own paths."""
    target = path + ("?" + urlencode(query) if query else "")
    return Redirect(path=target, status_code=303)


def safe_next(target: str | None) -> str:
    """A post-login destination: only our own absolute paths, never another origin (`//host`, `/\\host`)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\n" in target:
        return "/"
    return target
