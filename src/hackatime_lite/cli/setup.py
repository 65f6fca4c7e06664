"""Editor setup: `hackatime-lite setup` writes ~/.wakatime.cfg; `hackatime-lite doctor` checks the whole path
from that file to a stored heartbeat and says what to fix."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    console,
    err_console,
    fail,
    opened_store,
    print_json,
    settings_for,
)

CfgFileOption = Annotated[
    Path | None,
    typer.Option(
        "--wakatime-cfg", help="The plugin config file (default: ~/.wakatime.cfg, or in $WAKATIME_HOME)."
    ),
]


def _default_api_url(data_dir: Path | None, config: Path | None) -> str:
    from hackatime_lite.cli.client import API_BASE, running_server_url

    settings = settings_for(data_dir, config)
    root = running_server_url(settings)
    if root is None:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        root = f"http://{host}:{settings.port}"
    return root + API_BASE


def _create_key_for(user: str, data_dir: Path | None, config: Path | None) -> str:
    settings = settings_for(data_dir, config)
    with opened_store(settings) as store:
        owner = store.find_user(user)
        if owner is None:
            raise fail(
                f"no user {user!r} in {settings.paths.root} (create one with `hackatime-lite user create`)"
            )
        _, plaintext = store.create_api_key(owner.id, name="editor")
    return plaintext


def setup(
    key: Annotated[str | None, typer.Option("--key", help="API key to write (see `key create`).")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Create a new key for this user in the local data dir.")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Server URL (default: the running server, else host:port).")
    ] = None,
    show_only: Annotated[
        bool, typer.Option("--print", help="Only show the resulting file; write nothing.")
    ] = False,
    cfg_file: CfgFileOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point editor plugins at this server: set api_url and api_key in ~/.wakatime.cfg (other keys stay)."""
    from hackatime_lite.cli.client import API_BASE, check_api_key, server_root
    from hackatime_lite.cli.wakatime_cfg import (
        config_path,
        read_settings,
        updated_text,
        write_settings,
    )

    path = cfg_file or config_path()
    try:
        api_url = server_root(url) + API_BASE if url else _default_api_url(data_dir, config)
        existing = read_settings(path) or {}
        if key:
            api_key = check_api_key(key)
        elif user and not show_only:
            api_key = _create_key_for(user, data_dir, config)
        elif existing.get("api_key"):
            api_key = check_api_key(existing["api_key"])
        elif show_only:
            api_key = "<your API key>"
        else:
            raise fail(
                "no API key: pass --key KEY, or --user NAME to create one (`hackatime-lite key create`)"
            )
        values = {"api_url": api_url, "api_key": api_key}
        if show_only:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            text, backup = updated_text(current, values), None
        else:
            text, backup = write_settings(path, values)
    except OSError as exc:
        raise fail(f"{path} cannot be read: {exc}") from exc
    if as_json:
        print_json(
            {
                "path": str(path),
                "written": not show_only,
                "backup": str(backup) if backup else None,
                "api_url": api_url,
                "api_key": api_key,
                "content": text,
            }
        )
        return
    if show_only:
        console.print(f"# {path} would become:", style="dim", highlight=False)
        console.out(text, highlight=False, end="")
        return
    console.print(
        f"wrote {path}" + (f" (previous file kept as {backup.name})" if backup else ""), highlight=False
    )
    console.print(f"  api_url = {api_url}\n  api_key = {api_key[:8]}…", highlight=False)
    console.print("Editors pick this up with their next heartbeat; check with `hackatime-lite doctor`.")


def doctor(
    cfg_file: CfgFileOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 5.0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the editor setup: config file, server, API key, and a test heartbeat (not counted)."""
    from hackatime_lite.cli.client import running_server_url
    from hackatime_lite.cli.doctor import Doctor
    from hackatime_lite.cli.wakatime_cfg import config_path

    local_url = running_server_url(settings_for(data_dir, config))
    checks = Doctor(cfg_file or config_path(), timeout, local_url).run()
    healthy = all(c.ok for c in checks)
    if as_json:
        print_json({"ok": healthy, "checks": [asdict(c) for c in checks]})
    else:
        for check in checks:
            mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
            console.print(f"{mark} {check.name}: ", end="")
            console.print(check.detail, highlight=False, markup=False)
            if check.fix and not check.ok:
                console.print(f"    → {check.fix}", highlight=False, markup=False)
        if healthy:
            console.print("[green]all good[/green]: editors can send coding time here.")
        else:
            err_console.print(
                "[red]problems found[/red] — fix the ✗ lines above and run `hackatime-lite doctor` again."
            )
    if not healthy:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("setup")(setup)
    app.command("doctor")(doctor)
