"""What every CLI command module shares: consoles, option types, settings and store helpers, `fail`."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec
import typer
from rich.console import Console

from hackatime_lite.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from hackatime_lite.store import Store

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (SQLite file, replica).",
        envvar="HACKATIME_DATA_DIR",
        show_envvar=True,
    ),
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML config file.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class CliState:
    overrides: ClassVar[dict[str, Any]] = {}
    config_file: Path | None = None


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def settings_for(data_dir: Path | None, config: Path | None, **flags: Any) -> Settings:
    overrides = {**CliState.overrides, **{k: v for k, v in flags.items() if v is not None}}
    if data_dir is not None:
        overrides["data_dir"] = str(data_dir)
    try:
        return load_settings(config_file=config or CliState.config_file, overrides=overrides)
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc


def open_store(settings: Settings):  # type: ignore[no-untyped-def]
    from hackatime_lite.store import Store

    settings.paths.ensure()
    return Store(settings.paths.database)


@contextlib.contextmanager
def opened_store(settings: Settings, *errors: type[Exception]) -> Iterator[Store]:
    """The data dir's store, closed on the way out; any of `errors` raised inside becomes `fail(message)`."""
    store = open_store(settings)
    try:
        yield store
    except errors as exc:
        raise fail(str(exc)) from exc
    finally:
        store.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(msgspec.to_builtins(data), indent=2, default=str) + "\n")


