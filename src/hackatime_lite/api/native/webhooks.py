"""Outgoing webhooks API: the caller's (`/api/native/v1/users/current/webhooks`) and a team's
(`/api/native/v1/teams/{team}/webhooks`, owners and admins only): list, add (the secret is in this answer
only), remove, and send a signed `test` event now. Rules and checks: hackatime_lite.webhooks.config."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath, RawBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from hackatime_lite.api.access import owner_read, owner_write
from hackatime_lite.api.auth import Caller, authenticate, require_write
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.api.openapi import KEYED, USER_READ, USER_WRITE, documented, json_body, struct_schema
from hackatime_lite.context import AppContext
from hackatime_lite.models import User
from hackatime_lite.webhooks import config

# `{user}` like every other per-user route (`current` is the caller): a fixed `users/current/…` segment would
# shadow `users/{user}/…` for every other path under `current` in Litestar's router.
PREFIX = "/api/native/v1/users/{user:str}/webhooks"
TEAM_PREFIX = "/api/native/v1/teams/{team:str}/webhooks"
TAGS = ["webhooks"]
READ_ONLY = (403, "the API key is read-only")
NO_WEBHOOK = (404, "no such webhook (of the caller's)")
NOT_MANAGER = (403, "not an owner or admin of this team")
NO_TEAM = (404, "no such team, or no such webhook of it")


class NewWebhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    url: str
    events: list[str] | str | None = None
    """Any of goal_reached, goal_missed, daily_summary, first_heartbeat_of_day, mirror_paused, as a list or
    comma-separated (default: all)."""
    format: str = "json"
    """`json` or `slack` (Slack incoming-webhook `{"text", "blocks"}`)."""


def _caller(request: Request, *, write: bool) -> tuple[AppContext, Caller]:
    ctx: AppContext = request.app.state.ctx
    caller = authenticate(request, ctx.store)
    if write:
        require_write(caller)
    return ctx, caller


def _owner(request: Request, user: str, *, write: bool) -> tuple[AppContext, User]:
    """The user whose webhooks these are (`current`, or a name the caller may act for)."""
    ctx: AppContext = request.app.state.ctx
    _, target = (owner_write if write else owner_read)(request, ctx.store, user)
    return ctx, target


def _decode(raw: bytes) -> NewWebhook:
    try:
        return msgspec.json.decode(raw or b"{}", type=NewWebhook)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"invalid request body: {exc}") from exc


def _sent(result: config.SendResult) -> dict[str, Any]:
    return {"delivered": result.delivered, "status": result.status, "error": result.error}


NEW_BODY = json_body(struct_schema(NewWebhook), "the receiver's URL, the events and the format", required=True)


@get(PREFIX, tags=TAGS, sync_to_thread=True, summary="ListWebhooks", **documented(USER_READ))
def list_webhooks(request: Request, user: FromPath[str]) -> dict[str, Any]:
    ctx, owner = _owner(request, user, write=False)
    return {"data": [config.view(h, ctx.store) for h in config.user_webhooks(ctx.store, owner)]}


@post(PREFIX, tags=TAGS, status_code=HTTP_201_CREATED, sync_to_thread=True, summary="AddWebhook",
      **documented(USER_WRITE, 400, 413, body=NEW_BODY))
def add_webhook(request: Request, user: FromPath[str], body: RawBody) -> dict[str, Any]:
    """Add a webhook; the answer's `secret` signs every delivery and is never shown again."""
    ctx, owner = _owner(request, user, write=True)
    new = _decode(body)
    hook, secret = config.add_user_webhook(ctx.store, ctx.settings, owner, new.url, events=new.events,
                                           fmt=new.format, now=ctx.clock())
    return {"data": config.view(hook), "secret": secret}


@get(PREFIX + "/{webhook_id:int}", tags=TAGS, sync_to_thread=True, summary="GetWebhook",
     **documented(USER_READ, NO_WEBHOOK))
def get_webhook(request: Request, user: FromPath[str], webhook_id: FromPath[int]) -> dict[str, Any]:
    ctx, owner = _owner(request, user, write=False)
    return {"data": config.view(config.user_webhook(ctx.store, owner, webhook_id), ctx.store)}


@delete(PREFIX + "/{webhook_id:int}", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
        summary="RemoveWebhook", **documented(USER_WRITE, NO_WEBHOOK))
def remove_webhook(request: Request, user: FromPath[str], webhook_id: FromPath[int]) -> dict[str, Any]:
    ctx, owner = _owner(request, user, write=True)
    config.remove_user_webhook(ctx.store, owner, webhook_id)
    return {"deleted": True, "id": webhook_id}


@post(PREFIX + "/{webhook_id:int}/test", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
      summary="TestWebhook", **documented(USER_WRITE, NO_WEBHOOK, 400))
def test_webhook(request: Request, user: FromPath[str], webhook_id: FromPath[int]) -> dict[str, Any]:
    """Send a signed `test` event now and report the receiver's answer (not queued, not retried)."""
    ctx, owner = _owner(request, user, write=True)
    hook = config.user_webhook(ctx.store, owner, webhook_id)
    return _sent(config.send_test(ctx.store, ctx.settings, owner, hook, now=ctx.clock()))


@get(TEAM_PREFIX, tags=TAGS, sync_to_thread=True, summary="ListTeamWebhooks", **documented(KEYED, NOT_MANAGER, NO_TEAM))
def list_team_webhooks(request: Request, team: FromPath[str]) -> dict[str, Any]:
    ctx, caller = _caller(request, write=False)
    found, hooks = config.team_webhooks(ctx.store, caller.user, team)
    return {"data": [config.view(h, ctx.store, team=found) for h in hooks]}


@post(TEAM_PREFIX, tags=TAGS, status_code=HTTP_201_CREATED, sync_to_thread=True, summary="AddTeamWebhook",
      **documented(KEYED, READ_ONLY, NOT_MANAGER, NO_TEAM, 400, 413, body=NEW_BODY))
def add_team_webhook(request: Request, team: FromPath[str], body: RawBody) -> dict[str, Any]:
    """Add a team webhook (events of members who share their detail with the team); the secret is shown once."""
    ctx, caller = _caller(request, write=True)
    new = _decode(body)
    found, hook, secret = config.add_team_webhook(ctx.store, ctx.settings, caller.user, team, new.url,
                                                  events=new.events, fmt=new.format, now=ctx.clock())
    return {"data": config.view(hook, team=found), "secret": secret}


@delete(TEAM_PREFIX + "/{webhook_id:int}", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
        summary="RemoveTeamWebhook", **documented(KEYED, READ_ONLY, NOT_MANAGER, NO_TEAM))
def remove_team_webhook(request: Request, team: FromPath[str], webhook_id: FromPath[int]) -> dict[str, Any]:
    ctx, caller = _caller(request, write=True)
    config.remove_team_webhook(ctx.store, caller.user, team, webhook_id)
    return {"deleted": True, "id": webhook_id}


@post(TEAM_PREFIX + "/{webhook_id:int}/test", tags=TAGS, status_code=HTTP_200_OK, sync_to_thread=True,
      summary="TestTeamWebhook", **documented(KEYED, READ_ONLY, NOT_MANAGER, NO_TEAM, 400))
def test_team_webhook(request: Request, team: FromPath[str], webhook_id: FromPath[int]) -> dict[str, Any]:
    ctx, caller = _caller(request, write=True)
    _, hook = config.team_webhook(ctx.store, caller.user, team, webhook_id)
    return _sent(config.send_test(ctx.store, ctx.settings, caller.user, hook, now=ctx.clock()))


HANDLERS = [list_webhooks, add_webhook, get_webhook, remove_webhook, test_webhook, list_team_webhooks,
            add_team_webhook, remove_team_webhook, test_team_webhook]
