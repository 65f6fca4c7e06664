"""The settings page's webhooks section: add (the secret is shown on the page that answers, once), list,
remove and send a test event. The rules are hackatime_lite.webhooks.config's; the section's template is
settings_webhooks.html, included by settings.html."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from hackatime_lite.context import AppContext
from hackatime_lite.errors import InputError
from hackatime_lite.models import User
from hackatime_lite.store.webhook_records import WEBHOOK_EVENTS
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.render import redirect
from hackatime_lite.web.settings_pages import FORM, settings_page_response
from hackatime_lite.webhooks import config


class WebhookForm(msgspec.Struct):
    url: str = ""
    format: str = "json"
    # One checkbox per event (a repeated form key would decode as a string or a list, depending on the count).
    goal_reached: str = ""
    goal_missed: str = ""
    daily_summary: str = ""
    first_heartbeat_of_day: str = ""
    mirror_paused: str = ""


def section(ctx: AppContext, user: User) -> dict[str, Any]:
    """What settings_webhooks.html shows (settings_page_response passes it on as `webhooks`)."""
    return {"hooks": [config.view(h, ctx.store) for h in config.user_webhooks(ctx.store, user)],
            "events": WEBHOOK_EVENTS}


@post("/settings/webhooks", sync_to_thread=True)
def add_webhook(request: Request, data: Annotated[WebhookForm, FORM]) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    events = [e for e in WEBHOOK_EVENTS if getattr(data, e)]
    try:
        hook, secret = config.add_user_webhook(ctx.store, ctx.settings, user, data.url.strip(), events=events,
                                               fmt=data.format, now=ctx.clock())
    except InputError as exc:
        return settings_page_response(request, status_code=400, error=str(exc))
    return settings_page_response(request, message=f"Webhook {hook.id} added.",
                                  webhook_secret={"id": hook.id, "secret": secret})


@post("/settings/webhooks/{webhook_id:int}/remove", sync_to_thread=True)
def remove_webhook(request: Request, webhook_id: FromPath[int]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    try:
        config.remove_user_webhook(ctx.store, viewer_of(request).user, webhook_id)
    except InputError as exc:
        return settings_page_response(request, status_code=404, error=str(exc))
    return redirect("/settings", done="webhook-removed")


@post("/settings/webhooks/{webhook_id:int}/test", sync_to_thread=True)
def test_webhook(request: Request, webhook_id: FromPath[int]) -> Template:
    ctx: AppContext = request.app.state.ctx
    user = viewer_of(request).user
    try:
        hook = config.user_webhook(ctx.store, user, webhook_id)
        result = config.send_test(ctx.store, ctx.settings, user, hook, now=ctx.clock())
    except InputError as exc:
        return settings_page_response(request, status_code=404, error=str(exc))
    if result.delivered:
        return settings_page_response(request, message=f"Test event delivered (the receiver answered {result.status}).")
    return settings_page_response(request, error=f"Test event not delivered: {result.error}")


HANDLERS = [add_webhook, remove_webhook, test_webhook]
