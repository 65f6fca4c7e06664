"""The replica's DuckDB file: its tables and schema version, the watermarks kept in `meta`, telling a usable
file from a damaged one, and swapping a rebuilt file in.

Only the file's shape and health live here; its rows come from replica_copy and their stored gaps from
replica_gaps. The file is a cache: anything wrong with it (missing, unreadable, another schema version,
deleted, truncated or overwritten while open, a damaged block found by a read) is answered by a rebuild from
the store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import duckdb

from hackatime_lite.errors import TemporarilyUnavailable
from hackatime_lite.store.records import ChangeMarks

# Bump when the replica's tables change: an older file is then rebuilt on open.
SCHEMA_VERSION = 5
# Bytes 8..11 of every DuckDB database file.
_DUCKDB_MAGIC = b"DUCK"

# The dimensions a rollup row is keyed by (besides user and day): what summaries, stats, daily series and
# leaderboards break down or filter by. entity, type and dependency stay on the raw path.
ROLLUP_DIMENSIONS: tuple[str, ...] = ("project", "language", "editor", "operating_system", "machine", "category",
                                      "branch")
_ROLLUP_COLUMNS = ("(user_id INTEGER NOT NULL, day DATE NOT NULL, "
                   + "".join(f"{name} VARCHAR, " for name in ROLLUP_DIMENSIONS) + "seconds DOUBLE NOT NULL)")

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
    # replica_rollups: seconds per (user, local day in the user's zone, dimension values), exact because days
    # add up (docs/architecture.md). Kept physically in (user_id, day) order by compaction.
    f"CREATE TABLE rollups {_ROLLUP_COLUMNS}",
    # (user, local day number) pairs whose rollups a sync made for a per-user read left to recompute
    # (Replica.sync(defer_rollups=True)); any rollup read recomputes them first. In the file, with the rows and
    # watermarks of the same transaction, so a crash never leaves a rollup stale.
    "CREATE TABLE rollup_pending (user_id INTEGER NOT NULL, day_number INTEGER NOT NULL)",
    # The rollups summed per (user, local day, category), kept with them by replica_rollups: daily totals of
    # every user (streaks, the daily-totals read) read these few rows instead of every rollup combination.
    "CREATE TABLE day_totals (user_id INTEGER NOT NULL, day DATE NOT NULL, category VARCHAR, seconds DOUBLE NOT NULL)",
)
# A rebuild copies rows here in arrival order, then sorts them into `heartbeats` (replica_gaps.sort_in).
_UNSORTED_SCHEMA = f"CREATE TEMP TABLE heartbeats_unsorted {_HEARTBEAT_COLUMNS}"

FileIdentity = tuple[int, int]

# What file_problem() finds. A damaged file is rebuilt; a missing or replaced one may be another process's
# fresh rebuild, so it is reopened first.
MISSING = "file is missing"
UNREADABLE = "file cannot be read"
REPLACED = "file was replaced"
TRUNCATED = "file was truncated"
CORRUPT = "file is corrupt"
DAMAGED = (TRUNCATED, CORRUPT)

# DuckDB reports a damaged file under several classes, and some only as the base duckdb.Error (a checksum
# mismatch is "Corrupt database file: computed checksum … does not match stored checksum …"), so the class
# alone misses them; these words in the message never come from a mistaken statement.
_DAMAGE_WORDS = ("corrupt", "checksum", "not a valid duckdb database", "could not read enough bytes",
                 "truncated", "invalidated", "serializ", "i/o error", "io error")


class ReplicaError(RuntimeError):
    """The replica cannot be opened or built (e.g. another process holds its lock); safe to show."""


class ReplicaUnavailable(ReplicaError, TemporarilyUnavailable):
    """The replica is damaged and could not be rebuilt just now (e.g. the disk is full): reads answer 503
    until a later attempt succeeds. Safe to show."""

    retry_after = 10


def create_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The replica's tables, plus the temporary `heartbeats_unsorted` a rebuild copies into."""
    for statement in (*_SCHEMA, _UNSORTED_SCHEMA):
        conn.execute(statement)


def write_marks(cursor: duckdb.DuckDBPyConnection, marks: ChangeMarks, defaults: str, *,
                unsorted_rows: int = 0) -> None:
    """Record how far the rows go, in the caller's transaction (so marks and rows never disagree).

    `defaults` is the server's default rule the users table was filled with (see try_open); `unsorted_rows`
    how many heartbeats syncs appended since the table was last sorted (see Replica.compact)."""
    rows = [("heartbeat_id", str(marks.heartbeat_id)), ("tombstone_seq", str(marks.tombstone_seq)),
            ("users_version", marks.users_version), ("schema_version", str(SCHEMA_VERSION)),
            ("defaults", defaults), ("unsorted_rows", str(unsorted_rows))]
    cursor.execute("INSERT OR REPLACE INTO meta SELECT UNNEST($keys), UNNEST($values)",
                   {"keys": [k for k, _ in rows], "values": [v for _, v in rows]})


# Rows per row group of the replica's tables (DuckDB's default is 122,880). A checkpoint rewrites the row group
# syncs have been appending to, and DuckDB's commits wait for a checkpoint: with the default, the checkpoint after
# a row group filled up paused every sync, and so every read that syncs, for ~300 ms, twice a minute under the
# bench's mixed load (issue 13's p99). Smaller groups also let a per-user read of the (user, time)-sorted table
# skip more of the file.
ROW_GROUP_SIZE = 16_384
# The replica's name inside its DuckDB instance (connect attaches the file under it).
_ALIAS = "replica"


def connect(path: Path, limits: Mapping[str, str | int | bool] | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file with the replica's resource limits (memory_limit, threads: connection_limits) and row
    group size. Only ATTACH takes a row group size (a file does not keep it), so the file is attached to an
    in-memory instance as its default database; a cursor of this connection must be made by cursor() below."""
    config: dict[str, str | bool | int | float | list[str]] = {"temp_directory": f"{path}.tmp", **(limits or {})}
    conn = duckdb.connect(":memory:", config=config)
    try:
        conn.execute(f"ATTACH '{_sql_text(str(path))}' AS {_ALIAS} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        conn.execute(f"USE {_ALIAS}")
    except BaseException:
        conn.close()
        raise
    return conn


def cursor(conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of a connect() connection on the replica file (DuckDB starts a cursor on the instance's in-memory
    database: it is pointed at the file, ~0.1 ms, so a thread that reads often keeps one: Replica._read_cursor)."""
    fresh = conn.cursor()
    try:
        fresh.execute(f"USE {_ALIAS}")
    except BaseException:
        fresh.close()
        raise
    return fresh


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


# DuckDB checkpoints at the commit that takes its write-ahead log past this. The replica_sync job checkpoints
# far earlier (Replica.checkpoint_if_due), off the reads' commits; this bounds the log where no job runs.
AUTO_CHECKPOINT_THRESHOLD = "256MB"


# DuckDB's allocator keeps what its threads freed for reuse until a task's peak passes this (DuckDB's default
# is 128 MiB): every request thread that runs a statement is such a thread, so the default let a server's
# memory grow by tens of MB under steady small reads and syncs. Background threads return freed pages over time.
ALLOCATOR_FLUSH_THRESHOLD = "16MB"


def connection_limits(memory_limit: str, threads: int) -> dict[str, str | int | bool]:
    """DuckDB's config for every replica connection: bounded memory (it spills to a temp dir beyond it) and
    threads, instead of DuckDB's defaults of 80 % of RAM and every core; freed memory returned."""
    return {"memory_limit": memory_limit, "threads": int(threads),
            "allocator_flush_threshold": ALLOCATOR_FLUSH_THRESHOLD, "allocator_background_threads": True}


def leave_checkpoints_to_the_job(conn: duckdb.DuckDBPyConnection) -> None:
    """On the file the server reads (not a rebuild's staging file, which checkpoints once when it is done)."""
    conn.execute(f"SET checkpoint_threshold = '{AUTO_CHECKPOINT_THRESHOLD}'")


def wal_path(path: Path) -> Path:
    """The file's write-ahead log (DuckDB's name for it)."""
    return path.with_name(path.name + ".wal")


def unsorted_rows(conn: duckdb.DuckDBPyConnection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'unsorted_rows'").fetchone()
    return int(row[0]) if row is not None else 0


def sort_tables(cursor: duckdb.DuckDBPyConnection) -> None:
    """Rewrite heartbeats in (user, time, id) order and rollups in (user, day) order, in the caller's
    transaction: zone maps on user_id and time then let a per-user read skip almost every row group."""
    cursor.execute(f"CREATE TABLE heartbeats_sorted {_HEARTBEAT_COLUMNS}")
    cursor.execute("INSERT INTO heartbeats_sorted SELECT * FROM heartbeats ORDER BY user_id, time, id")
    cursor.execute("DROP TABLE heartbeats")
    cursor.execute("ALTER TABLE heartbeats_sorted RENAME TO heartbeats")
    cursor.execute(f"CREATE TABLE rollups_sorted {_ROLLUP_COLUMNS}")
    cursor.execute("INSERT INTO rollups_sorted SELECT * FROM rollups ORDER BY user_id, day")
    cursor.execute("DROP TABLE rollups")
    cursor.execute("ALTER TABLE rollups_sorted RENAME TO rollups")


def try_open(path: Path, defaults: str, limits: Mapping[str, str | int | bool] | None = None,
             ) -> tuple[duckdb.DuckDBPyConnection, ChangeMarks] | str:
    """Open an existing replica file: (connection, its watermarks), or why it cannot be used (then nothing is
    left open). Raises ReplicaError when another process holds the file: rebuilding would not help."""
    if not path.exists():
        return "missing"
    try:
        conn = connect(path, limits)
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
    if isinstance(exc, duckdb.IOException | duckdb.InternalException | duckdb.FatalException
                  | duckdb.SerializationException):
        return True
    text = str(exc).lower()
    return any(word in text for word in _DAMAGE_WORDS)


def identity(path: Path) -> FileIdentity:
    stat = path.stat()
    return stat.st_dev, stat.st_ino


def file_size(path: Path) -> int:
    return path.stat().st_size


def file_problem(path: Path, opened: FileIdentity | None, size: int = 0) -> str | None:
    """Why the open file (`opened` = its identity, `size` = its size after our last write) can no longer be
    trusted: deleted, replaced, truncated, or its header overwritten; None if it still looks like the file that
    was opened. Costs a stat (and, for a file no connection of ours holds, a 12-byte read)."""
    try:
        stat = path.stat()
        # DuckDB locks its file with a POSIX record lock, and POSIX drops every such lock a process holds on a
        # file when the process closes ANY descriptor of it: opening and closing the file we hold would
        # silently let another process open (and write) it. So an open file's header is read through the
        # descriptor DuckDB already holds; without /proc the header check is skipped while it is open.
        head = _header(path) if opened is None else _header_through_open_descriptor(opened)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    except OSError:
        return UNREADABLE
    if opened is not None and opened != (stat.st_dev, stat.st_ino):
        return REPLACED
    if head is not None and head[8:12] != _DUCKDB_MAGIC:
        return CORRUPT
    # Only our own writes change the file's size, and the caller notes it after each: a smaller file lost
    # blocks DuckDB still points to (a checkpoint would write into the holes; a later read would fail).
    if stat.st_size < size:
        return TRUNCATED
    return None


def _header(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(12)


# {file identity: the descriptor number it was last found open under}: every sync checks the header, and a
# server holds many descriptors (sockets), so the scan of /proc/self/fd runs only when that one no longer is it.
_found_descriptors: dict[FileIdentity, int] = {}


def _header_through_open_descriptor(identity: FileIdentity) -> bytes | None:
    """The first bytes of the file with this identity, read with pread through a descriptor this process
    already has open (found in /proc/self/fd, whose entries stat without opening anything)."""
    known = _found_descriptors.get(identity)
    if known is not None:
        try:
            found = os.fstat(known)
            if (found.st_dev, found.st_ino) == identity:
                return os.pread(known, 12, 0)
        except OSError:
            pass  # closed meanwhile (or reused for a file not open for reading): scan again
        _found_descriptors.pop(identity, None)
    fd_dir = Path("/proc/self/fd")
    try:
        entries = list(fd_dir.iterdir())
    except OSError:
        return None
    for entry in entries:
        try:
            found = os.stat(entry)
            if (found.st_dev, found.st_ino) == identity:
                head = os.pread(int(entry.name), 12, 0)
                if len(_found_descriptors) > 64:  # identities of files long closed
                    _found_descriptors.clear()
                _found_descriptors[identity] = int(entry.name)
                return head
        except (OSError, ValueError):
            continue  # a descriptor closed meanwhile, or one not opened for reading
    return None


def remove_database_files(path: Path) -> None:
    for candidate in (path, wal_path(path)):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def staging_path(path: Path) -> Path:
    """Where this process and thread build a new file next to `path` (concurrent rebuilds never collide)."""
    return path.with_name(f"{path.name}.rebuild-{os.getpid()}-{threading.get_ident()}")


def swap_in(staging: Path, path: Path, limits: Mapping[str, str | int | bool] | None = None) -> duckdb.DuckDBPyConnection:
    """Replace `path` by the finished `staging` file and open it (the caller holds no connection to `path`)."""
    remove_database_files(path)
    os.replace(staging, path)
    return connect(path, limits)
