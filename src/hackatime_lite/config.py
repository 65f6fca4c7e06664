"""Settings: defaults < TOML file < HACKATIME_* environment < CLI flags. No I/O at import."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from hackatime_lite.errors import InputError
from hackatime_lite.models import DurationMode, DurationRule, RuleError
from hackatime_lite.paths import DataDir, resolve_data_dir

ENV_PREFIX = "HACKATIME_"
SECRET_FIELDS = frozenset({"secret"})


class ConfigError(InputError):
    """A setting has a value we cannot use; the message names it."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: str = ""
    # The one duration rule's server-wide defaults; users may override both.
    default_timeout: int = 120
    default_mode: DurationMode = "capped"
    max_body_bytes: int = 4 * 1024 * 1024
    max_heartbeats_per_request: int = 1000
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False
    replica_sync_interval: float = 1.0
    leaderboard_interval: float = 60.0
    leaderboard_categories: list[str] = msgspec.field(
        default_factory=lambda: [
            "coding",
            "debugging",
            "building",
            "code reviewing",
            "writing tests",
            "manual testing",
            "ai coding",
        ]
    )
    streak_min_minutes: int = 15
    backup_interval_hours: float = 24.0
    backup_keep: int = 7
    retention_days: int = 0
    mirror_interval: float = 5.0
    mirror_allowed_hosts: list[str] = msgspec.field(default_factory=list)
    # First retry delay (doubles per failure, jittered, capped at 1 h) and per-request timeout for mirroring.
    mirror_backoff_base: float = 30.0
    mirror_timeout: float = 15.0
    secret: str = ""

    @property
    def paths(self) -> DataDir:
        return DataDir(resolve_data_dir(self.data_dir or None))

    @property
    def default_rule(self) -> DurationRule:
        """The server-wide duration rule (users may override its mode and timeout)."""
        return DurationRule(mode=self.default_mode, timeout=self.default_timeout)

    def validate(self) -> Settings:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be 1-65535, got {self.port}")
        try:
            self.default_rule  # noqa: B018 - validates default_mode and default_timeout
        except RuleError as exc:
            raise ConfigError(f"default_timeout / default_mode: {exc}") from exc
        if self.max_heartbeats_per_request < 1 or self.max_body_bytes < 1024:
            raise ConfigError("max_heartbeats_per_request and max_body_bytes must be positive")
        return self

    def public_view(self) -> dict[str, Any]:
        """Effective settings with secrets masked, for `hackatime-lite config`."""
        shown = msgspec.to_builtins(self)
        for name in SECRET_FIELDS:
            if shown.get(name):
                shown[name] = "********"
        shown["data_dir"] = str(self.paths.root)
        return shown


def _field_types() -> dict[str, type]:
    return {f.name: f.type for f in msgspec.structs.fields(Settings)}


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _field_types():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is None:
            continue
        if name in ("leaderboard_categories", "mirror_allowed_hosts"):
            values[name] = [part.strip() for part in raw.split(",") if part.strip()]
        else:
            values[name] = raw
    return values


def config_file_path(
    explicit: str | os.PathLike[str] | None, data_dir: str | None, environ: Mapping[str, str]
) -> Path | None:
    """The TOML file to read: explicit flag, else HACKATIME_CONFIG, else <data dir>/config.toml if present."""
    chosen = explicit or environ.get(ENV_PREFIX + "CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    candidate = DataDir(resolve_data_dir(data_dir or environ.get(ENV_PREFIX + "DATA_DIR"))).config_file
    return candidate if candidate.is_file() else None


def load_settings(
    *,
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    merged: dict[str, Any] = {}
    path = config_file_path(config_file, flags.get("data_dir"), environ)
    if path is not None:
        try:
            merged.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    merged.update(_from_env(environ))
    merged.update(flags)
    try:
        # strict=False lets environment strings become ints, floats and bools.
        settings = msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(exc)) from exc
    return settings.validate()
