"""Where things live on disk: the only module that knows about frozen executables and data dirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "hackatime-lite"


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def package_root() -> Path:
    """Directory holding the package's own files (web assets), also inside a PyInstaller bundle."""
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "hackatime_lite"
    return Path(__file__).resolve().parent


def web_root() -> Path:
    return package_root() / "web"


def default_data_dir() -> Path:
    import platformdirs  # only without a data dir given (a server's start-up need not import it)

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_data_dir(value: str | os.PathLike[str] | None) -> Path:
    return Path(value).expanduser().resolve() if value else default_data_dir()


class DataDir:
    """Names of the files kept in one data dir."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def database(self) -> Path:
        return self.root / "hackatime.sqlite3"

    @property
    def replica(self) -> Path:
        return self.root / "analytics.duckdb"

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def secret_file(self) -> Path:
        return self.root / "secret.key"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def server_file(self) -> Path:
        """Written by a running server so the CLI can find it (url, pid)."""
        return self.root / "server.json"

    @property
    def lock_file(self) -> Path:
        """Held (flock) by the one server that owns this data dir."""
        return self.root / "server.lock"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
