"""The Markdown for a user's README badges (api/native/badges.py serves them), shown on the settings page."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request

from hackatime_lite.context import AppContext
from hackatime_lite.models import User


def badge_examples(request: Request, user: User) -> list[dict[str, str]]:
    """[{title, markdown}]: the SVG badge and the shields.io one for the last 7 days and all time, and one for
    the project of the newest heartbeat."""
    ctx: AppContext = request.app.state.ctx
    base = ctx.settings.public_url.strip().rstrip("/") or str(request.base_url).rstrip("/")
    name = quote(user.username, safe="")
    project = ctx.store.latest_heartbeat_fields(user.id).get("project") or "NAME"
    svg = f"{base}/api/badge/{name}"
    shields = f"{base}/api/compat/shields/v1/{name}"

    def via_shields(path: str) -> str:
        return "https://img.shields.io/endpoint?url=" + quote(shields + path, safe="")

    project_path = f"/interval:all_time/project:{quote(project, safe='')}"
    return [
        {"title": "Last 7 days", "markdown": f"[![coding time]({svg}/interval:last_7_days)]({base}/)"},
        {"title": "All time", "markdown": f"[![coding time]({svg}/interval:all_time)]({base}/)"},
        {"title": f"Project {project}, all time",
         "markdown": f"[![coding time on {project}]({svg}{project_path})]({base}/)"},
        {"title": "Last 7 days through shields.io",
         "markdown": f"[![coding time]({via_shields('/interval:last_7_days')})]({base}/)"},
    ]
