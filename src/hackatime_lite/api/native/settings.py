"""The caller's own settings: `GET/PATCH /api/native/v1/settings` (the dashboard and the CLI use it too)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, get, patch
from litestar.status_codes import HTTP_200_OK

from hackatime_lite.accounts.settings import SettingsChange, parse_change, settings_view, update_settings
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read, owner_write
from hackatime_lite.api.openapi import KEYED, documented, json_body, struct_schema
from hackatime_lite.context import AppContext

SETTINGS_PATH = "/api/native/v1/settings"


@get(SETTINGS_PATH, tags=["native"], **documented(KEYED))
@params.in_thread
def read_settings(request: Request) -> dict[str, Any]:
    ctx: AppContext = request.app.state.ctx
    _, user = owner_read(request, ctx.store)
    return {"data": settings_view(user, ctx.settings, ctx.store)}


@patch(SETTINGS_PATH, status_code=HTTP_200_OK, tags=["native"], **documented(
    KEYED, (403, "the API key is read-only"), 400, 413,
    body=json_body(struct_schema(SettingsChange), "the settings to change (absent: unchanged; null: the default)")))
async def change_settings(request: Request) -> dict[str, Any]:
    """Change any of: timezone, timeout (30-3600 s, null = server default), duration_mode (capped|keystroke|null),
    leaderboard_opt_out, share_stats, share_languages, share_projects, share_editors, share_operating_systems,
    share_machines, share_max_days (≥ 1 or null), email (null: none) and weekly_report (the weekly e-mail;
    needs an e-mail address). Needs a key that is not read-only."""
    ctx: AppContext = request.app.state.ctx
    _, user = await anyio.to_thread.run_sync(owner_write, request, ctx.store)
    raw = await request.body()
    change = parse_change(raw)
    updated = await anyio.to_thread.run_sync(update_settings, ctx.store, user, change)
    return {"data": settings_view(updated, ctx.settings, ctx.store)}


HANDLERS = [read_settings, change_settings]
