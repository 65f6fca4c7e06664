"""The replica's DuckDB file: its tables and schema version, the watermarks kept in `meta`, telling a usable
file from a damaged one, and swapping a rebuilt file in.

Only the file's shape and health live here; its rows come from replica_copy and their stored gaps from
replica_gaps. The file is a cache: anything wrong with it (missing, unreadable, another schema version,
deleted or overwritten while open) is answered by a rebuild from the store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from pathlib import Path

import duckdb

from hackatime_lite.store.records import ChangeMarks

# Bump when the replica's tables change: an older file is then rebuilt on open.
SCHEMA_VERSION = 2
# Bytes 8..11 of every DuckDB database file.
_DUCKDB_MAGIC = b"DUCK"

# The heartbeats columns: the replica's table and the rebuild's unsorted copy of it have the same ones.
_HEARTBEAT_COLUMNS = """(
    id BIGINT NOT NULL,
    user_id INTEGER NOT NULL,
    time DOUBLE NOT NULL,
    entity VARCHAR,
    "type" VARCHAR,
    category VARCHAR,
    project VARCHAR,
    branch VARCHAR,
    language VARCHAR,
    dependencies VARCHAR[],
    editor VARCHAR,
    operating_system VARCHAR,
    machine VARCHAR,
    source VARCHAR,
    is_write BOOLEAN,
    -- durations.stored_gap_sql(): seconds to the next heartbeat of the user, ≤ MAX_TIMEOUT; NULL if last
    gap DOUBLE
)"""
_SCHEMA = (
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    f"CREATE TABLE heartbeats {_HEARTBEAT_COLUMNS}",
    """CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username VARCHAR,
        timezone VARCHAR NOT NULL,
        timeout INTEGER NOT NULL,
        duration_mode VARCHAR NOT NULL,
        trust_level VARCHAR NOT NULL,
        leaderboard_opt_out BOOLEAN NOT NULL,
        is_disabled BOOLEAN NOT NULL
    )""",
)
# A rebuild copies rows here in arrival order, then sorts them into `heartbeats` (replica_gaps.sort_in).
_UNSORTED_SCHEMA = f"CREATE TEMP TABLE heartbeats_unsorted {_HEARTBEAT_COLUMNS}"

FileIdentity = tuple[int, int]


class ReplicaError(RuntimeError):
    """The replica cannot be opened or built (e.g. another process holds its lock); safe to show."""


def create_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The replica's tables, plus the temporary `heartbeats_unsorted` a rebuild copies into."""
    for statement in (*_SCHEMA, _UNSORTED_SCHEMA):
        conn.execute(statement)


def write_marks(cursor: duckdb.DuckDBPyConnection, marks: ChangeMarks, defaults: str) -> None:
    """Record how far the rows go, in the caller's transaction (so marks and rows never disagree).

    `defaults` is the server's default rule the users table was filled with (see try_open)."""
    rows = [("heartbeat_id", str(marks.heartbeat_id)), ("tombstone_seq", str(marks.tombstone_seq)),
            ("users_version", marks.users_version), ("schema_version", str(SCHEMA_VERSION)),
            ("defaults", defaults)]
    cursor.execute("INSERT OR REPLACE INTO meta SELECT UNNEST($keys), UNNEST($values)",
                   {"keys": [k for k, _ in rows], "values": [v for _, v in rows]})


def try_open(path: Path, defaults: str) -> tuple[duckdb.DuckDBPyConnection, ChangeMarks] | str:
    """Open an existing replica file: (connection, its watermarks), or why it cannot be used (then nothing is
    left open). Raises ReplicaError when another process holds the file: rebuilding would not help."""
    if not path.exists():
        return "missing"
    try:
        conn = duckdb.connect(str(path))
    except duckdb.Error as exc:
        if _is_lock_conflict(exc):
            raise ReplicaError(f"the analytics replica {path} is in use by another process") from exc
        return f"unreadable ({type(exc).__name__})"
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") != str(SCHEMA_VERSION):
            raise ValueError(f"schema version {meta.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        marks = ChangeMarks(int(meta["heartbeat_id"]), int(meta["tombstone_seq"]), meta["users_version"])
    except (duckdb.Error, ValueError, KeyError) as exc:
        conn.close()
        return f"unusable ({exc})"
    if meta.get("defaults") != defaults:
        # Server defaults changed: users' effective timeout/mode must be recomputed.
        marks = dataclasses.replace(marks, users_version="")
    return conn, marks


def _is_lock_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def looks_broken(exc: duckdb.Error) -> bool:
    """Whether a DuckDB error means the file is damaged (rebuild it) rather than a bad statement."""
    return isinstance(exc, duckdb.IOException | duckdb.InternalException | duckdb.FatalException
                      | duckdb.SerializationException)


def identity(path: Path) -> FileIdentity:
    stat = path.stat()
    return stat.st_dev, stat.st_ino


def file_problem(path: Path, opened: FileIdentity | None) -> str | None:
    """Why the open file (`opened` = its identity) can no longer be trusted: deleted, replaced, or overwritten
    with garbage; None if it still looks like the file that was opened."""
    try:
        current = identity(path)
        with path.open("rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        return "file is missing"
    if opened != current:
        return "file was replaced"
    if head[8:12] != _DUCKDB_MAGIC:
        return "file is corrupt"
    return None


def remove_database_files(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def staging_path(path: Path) -> Path:
    """Where this process and thread build a new file next to `path` (concurrent rebuilds never collide)."""
    return path.with_name(f"{path.name}.rebuild-{os.getpid()}-{threading.get_ident()}")


def swap_in(staging: Path, path: Path) -> duckdb.DuckDBPyConnection:
    """Replace `path` by the finished `staging` file and open it (the caller holds no connection to `path`)."""
    remove_database_files(path)
    os.replace(staging, path)
    return duckdb.connect(str(path))
