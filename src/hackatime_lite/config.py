"""Settings: defaults < TOML file < HACKATIME_* environment < CLI flags. No I/O at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from hackatime_lite.errors import InputError
from hackatime_lite.models import DurationMode, DurationRule, RuleError
from hackatime_lite.paths import DataDir, resolve_data_dir

ENV_PREFIX = "HACKATIME_"
SECRET_FIELDS = frozenset({"secret", "smtp_password", "metrics_token"})


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def mask_url_password(url: str) -> str:
    """`url` with its password (if any) replaced by asterisks, for output and logs."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:********@{hostinfo}"))


class ConfigError(InputError):
    """A setting has a value we cannot use; the message names it."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 3000
    data_dir: str = ""
    # The store: "" is the embedded SQLite file in the data dir; a postgresql://… (or postgres://…) URL puts the
    # store in that PostgreSQL database, which any number of app nodes may share (each keeps its own data dir
    # for the analytics replica). Shown by `config` with the password masked.
    database_url: str = ""
    # The one duration rule's server-wide defaults; users may override both.
    default_timeout: int = 120
    default_mode: DurationMode = "capped"
    max_body_bytes: int = 4 * 1024 * 1024
    max_heartbeats_per_request: int = 1000
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = False
    replica_sync_interval: float = 1.0
    # `serve` on SQLite inserts heartbeats in a child process of its own (store/sqlite/writer_process.py): the
    # request handling and the inserts then run on two cores instead of taking turns holding one GIL.
    writer_process: bool = True
    # How often each node checks whether its replica needs re-sorting (compaction runs only past a threshold).
    replica_compact_interval: float = 600.0
    # DuckDB limits for the analytics replica, applied to every connection it opens: a small box must not
    # lose 80 % of its RAM to DuckDB's default (spills to a temp dir beyond this); threads per query.
    replica_memory_limit: str = "256MB"
    replica_threads: int = 2
    # The replica checkpoints (in a thread of its own, with or without the scheduler) once its write-ahead log
    # passes this many MB: DuckDB holds the rows appended since the last checkpoint in memory, so this bounds
    # that memory, and a small log keeps each checkpoint's pause of the syncs short.
    replica_checkpoint_mb: float = 16.0
    # glibc malloc arenas of a server process (0: glibc's default of 8 per core; MALLOC_ARENA_MAX, when set,
    # wins): fewer arenas keep less memory free-but-held under many threads (analytics/memory.py, which also
    # fixes glibc's mmap threshold).
    malloc_arena_max: int = 2
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
    # Abuse limits (0 turns one off). Logins: an address may fail this many times for one username, and
    # this many times over all usernames, before it waits 1 s, 2 s, 4 s … up to login_backoff_max seconds;
    # failures are forgotten login_failure_window seconds after the newest. Other addresses are never
    # affected, so nobody can lock an account for its owner.
    login_free_failures: int = 3
    login_free_failures_per_address: int = 20
    login_backoff_max: float = 900.0
    login_failure_window: float = 3600.0
    # API requests per minute: per key for heartbeats and other writes (Hackatime's 360) and for reads
    # (also per address for reads of shared stats without a key); per address for requests with a key that
    # matches none (guessing), and for wakatime-cli's unauthenticated /plugins/errors diagnostics.
    api_ingest_per_minute: int = 360
    api_read_per_minute: int = 600
    api_bad_keys_per_minute: int = 20
    plugin_errors_per_minute: int = 10
    secret: str = ""
    # Outgoing mail (the weekly report e-mail, notify/): off while smtp_host is empty. smtp_starttls upgrades a
    # plain connection with STARTTLS; smtp_port 465 speaks TLS from the start. The password is never logged.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_starttls: bool = True
    # The address users reach this server at, for links in e-mails (default: http://host:port).
    public_url: str = ""
    # Prometheus metrics at /api/metrics (404 while off). Readable with `metrics_token` as a bearer token (for
    # the scraper; "" = none), or an admin's API key or session; a user's own key shows their own gauges only.
    metrics_enabled: bool = False
    metrics_token: str = ""
    # Live dashboard (server-sent events): open streams per user (more get 429), and the seconds between
    # keep-alive comments that stop proxies from closing an idle stream.
    live_streams_per_user: int = 5
    live_keepalive_seconds: float = 15.0

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
        if self.login_free_failures < 1 or self.login_free_failures_per_address < 1:
            raise ConfigError("login_free_failures and login_free_failures_per_address must be at least 1")
        if not 1 <= self.login_backoff_max <= self.login_failure_window:
            raise ConfigError("login_backoff_max must be at least 1 and at most login_failure_window")
        if self.database_url and not self.database_url.startswith(POSTGRES_SCHEMES):
            raise ConfigError("database_url must be empty (the SQLite file in the data dir) or a postgresql:// URL")
        if self.replica_threads < 1:
            raise ConfigError("replica_threads must be at least 1")
        if self.replica_checkpoint_mb <= 0 or self.malloc_arena_max < 0:
            raise ConfigError("replica_checkpoint_mb must be positive and malloc_arena_max at least 0")
        if self.live_streams_per_user < 1 or self.live_keepalive_seconds <= 0:
            raise ConfigError("live_streams_per_user must be at least 1 and live_keepalive_seconds positive")
        return self

    def public_view(self) -> dict[str, Any]:
        """Effective settings with secrets masked, for `hackatime-lite config`."""
        shown = msgspec.to_builtins(self)
        for name in SECRET_FIELDS:
            if shown.get(name):
                shown[name] = "********"
        shown["data_dir"] = str(self.paths.root)
        shown["database_url"] = mask_url_password(self.database_url)
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
        import tomllib  # only with a file to read (~10 ms of `serve`'s start-up otherwise)

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
