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
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from hackatime_lite import aliases
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


async def _list(request: Request, user: str, collection: str) -> dict[str, Any]:
    ctx = _ctx(request)
    kinds = COLLECTIONS[collection][0]

    def read() -> list[Any]:
        _, target = owner_read(request, ctx.store, user)
        return aliases.list_rules(ctx.store, target.id, kinds=kinds)

    found = await anyio.to_thread.run_sync(read)
    return {"data": msgspec.to_builtins(found), "total": len(found)}


async def _add(request: Request, user: str, collection: str) -> dict[str, Any]:
    ctx = _ctx(request)
    _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
    spec = COLLECTIONS[collection][1](await _body(request))
    added = await anyio.to_thread.run_sync(aliases.add_rule, ctx.store, target.id, spec)
    return {"data": msgspec.to_builtins(added)}


async def _delete(request: Request, user: str, collection: str, rule_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    kinds = COLLECTIONS[collection][0]
    _, target = await anyio.to_thread.run_sync(owner_write, request, ctx.store, user)
    number = _rule_id(rule_id)
    await anyio.to_thread.run_sync(lambda: aliases.remove_rule(ctx.store, target.id, number, kinds=kinds))
    return {"data": {"id": number, "deleted": True}}


def _list_docs(collection: str) -> dict[str, Any]:
    return {"tags": TAGS, "description": f"The user's {collection.replace('_', ' ')}, oldest first.",
            **documented(USER_READ)}


def _add_docs(collection: str) -> dict[str, Any]:
    return {"tags": TAGS, "status_code": HTTP_201_CREATED,
            "description": f"Add one of the user's {collection.replace('_', ' ')} (the same rule again answers the "
                           "stored one).",
            **documented(USER_WRITE, 400, 413, body=json_body({"type": "object"}, COLLECTIONS[collection][2],
                                                              required=True))}


def _delete_docs(collection: str) -> dict[str, Any]:
    return {"tags": TAGS, "status_code": HTTP_200_OK,
            "description": f"Delete one of the user's {collection.replace('_', ' ')}.",
            **documented(USER_WRITE, NO_RULE)}


# One module-level handler per route, so `hackatime-lite routes` names a function anyone can open.


@get(f"{BASE}/aliases", **_list_docs("aliases"))
async def list_aliases(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _list(request, user, "aliases")


@post(f"{BASE}/aliases", **_add_docs("aliases"))
async def add_aliases(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _add(request, user, "aliases")


@delete(f"{BASE}/aliases/{{rule_id:str}}", **_delete_docs("aliases"))
async def delete_aliases(request: Request, user: FromPath[str], rule_id: FromPath[str]) -> dict[str, Any]:
    return await _delete(request, user, "aliases", rule_id)


@get(f"{BASE}/labels", **_list_docs("labels"))
async def list_labels(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _list(request, user, "labels")


@post(f"{BASE}/labels", **_add_docs("labels"))
async def add_labels(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _add(request, user, "labels")


@delete(f"{BASE}/labels/{{rule_id:str}}", **_delete_docs("labels"))
async def delete_labels(request: Request, user: FromPath[str], rule_id: FromPath[str]) -> dict[str, Any]:
    return await _delete(request, user, "labels", rule_id)


@get(f"{BASE}/language_mappings", **_list_docs("language_mappings"))
async def list_language_mappings(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _list(request, user, "language_mappings")


@post(f"{BASE}/language_mappings", **_add_docs("language_mappings"))
async def add_language_mappings(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _add(request, user, "language_mappings")


@delete(f"{BASE}/language_mappings/{{rule_id:str}}", **_delete_docs("language_mappings"))
async def delete_language_mappings(request: Request, user: FromPath[str], rule_id: FromPath[str]) -> dict[str, Any]:
    return await _delete(request, user, "language_mappings", rule_id)


@get(f"{BASE}/exclusions", **_list_docs("exclusions"))
async def list_exclusions(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _list(request, user, "exclusions")


@post(f"{BASE}/exclusions", **_add_docs("exclusions"))
async def add_exclusions(request: Request, user: FromPath[str]) -> dict[str, Any]:
    return await _add(request, user, "exclusions")


@delete(f"{BASE}/exclusions/{{rule_id:str}}", **_delete_docs("exclusions"))
async def delete_exclusions(request: Request, user: FromPath[str], rule_id: FromPath[str]) -> dict[str, Any]:
    return await _delete(request, user, "exclusions", rule_id)


HANDLERS = [list_aliases, add_aliases, delete_aliases, list_labels, add_labels, delete_labels, list_language_mappings, add_language_mappings, delete_language_mappings, list_exclusions, add_exclusions, delete_exclusions]
