"""What every CLI command module shares: consoles, option types, settings and store helpers, `fail`."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from typer._click.core import Context as BundledClickContext  # Typer 0.29 bundles its own click
from typer.core import TyperGroup

from hackatime_lite.config import ConfigError, Settings, load_settings
from hackatime_lite.errors import InputError, TemporarilyUnavailable

if TYPE_CHECKING:
    from hackatime_lite.store import StoreBackend

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


@dataclass(frozen=True)
class GlobalOptions:
    """The options given before the command (`hackatime-lite --data-dir D --config F command …`). They live in
    click's context object (`ctx.obj`) of one invocation, so two in-process invocations never share them."""

    data_dir: Path | None = None
    config_file: Path | None = None

    @classmethod
    def current(cls) -> GlobalOptions:
        """This invocation's global options (the defaults outside of an invocation)."""
        root = _INVOCATION.get()
        found = root.obj if root is not None else None
        return found if isinstance(found, cls) else cls()


# The root context of the invocation running in this thread/task (Typer's bundled click keeps its own
# context stack, so it is tracked here); set and reset by InputErrorGroup.invoke.
_INVOCATION: ContextVar[Any] = ContextVar("hackatime_lite_cli_invocation", default=None)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


class InputErrorGroup(TyperGroup):
    """The CLI's one mapping of bad input: any InputError a command lets out is printed, exit status 1.
    It also makes its context (whose `obj` the main callback sets to GlobalOptions) the current invocation
    for GlobalOptions.current() while the command runs."""

    def invoke(self, ctx: BundledClickContext) -> Any:
        token = _INVOCATION.set(ctx)
        try:
            return super().invoke(ctx)
        except InputError as exc:
            raise fail(str(exc)) from exc
        except TemporarilyUnavailable as exc:  # a full disk, a read-only data dir: say so, no traceback
            raise fail(f"{exc} (temporary: try again in {exc.retry_after} s)") from exc
        finally:
            _INVOCATION.reset(token)


def settings_for(data_dir: Path | None, config: Path | None, **flags: Any) -> Settings:
    """Settings for a command: its own --data-dir/--config, else the global ones, plus its flags."""
    options = GlobalOptions.current()
    data_dir = data_dir if data_dir is not None else options.data_dir
    overrides = {k: v for k, v in flags.items() if v is not None}
    if data_dir is not None:
        overrides["data_dir"] = str(data_dir)
    try:
        return load_settings(config_file=config or options.config_file, overrides=overrides)
    except ConfigError as exc:
        raise fail(str(exc), 2) from exc


def open_store(settings: Settings) -> StoreBackend:
    from hackatime_lite.store import open_store as open_configured_store

    return open_configured_store(settings)


@contextlib.contextmanager
def opened_store(settings: Settings) -> Iterator[StoreBackend]:
    """The data dir's store, closed on the way out (an InputError raised inside is the app group's to show)."""
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(msgspec.to_builtins(data), indent=2, default=str) + "\n")


