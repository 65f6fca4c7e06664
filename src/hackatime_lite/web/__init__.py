"""The web dashboard: server-rendered pages (Jinja2), a little JS, charts from a bundled library.

`web_handlers(settings)` returns the route handlers to register (the page router with its login guard and
CSRF middleware, and the static files); `template_config()` the Jinja2 setup. Both are wired in app.py.
Templates and static files live in the package (`paths.web_root()`); the static files are built from the
repo's `web/src/` by `web/build.mjs`.

The page modules, Jinja2 and the CSRF middleware are imported by those two functions, not here: app.py registers
the dashboard on its first request (a server used only by editors never pays for it), and the APIs import
`web.auth` for the session viewer without loading every page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException

from hackatime_lite import paths
from hackatime_lite.config import Settings

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.template.config import TemplateConfig

# No inline script or style anywhere in the templates, so the policy can forbid both.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="Cache-Control", value="no-store"),
]


def template_config() -> TemplateConfig[Any]:
    from litestar.plugins.jinja import JinjaTemplateEngine
    from litestar.template.config import TemplateConfig

    from hackatime_lite.web.render import configure_engine

    return TemplateConfig(
        directory=paths.web_root() / "templates", engine=JinjaTemplateEngine, engine_callback=configure_engine
    )


# The longest file name file systems allow (NAME_MAX); our static files' names are far shorter.
_MAX_NAME_BYTES = 255


def _plausible_file_path(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """404 for a path that can name no file: a NUL, or a name longer than any file system allows.

    Without this the file system call fails (ValueError, ENAMETOOLONG) and Litestar answers 500.
    """
    path = connection.scope["path"]
    if "\x00" in path or any(len(part.encode(errors="surrogatepass")) > _MAX_NAME_BYTES for part in path.split("/")):
        raise NotFoundException()


def web_handlers(settings: Settings) -> list[Any]:
    from litestar import Router
    from litestar.config.csrf import CSRFConfig
    from litestar.datastructures import CacheControlHeader
    from litestar.middleware import DefineMiddleware
    from litestar.middleware.csrf import CSRFMiddleware
    from litestar.static_files import create_static_files_router

    from hackatime_lite.web import account, admin, dashboard, events, live, notify_pages, settings_pages
    from hackatime_lite.web import aliases as alias_pages
    from hackatime_lite.web import goals as goal_pages
    from hackatime_lite.web import teams as team_pages
    from hackatime_lite.web import webhooks as webhook_pages
    from hackatime_lite.web.auth import CSRF_COOKIE, login_required
    from hackatime_lite.web.errors import WEB_EXCEPTION_HANDLERS
    from hackatime_lite.web.render import csrf_secret

    csrf = CSRFConfig(
        secret=csrf_secret(settings),
        cookie_name=CSRF_COOKIE,
        cookie_httponly=True,  # pages carry the token in a <meta> tag and forms; JS never reads the cookie
        cookie_samesite="lax",
        header_name="x-csrftoken",
    )
    pages = Router(
        path="/",
        route_handlers=[
            *account.HANDLERS,
            *dashboard.HANDLERS,
            *goal_pages.HANDLERS,
            *alias_pages.HANDLERS,
            *team_pages.HANDLERS,
            *settings_pages.HANDLERS,
            *webhook_pages.HANDLERS,
            *notify_pages.HANDLERS,
            *admin.HANDLERS,
            *live.HANDLERS,
            *events.HANDLERS,
        ],
        guards=[login_required],
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        exception_handlers=WEB_EXCEPTION_HANDLERS,  # type: ignore[arg-type]  # a dict of several handlers infers a union Litestar's per-class type rejects
        response_headers=SECURITY_HEADERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[paths.web_root() / "static"],
        include_in_schema=False,
        # URLs carry a content hash (?v=), so browsers may keep files for long.
        cache_control=CacheControlHeader(max_age=7 * 86400, public=True),
        name="web_static",
        guards=[_plausible_file_path],
    )
    return [pages, static]
