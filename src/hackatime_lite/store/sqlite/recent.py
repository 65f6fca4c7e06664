"""The heartbeats this process committed lately, kept in memory for the replica's next sync.

Under steady ingest the replica asks every second for the rows committed since its watermark
(StoreBackend.heartbeat_batches); reading them back from SQLite and decoding them cost about as much CPU as
the sync itself. The writer already holds those rows: after each commit it (or, under `serve`, the thread receiving the
writer process's answers: writer_process.py) hands them here with their ids,
and a read of an id range answers from memory when it can prove that memory holds exactly what SQLite would
return, else the caller reads SQLite as before.

What makes memory exact for a range (low, high]:
- coverage: every heartbeat committed with an id in it went through here. A request's new ids must continue
  the last ones (first id == high + 1); anything else (an import, another process, ids a skipped duplicate
  used up) ends the coverage, and it starts again at a later insert;
- nothing deleted since: a delete leaves a tombstone (a trigger), so the tombstone sequence read when the
  coverage began (inside that insert's transaction) must still be the current one; else memory is dropped;
- the values: the row tuples are what was bound; a REAL column may have been bound as an int, which SQLite
  returns as a float, so those columns are returned as floats (the rest are stored as bound).
Memory is kept only once someone reads (the replica), bounded by MAX_ROWS, and pruned below each read's start.
"""

from __future__ import annotations

import bisect
import itertools
import sqlite3
import threading
from collections.abc import Sequence
from operator import itemgetter

import sqlite_utils

from hackatime_lite.store.records import STORED_COLUMNS, HeartbeatRow, InsertOutcome
from hackatime_lite.store.sqlite import heartbeats

# Rows kept at most (well under 1 KB each): two seconds of heavy ingest between replica syncs (one a second
# under load; a server on two cores stores 30–40k heartbeats a second). Past it the older half goes, and a sync
# that still needs them reads SQLite (which at 20k cost ~5 µs of CPU per heartbeat once ingest outran it).
MAX_ROWS = 80_000
# Columns with REAL affinity: SQLite returns an int bound there as a float.
_REAL = frozenset({"time", "created_at"})


def tombstone_seq(conn: sqlite3.Connection) -> int:
    """The tombstone sequence's high-water mark (every delete of a heartbeat raises it)."""
    return _seq(conn, "heartbeat_tombstones")


def heartbeat_seq(conn: sqlite3.Connection) -> int:
    """The heartbeat id sequence's high-water mark (ids of skipped rows included)."""
    return _seq(conn, "heartbeats")


def insert_requests_marked(db: sqlite_utils.Database, requests: list[heartbeats.InsertRequest], *, anchor: bool,
                           last_seq: bool) -> tuple[int | None, list[list[InsertOutcome]], int | None]:
    """heartbeats.insert_requests with what RecentHeartbeats needs to hold its rows exactly, in the caller's
    transaction: (the tombstone sequence before the insert when `anchor`, the outcomes, the heartbeat id sequence
    after it when `last_seq` and a row was skipped as a duplicate)."""
    tombstones = tombstone_seq(db.conn) if anchor else None
    outcomes = heartbeats.insert_requests(db, requests)
    skipped = last_seq and any(not created for got in outcomes for _, created in got)
    return tombstones, outcomes, heartbeat_seq(db.conn) if skipped else None


def _seq(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return int(row[0]) if row is not None and row[0] is not None else 0


class RecentHeartbeats:
    """Committed heartbeat rows by id (see the module doc). Written by the writer thread (stage, publish) or by
    the writer process's receiver (add_committed), read by any."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._active = False  # set by the first read: nobody reads, nothing kept
        self._anchored = False  # whether (low, high] is covered
        self._low = 0
        self._high = 0
        self._tombstones = -1  # the tombstone sequence when the coverage began
        self._ids: list[int] = []
        self._rows: list[HeartbeatRow] = []
        # Staged by the transaction under way, kept only if it commits.
        self._staged: list[tuple[int | None, list[tuple[Sequence[HeartbeatRow], list[InsertOutcome]]],
                                 int | None]] = []
        self.served = 0  # reads answered from memory (for tests and benchmarks)

    @property
    def active(self) -> bool:
        """Whether rows are kept (someone reads them)."""
        return self._active

    @property
    def wants_anchor(self) -> bool:
        """Whether the next insert should read the tombstone sequence (to begin a coverage)."""
        return self._active and not self._anchored

    # -- the writer thread --------------------------------------------------------------------------
    def stage(self, tombstones: int | None, inserted: list[tuple[Sequence[HeartbeatRow], list[InsertOutcome]]],
              last_seq: int | None) -> None:
        """One insert call of the transaction under way: each request's rows and outcomes, in insert order.
        `tombstones`: the tombstone sequence read in that transaction before the insert, or None;
        `last_seq`: the heartbeat id sequence after it when some row was skipped as a duplicate (a skipped row
        uses up an id too), else None (the new ids are then consecutive)."""
        if self._active:
            self._staged.append((tombstones, inserted, last_seq))

    def discard(self) -> None:
        """The transaction (or part of it) was rolled back: forget what it staged, and the coverage."""
        with self._lock:
            self._staged.clear()
            self._drop()

    def publish(self) -> None:
        """The transaction committed: its staged rows join memory (or end the coverage, see the module doc)."""
        if not self._staged:
            return
        with self._lock:
            for tombstones, inserted, last_seq in self._staged:
                self._publish_one(tombstones, inserted, last_seq)
            self._staged.clear()
            self._trim()

    def add_committed(self, tombstones: int, inserted: list[tuple[Sequence[HeartbeatRow], list[InsertOutcome]]],
                      last_seq: int | None) -> None:
        """What one committed insert call of another writer (the writer process) stored, as stage() + publish()
        take it from this process's writer thread; any thread may call it."""
        if not self._active:
            return
        with self._lock:
            self._publish_one(tombstones, inserted, last_seq)
            self._trim()

    def _trim(self) -> None:
        if len(self._ids) > self.max_rows:
            cut = len(self._ids) - self.max_rows // 2
            self._low = self._ids[cut - 1]
            del self._ids[:cut], self._rows[:cut]

    def _publish_one(self, tombstones: int | None, inserted: list[tuple[Sequence[HeartbeatRow], list[InsertOutcome]]],
                     last_seq: int | None) -> None:
        ids: list[int] = []
        rows: list[HeartbeatRow] = []
        count = 0
        for request_rows, outcomes in inserted:
            count += len(request_rows)
            for row, (row_id, created) in zip(request_rows, outcomes, strict=True):
                if created:
                    ids.append(row_id)
                    rows.append(row)
        if last_seq is None:
            if not ids:
                return
            # Nothing skipped: the call used exactly the ids it inserted, consecutive from the first.
            if ids[-1] - ids[0] != len(ids) - 1:
                self._drop()  # never expected, and memory must not guess
                return
            used_from, used_to = ids[0] - 1, ids[-1]
        else:
            # Every row of the call, stored or skipped, used one id: the call used (last_seq - count, last_seq].
            used_from, used_to = last_seq - count, last_seq
            if any(b <= a for a, b in itertools.pairwise(ids)) or (ids and (ids[0] <= used_from or ids[-1] > used_to)):
                self._drop()
                return
        if not (self._anchored and used_from == self._high):
            if tombstones is None:
                self._drop()
                return
            # A new coverage from this call on: every id past its first new one is its own or unused.
            self._ids.clear()
            self._rows.clear()
            self._anchored, self._tombstones = True, tombstones
            self._low = ids[0] - 1 if ids else used_to
        self._ids.extend(ids)
        self._rows.extend(rows)
        self._high = used_to

    def _drop(self) -> None:
        self._anchored = False
        self._ids.clear()
        self._rows.clear()

    # -- readers --------------------------------------------------------------------------------------
    def rows(self, columns: Sequence[str], after_id: int, up_to_id: int, tombstones: int) -> list[HeartbeatRow] | None:
        """`columns` of the heartbeats with after_id < id <= up_to_id in id order, or None when memory cannot
        answer exactly (the caller reads SQLite). `tombstones` is the current tombstone sequence."""
        with self._lock:
            if not self._active:
                self._active = True
                return None
            if not self._anchored:
                return None
            if tombstones != self._tombstones:  # something was deleted since: memory may hold it
                self._drop()
                return None
            if after_id < self._low or up_to_id > self._high:
                return None
            start = bisect.bisect_right(self._ids, after_id)
            end = bisect.bisect_right(self._ids, up_to_id)
            ids, rows = self._ids[start:end], self._rows[start:end]
            # Rows below the range are in the reader's hands now.
            del self._ids[:start], self._rows[:start]
            self._low = max(self._low, after_id)
            self.served += 1
        return _project(columns, ids, rows)


def _project(columns: Sequence[str], ids: list[int], rows: list[HeartbeatRow]) -> list[HeartbeatRow]:
    """`columns` (STORED_COLUMNS names) of each (id, row in HEARTBEAT_COLUMNS order)."""
    stored = {name: index for index, name in enumerate(STORED_COLUMNS)}
    out: list[HeartbeatRow]
    if columns and columns[0] == "id" and "id" not in columns[1:]:
        # The replica's order (id first): no full (id, *row) tuple built per row.
        rest = [stored[name] - 1 for name in columns[1:]]
        if not rest:
            out = [(row_id,) for row_id in ids]
        elif len(rest) == 1:
            one = rest[0]
            out = [(row_id, row[one]) for row_id, row in zip(ids, rows, strict=True)]
        else:
            getter = itemgetter(*rest)
            out = [(row_id, *getter(row)) for row_id, row in zip(ids, rows, strict=True)]
    else:
        full = [(row_id, *row) for row_id, row in zip(ids, rows, strict=True)]
        picks = [stored[name] for name in columns]
        out = [tuple(row[pick] for pick in picks) for row in full]
    for position, name in enumerate(columns):
        if name in _REAL and any(type(row[position]) is int for row in out):
            out = [(*row[:position], float(row[position]) if type(row[position]) is int else row[position],
                    *row[position + 1:]) for row in out]
    return out
