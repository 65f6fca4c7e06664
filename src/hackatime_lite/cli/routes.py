"""`hackatime-lite routes`: every route the server answers, as `METHOD path → module:function`."""

from __future__ import annotations

import sys

import typer

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    print_json,
    settings_for,
)


def routes(data_dir: DataDirOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List every route (method, path) and the function that answers it: from a URL to its handler in one step."""
    from hackatime_lite.app import route_table

    rows = route_table(settings_for(data_dir, config))
    if as_json:
        print_json([{"method": r.method, "path": r.path, "handler": r.handler, "alias_of": r.alias_of} for r in rows])
        return
    # Plain lines, never wrapped, so the output greps: `hackatime-lite routes | grep statusbar`.
    width = max((len(r.method) for r in rows), default=0)
    # A base-path alias (api/wakatime/__init__.py) says which canonical route it is served as.
    for row in rows:
        alias = f"  (alias of {row.alias_of})" if row.alias_of else ""
        sys.stdout.write(f"{row.method:<{width}} {row.path} → {row.handler}{alias}\n")


def register(app: typer.Typer) -> None:
    app.command("routes")(routes)
