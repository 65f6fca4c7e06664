"""A user's read-time rules (hackatime_lite.aliases): list, add and delete at
`/api/native/v1/users/{user}/aliases`, `/labels`, `/language_mappings` and `/exclusions` (`…/{rule_id}` deletes).
Wakapi keeps these in its settings form only (no API), so the shapes are our own: one rule object
{id, kind, dimension, pattern, value, created_at} everywhere. Reads (the WakaTime-compatible ones too) show
display values from the next request on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, delete, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from hackatime_lite import aliases
from hackatime_lite.api import params
from hackatime_lite.api.access import owner_read, owner_write
from hackatime_lite.api.errors import BadRequest
from hackatime_lite.api.openapi import USER_READ, USER_WRITE, documented, json_body
from hackatime_lite.context import AppContext
from hackatime_lite.errors import NotFoundError
from hackatime_lite.store.records import AliasRuleSpec

BASE = "/api/native/v1/users/{user:str}"
TAGS = ["aliases (native)"]
NO_RULE = (404, "no such rule (of this user)")


def _alias(body: dict[str, Any]) -> AliasRuleSpec:
    return aliases.rule_spec("alias", dimension=body.get("dimension", "project"), pattern=body.get("pattern"),
                             value=body.get("value"))


def _label(body: dict[str, Any]) -> AliasRuleSpec:
    return aliases.rule_spec("label", pattern=body.get("project"), value=body.get("label"))


def _mapping(body: dict[str, Any]) -> AliasRuleSpec:
    return aliases.rule_spec("language", pattern=body.get("extension"), value=body.get("language"))


def _exclusion(body: dict[str, Any]) -> AliasRuleSpec:
    mode = body.get("mode", "exclude")
    if mode not in ("exclude", "hide"):
        raise BadRequest("mode must be 'exclude' (not counted in totals and leaderboards) or 'hide' (not listed)")
    if body.get("hide_unknown") is True:
        return aliases.rule_spec("hide", pattern="")
    return aliases.rule_spec(mode, pattern=body.get("project"))


# path suffix, kinds listed there, body -> rule, body description
COLLECTIONS: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], AliasRuleSpec], str]] = {
    "aliases": (("alias",), _alias, "`dimension` (project, language, editor, operating_system, machine, category; "
                "default project), `pattern` (the stored value, exact or with `*` / `?`), `value` (shown instead)"),
    "labels": (("label",), _label, "`project` (a project's stored or shown name, `*` / `?` allowed), `label`"),
    "language_mappings": (("language",), _mapping, "`extension` (`py`, `.tsx`), `language` (counted as)"),
    "exclusions": (("exclude", "hide"), _exclusion,
                   "`project` and `mode`: `exclude` (not counted in totals and leaderboards) or `hide` (counted, not "
                   "listed); or `{\"hide_unknown\": true}` to hide the unknown project"),
}


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = msgspec.json.decode(raw) if raw.strip() else None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _rule_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFoundError("no such rule")
    return int(text)


def _handlers(name: str) -> list[HTTPRouteHandler]:
    kinds, parse, text = COLLECTIONS[name]
    path = f"{BASE}/{name}"
    words = name.replace("_", " ")

    @get(path, tags=TAGS, name=f"list_{name}", description=f"The user's {words}, oldest first.", **documented(USER_READ))
    @params.in_thread
    def list_rules(request: Request, user: FromPath[str]) -> dict[str, Any]:
        ctx = _ctx(request)
        _, target = owner_read(request, ctx.store, user)
        found = aliases.list_rules(ctx.store, target.id, kinds=kinds)
        return {"data": msgspec.to_builtins(found), "total": len(found)}

    @post(path, tags=TAGS, name=f"add_{name}", status_code=HTTP_201_CREATED,
          description=f"Add one of the user's {words} (the same rule again answers the stored one).",
          **documented(USER_WRITE, 400, 413, body=json_body({"type": "object"}, text, required=True)))
    async def add_rule(request: Request, user: FromPath[str]) -> dict[str, Any]:
        ctx = _ctx(request)
        _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
        spec = parse(await _body(request))
        added = await anyio.to_thread.run_sync(aliases.add_rule, ctx.store, target.id, spec)
        return {"data": msgspec.to_builtins(added)}

    @delete(f"{path}/{{rule_id:str}}", tags=TAGS, name=f"delete_{name}", status_code=HTTP_200_OK,
            description=f"Delete one of the user's {words}.",
            **documented(USER_WRITE, NO_RULE))
    async def delete_rule(request: Request, user: FromPath[str], rule_id: FromPath[str]) -> dict[str, Any]:
        ctx = _ctx(request)
        _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
        number = _rule_id(rule_id)
        await anyio.to_thread.run_sync(lambda: aliases.remove_rule(ctx.store, target.id, number, kinds=kinds))
        return {"data": {"id": number, "deleted": True}}

    return [list_rules, add_rule, delete_rule]


HANDLERS = [handler for name in COLLECTIONS for handler in _handlers(name)]
