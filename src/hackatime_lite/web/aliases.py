"""The rules page (`/settings/aliases`): a user's aliases, labels, language mappings and exclusions, with add and
delete forms (CSRF-protected like every form). The same use cases as the native API and `hackatime-lite alias`,
so a rule added here shows on the dashboard, in the API and in the CLI from the next read on.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from hackatime_lite import aliases
from hackatime_lite.context import AppContext
from hackatime_lite.errors import InputError
from hackatime_lite.web.auth import viewer_of
from hackatime_lite.web.render import page, redirect

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
PATH = "/settings/aliases"
SECTIONS = (("alias", "Aliases"), ("label", "Labels"), ("language", "Language by file extension"),
            ("exclude", "Excluded projects"), ("hide", "Hidden projects"))


class RuleForm(msgspec.Struct):
    kind: str = ""
    dimension: str = ""
    pattern: str = ""
    value: str = ""


def _page(request: Request, *, status_code: int = 200, **extra: Any) -> Template:
    ctx: AppContext = request.app.state.ctx
    rules = aliases.list_rules(ctx.store, viewer_of(request).user.id)
    return page(request, "aliases.html", status_code=status_code, active="settings",
                sections=[(kind, title, [r for r in rules if r.kind == kind]) for kind, title in SECTIONS],
                dimensions=aliases.RULE_DIMENSIONS, **extra)


@get(PATH, sync_to_thread=True)
def aliases_page(request: Request) -> Template:
    return _page(request)


@post(PATH, sync_to_thread=True)
def add_rule(request: Request, data: Annotated[RuleForm, FORM]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    try:
        spec = aliases.rule_spec(data.kind, dimension=data.dimension or None, pattern=data.pattern,
                                 value=data.value)
        aliases.add_rule(ctx.store, viewer_of(request).user.id, spec)
    except InputError as exc:
        return _page(request, status_code=400, error=str(exc), form=msgspec.to_builtins(data))
    return redirect(PATH, done="rule-added")


@post(PATH + "/{rule_id:int}/delete", sync_to_thread=True)
def delete_rule(request: Request, rule_id: FromPath[int]) -> Template | Redirect:
    ctx: AppContext = request.app.state.ctx
    try:
        aliases.remove_rule(ctx.store, viewer_of(request).user.id, rule_id)
    except InputError as exc:
        return _page(request, status_code=exc.status_code, error=str(exc))
    return redirect(PATH, done="rule-deleted")


HANDLERS = [aliases_page, add_rule, delete_rule]
