"""Stored successor gaps: every row's gap computed when the replica is built, and at each sync recomputed only
for the rows a change (new heartbeats, deletions) can reach, so reads never run a window function.

A row's gap is durations.stored_gap_sql: LEAD per user over (time, id), clamped to MAX_TIMEOUT; NULL for
each user's last row (exactly one per user) and for excluded sources. `tails` ({user: time of the row with
gap NULL}) is kept beside the file so a sync knows each user's last row without a scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np

from hackatime_lite.analytics.durations import (
    DEFAULT_EXCLUDED_SOURCES,
    MAX_TIMEOUT,
    excluded_sources_sql,
    in_list_sql,
    stored_gap_sql,
    successor_gap_sql,
)

# How a sync's new rows (`staged`) get their gap: from fresh_gaps when gaps were recomputed, else none.
_FRESH_GAPS_JOIN = "LEFT JOIN fresh_gaps f ON f.rid IS NULL AND f.id = s.id"
_NO_GAPS_JOIN = "LEFT JOIN (SELECT NULL::BIGINT AS id, NULL::DOUBLE AS gap) f ON FALSE"


def touch(touched: dict[int, float], user_id: int, time: float) -> None:
    """Note that a change at `time` can alter the gaps of the user's rows from MAX_TIMEOUT before it on
    (an older row's successor is more than MAX_TIMEOUT away either way: the same clamped gap)."""
    since = time - MAX_TIMEOUT
    touched[user_id] = min(since, touched.get(user_id, since))


def last_heartbeat_times(cursor: duckdb.DuckDBPyConnection) -> dict[int, float]:
    """{user: time of the last heartbeat in the stream} — the rows whose stored gap is NULL."""
    excluded, params = excluded_sources_sql()
    return dict(cursor.execute(f"SELECT user_id, MAX(time) FROM heartbeats WHERE gap IS NULL AND NOT ({excluded}) "
                               "GROUP BY user_id", params).fetchall())


# Rows sorted per statement by sort_in: bounds the memory a rebuild needs (DuckDB spills beyond its limit,
# slowly), a few hundred MB at most for heartbeat-shaped rows.
SORT_CHUNK_ROWS = 250_000


def user_chunks(cursor: duckdb.DuckDBPyConnection, table: str, rows: int = SORT_CHUNK_ROWS) -> list[tuple[int, int]]:
    """[first, last] user id ranges of `table` holding about `rows` rows each (one user is never split)."""
    chunks: list[tuple[int, int]] = []
    first, count = None, 0
    for user_id, n in cursor.execute(f"SELECT user_id, COUNT(*) FROM {table} GROUP BY 1 ORDER BY 1").fetchall():
        if first is None:
            first = user_id
        count += n
        if count >= rows:
            chunks.append((first, user_id))
            first, count = None, 0
    if first is not None:
        chunks.append((first, 2**31 - 1))
    return chunks


def sort_in(target: duckdb.DuckDBPyConnection) -> None:
    """Move a rebuild's `heartbeats_unsorted` into `heartbeats`, every gap computed, physically sorted by
    (user, time, id): per-user range reads then touch few row groups. Sorted a range of users at a time
    (a user's stream is never split, so the gaps are the same)."""
    gap, params = stored_gap_sql()
    for first, last in user_chunks(target, "heartbeats_unsorted"):
        target.execute(f"INSERT INTO heartbeats SELECT * REPLACE ({gap} AS gap) FROM heartbeats_unsorted "
                       "WHERE user_id BETWEEN $first AND $last ORDER BY user_id, time, id",
                       {**params, "first": first, "last": last})
    target.execute("DROP TABLE heartbeats_unsorted")


def apply_changes(cursor: duckdb.DuckDBPyConnection, touched: dict[int, float], tails: dict[int, float], *,
                  staged: bool, deleted: bool, changed: list[tuple[int, float]] | None = None) -> None:
    """Move the `staged` rows (this sync's new heartbeats, if `staged`) into `heartbeats` and bring stored
    successor gaps up to date, in the caller's transaction.

    `touched` (see touch()) holds the users' deletions; staged rows add their own. `tails` is kept up to date.
    Only rows from the touched time on and the previous last row can get a new gap: an older row's successor
    is unchanged, or was and stays more than MAX_TIMEOUT away (the same clamped value) — unless deletions
    made it the user's last row, which _reassign_tails handles. New rows get their gap before they are
    inserted (DuckDB updates rows appended in the same transaction slowly).

    `changed`, when given, receives (user, time) of every existing row whose stored gap this changed (the
    rollups of the days their intervals overlap must be recomputed).
    """
    arrivals = _note_arrivals(cursor, touched) if staged else []
    if not touched:
        if staged:
            cursor.execute(f"INSERT INTO heartbeats SELECT s.* EXCLUDE (gap), f.gap FROM staged s {_NO_GAPS_JOIN}")
        return
    cursor.register("touched", {"user_id": np.array(list(touched), dtype=np.int32),
                                "since": np.array(list(touched.values()), dtype=np.float64)})
    _recompute(cursor, min(touched.values()), staged=staged, changed=changed)
    closing = [(user, tails[user]) for user in arrivals if user in tails and tails[user] < touched[user]]
    _close_previous_tails(cursor, closing)
    if changed is not None:
        changed.extend(closing)
    last = dict(cursor.execute("SELECT user_id, time FROM fresh_gaps WHERE gap IS NULL").fetchall())
    if staged:
        cursor.execute(f"INSERT INTO heartbeats SELECT s.* EXCLUDE (gap), f.gap FROM staged s {_FRESH_GAPS_JOIN}")
    cursor.execute("DROP TABLE fresh_gaps")
    cursor.unregister("touched")
    tails.update(last)
    orphaned = [user for user in touched if user not in last]
    if deleted and orphaned:
        _reassign_tails(cursor, orphaned, tails)
        if changed is not None:
            changed.extend((user, tails[user]) for user in orphaned if user in tails)


def _note_arrivals(cursor: duckdb.DuckDBPyConnection, touched: dict[int, float]) -> list[int]:
    """touch() each user with staged stream rows at their earliest one; returns those users."""
    excluded, params = excluded_sources_sql("h.source")
    arrivals = []
    for user_id, first in cursor.execute(
            f"SELECT h.user_id, MIN(h.time) FROM staged h WHERE NOT ({excluded}) GROUP BY 1", params).fetchall():
        touch(touched, user_id, first)
        arrivals.append(user_id)
    return arrivals


def _recompute(cursor: duckdb.DuckDBPyConnection, lowest: float, *, staged: bool,
               changed: list[tuple[int, float]] | None = None) -> None:
    """fresh_gaps (rid NULL for staged rows) := the gaps of every stream row from each user's touched time on,
    staged rows included; existing rows whose gap changed are updated."""
    excluded, params = excluded_sources_sql("h.source")
    # The constant lower bound lets DuckDB skip row groups by their time zone maps; the join then applies
    # each user's own bound. rowid makes the UPDATE a positional write rather than a join on id.
    existing = ("SELECT h.rowid AS rid, h.id, h.user_id, h.time FROM heartbeats h "
                "JOIN touched t ON h.user_id = t.user_id "
                f"WHERE h.time >= $lowest AND h.time >= t.since AND NOT ({excluded})")
    arriving = f"SELECT NULL, h.id, h.user_id, h.time FROM staged h WHERE NOT ({excluded})"
    rows = f"{existing} UNION ALL {arriving}" if staged else existing
    cursor.execute(f"CREATE TEMP TABLE fresh_gaps AS SELECT rid, id, user_id, time, {successor_gap_sql()} AS gap "
                   f"FROM ({rows})", {"lowest": lowest, **params})
    # RETURNING names the rows whose gap changed in the same statement (one join of fresh_gaps, not two).
    updated = cursor.execute("""
        UPDATE heartbeats SET gap = f.gap FROM fresh_gaps f
        WHERE f.rid IS NOT NULL AND heartbeats.rowid = f.rid AND heartbeats.gap IS DISTINCT FROM f.gap
        RETURNING heartbeats.user_id, heartbeats.time""").fetchall()
    if changed is not None:
        changed.extend(updated)


def _close_previous_tails(cursor: duckdb.DuckDBPyConnection, returning: list[tuple[int, float]]) -> None:
    """A previous last row (user, time) older than the recomputed range now has a successor more than
    MAX_TIMEOUT later: its clamped gap is exactly MAX_TIMEOUT. Matched by constants so zone maps find it."""
    if not returning:
        return
    excluded, params = excluded_sources_sql()
    times, time_params = in_list_sql("time", "t", [t for _, t in returning])
    users, user_params = in_list_sql("user_id", "u", [u for u, _ in returning])
    cursor.execute(f"UPDATE heartbeats SET gap = {MAX_TIMEOUT} WHERE gap IS NULL AND NOT ({excluded}) "
                   f"AND {times} AND {users}", {**params, **time_params, **user_params})


def _reassign_tails(cursor: duckdb.DuckDBPyConnection, orphaned: list[int], tails: dict[int, float]) -> None:
    """Deletions took these users' last rows (and everything after their touched time): the newest remaining
    row becomes the last one (gap NULL); a user with no rows left has no tail."""
    excluded, params = excluded_sources_sql("h.source")
    cursor.register("orphaned", {"user_id": np.array(orphaned, dtype=np.int32)})
    try:
        newest = dict(cursor.execute(f"""
            SELECT h.user_id, MAX(h.time) FROM heartbeats h
            WHERE h.user_id IN (SELECT user_id FROM orphaned) AND NOT ({excluded}) GROUP BY h.user_id
        """, params).fetchall())
        cursor.execute(f"""
            UPDATE heartbeats SET gap = NULL WHERE rowid IN (
                SELECT arg_max(h.rowid, h.id) FROM heartbeats h
                JOIN (SELECT UNNEST($users) AS user_id, UNNEST($times) AS time) n
                ON h.user_id = n.user_id AND h.time = n.time WHERE NOT ({excluded}) GROUP BY h.user_id)""",
                       {"users": list(newest), "times": list(newest.values()), **params})
    finally:
        cursor.unregister("orphaned")
    for user in orphaned:
        if user in newest:
            tails[user] = newest[user]
        else:
            tails.pop(user, None)


def _stream_mask(batch: dict[str, np.ndarray]) -> np.ndarray | None:
    """Per batch row, whether it is part of its user's stream (not an excluded source); None when a source is
    NULL (stored_gap_sql gives such a row no gap either way: the rare case is left to the SQL path)."""
    sources = batch["source"]
    if any(source is None for source in sources.tolist()):
        return None
    return ~np.isin(sources.astype(str), sorted(DEFAULT_EXCLUDED_SOURCES))


def _clamped(gap: np.ndarray) -> np.ndarray:
    """stored_gap_sql's clamp of a successor gap to MAX_TIMEOUT."""
    return np.where(gap > MAX_TIMEOUT, float(MAX_TIMEOUT), gap)


@dataclass(frozen=True)
class Appended:
    """appended_gaps' plan for a batch of new rows."""

    gap: np.ndarray  # per batch row (float64; meaningful where has_gap)
    has_gap: np.ndarray  # bool: a stream row with a successor
    stream: np.ndarray  # bool: not from an excluded source
    closing: list[tuple[int, float, float]]  # (user, their previous last row's time, its gap now)
    last: dict[int, float]  # {user: the time of their new last row}
    # Stored rows whose gap changes (interleaved_gaps): their rowids, new gaps, and (user, time) each.
    update_rids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    update_gaps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    updated: list[tuple[int, float]] = field(default_factory=list)


def appended_gaps(batch: dict[str, np.ndarray], tails: dict[int, float]) -> Appended | None:
    """The gaps of a batch of new rows that all come at or after their user's last row (the usual sync:
    heartbeats arrive in order), computed here instead of by a window over the user's recent rows; None when a
    stream row comes before its user's last row (the caller takes apply_changes).

    The same values as stored_gap_sql: the stream is ordered by (time, id) and new ids are larger than every
    stored one, so a new row at its user's last time comes after it; gaps are the same double subtraction,
    clamped to MAX_TIMEOUT; the user's newest row and excluded sources get none."""
    stream = _stream_mask(batch)
    if stream is None:
        return None
    rows = np.flatnonzero(stream)
    users, times, ids = batch["user_id"][rows].astype(np.int64), batch["time"][rows], batch["id"][rows]
    order = np.lexsort((ids, times, users))
    rows, users, times = rows[order], users[order], times[order]
    starts_user = np.concatenate(([True], users[1:] != users[:-1])) if len(users) else np.zeros(0, dtype=bool)
    ends_user = np.concatenate((users[1:] != users[:-1], [True])) if len(users) else np.zeros(0, dtype=bool)
    closing: list[tuple[int, float, float]] = []
    for user, first in zip(users[starts_user].tolist(), times[starts_user].tolist(), strict=True):
        tail = tails.get(user)
        if tail is None:
            continue
        if first < tail:
            return None
        successor = first - tail
        closing.append((user, tail, MAX_TIMEOUT if successor > MAX_TIMEOUT else successor))
    following = np.empty(len(times), dtype=np.float64)
    if len(times):
        following[:-1] = times[1:] - times[:-1]
        following[-1] = 0.0
    gap = np.zeros(len(batch["id"]), dtype=np.float64)
    has_gap = np.zeros(len(batch["id"]), dtype=bool)
    gap[rows] = _clamped(following)
    has_gap[rows] = ~ends_user
    last = dict(zip(users[ends_user].tolist(), times[ends_user].tolist(), strict=True))
    return Appended(gap=gap, has_gap=has_gap, stream=stream, closing=closing, last=last)


def close_tails(cursor: duckdb.DuckDBPyConnection, closing: list[tuple[int, float, float]]) -> None:
    """Give each user's previous last row (user, time, gap) its gap now that it has a successor. Only the last
    row of a user's stream has a NULL gap, so the lists of constants (zone maps find them) match exactly those."""
    if not closing:
        return
    excluded, params = excluded_sources_sql()
    times, time_params = in_list_sql("time", "t", [t for _, t, _ in closing])
    users, user_params = in_list_sql("user_id", "u", [u for u, _, _ in closing])
    cases = " ".join(f"WHEN $cu_{i} THEN $cg_{i}::DOUBLE" for i in range(len(closing)))
    case_params: dict[str, object] = {f"cu_{i}": user for i, (user, _, _) in enumerate(closing)}
    case_params |= {f"cg_{i}": float(gap) for i, (_, _, gap) in enumerate(closing)}
    cursor.execute(f"UPDATE heartbeats SET gap = CASE user_id {cases} END WHERE gap IS NULL AND NOT ({excluded}) "
                   f"AND {times} AND {users}", {**params, **time_params, **user_params, **case_params})


# interleaved_gaps reads the stored rows this close to the new ones first: a new row's neighbours are usually
# seconds away. Only a user whose first or last row in that read is a new one (its stored neighbour may lie
# further out, up to MAX_TIMEOUT) needs a wider read: NEAR_WINDOW, then MAX_TIMEOUT.
NEAR_WINDOW = 300.0
# The first read's margin. Under issue 13's mixed load (one user's late batches, ~70 rows a second of their
# time) a NEAR_WINDOW margin fetched tens of thousands of rows per sync for a hundred new ones — the largest
# part of a status bar's sync; a dense stream's edges are decided within seconds, a sparse one's costs one more
# small read.
FIRST_WINDOW = 20.0


def interleaved_gaps(cursor: duckdb.DuckDBPyConnection, batch: dict[str, np.ndarray],
                     tails: dict[int, float]) -> Appended | None:
    """appended_gaps for new rows that may fall between stored ones (an offline queue, a late batch), nothing
    deleted: one read of each user's stored stream rows near their new rows (FIRST_WINDOW, widened to
    NEAR_WINDOW, then MAX_TIMEOUT, when that read cannot decide an edge), the rest in numpy. None when a source
    is NULL (the SQL path decides those)."""
    stream = _stream_mask(batch)
    if stream is None:
        return None
    for margin in sorted({min(FIRST_WINDOW, MAX_TIMEOUT), min(NEAR_WINDOW, MAX_TIMEOUT), MAX_TIMEOUT}):
        planned = _interleaved_within(cursor, batch, tails, stream, margin)
        if planned is not None:
            return planned
    raise AssertionError("a MAX_TIMEOUT read decides every edge")  # _interleaved_within never gives up there


def _interleaved_within(cursor: duckdb.DuckDBPyConnection, batch: dict[str, np.ndarray], tails: dict[int, float],
                        stream: np.ndarray, margin: float) -> Appended | None:
    """interleaved_gaps from the stored stream rows within `margin` of each user's new rows; None (only when
    margin < MAX_TIMEOUT) when a user's stored neighbour outside that read may be closer than MAX_TIMEOUT.

    A new row changes only its predecessor's gap: rows further back keep their successor. Inside the read, each
    row's neighbours are the adjacent rows. At its edges: a user whose first row in the read is new has their
    stored predecessor before it — the last row (gap NULL, `closing`: its successor is that first new row), or a
    row more than `margin` back, whose clamped gap stays MAX_TIMEOUT only when margin is MAX_TIMEOUT; a user
    whose last row in the read is new has a stored successor past it only if their last row is later, more than
    `margin` away (MAX_TIMEOUT when margin is MAX_TIMEOUT, else unknown)."""
    rows = np.flatnonzero(stream)
    new_users, new_times, new_ids = batch["user_id"][rows].astype(np.int64), batch["time"][rows], batch["id"][rows]
    users = np.unique(new_users)
    at = np.searchsorted(users, new_users)
    window_lo = np.full(len(users), np.inf)
    window_hi = np.full(len(users), -np.inf)
    np.minimum.at(window_lo, at, new_times - margin)
    np.maximum.at(window_hi, at, new_times + margin)
    excluded, params = excluded_sources_sql()
    listed, user_params = in_list_sql("user_id", "window_user", users.tolist())
    found = cursor.execute(
        f"SELECT rowid AS rid, user_id, id, time, gap FROM heartbeats WHERE NOT ({excluded}) AND {listed} "
        "AND time BETWEEN $lo AND $hi",
        {**params, **user_params, "lo": float(window_lo.min()), "hi": float(window_hi.max())}).fetchnumpy()
    old_users = np.asarray(found["user_id"], dtype=np.int64)
    old_times = np.asarray(found["time"], dtype=np.float64)
    where = np.searchsorted(users, old_users)
    inside = (old_times >= window_lo[where]) & (old_times <= window_hi[where])
    old_gap_column = found["gap"]
    old_null = np.ma.getmaskarray(old_gap_column)[inside]
    old_gaps = np.ma.getdata(old_gap_column).astype(np.float64)[inside]
    old_rids = np.asarray(found["rid"], dtype=np.int64)[inside]
    old_users, old_times = old_users[inside], old_times[inside]
    old_ids = np.asarray(found["id"], dtype=np.int64)[inside]
    # Every row of the windows, stored and new, in stream order; `slot`: stored position or batch row.
    all_users = np.concatenate([old_users, new_users])
    all_times = np.concatenate([old_times, new_times])
    is_new = np.concatenate([np.zeros(len(old_users), dtype=bool), np.ones(len(new_users), dtype=bool)])
    slot = np.concatenate([np.arange(len(old_users)), rows])
    order = np.lexsort((np.concatenate([old_ids, new_ids]), all_times, all_users))
    all_users, all_times, is_new, slot = all_users[order], all_times[order], is_new[order], slot[order]
    count = len(all_users)
    followed = np.zeros(count, dtype=bool)  # the next row in the window is the same user's
    followed[:-1] = all_users[1:] == all_users[:-1]
    to_next = np.zeros(count, dtype=np.float64)
    to_next[:-1] = _clamped(all_times[1:] - all_times[:-1])
    starts = np.ones(count, dtype=bool)
    starts[1:] = ~followed[:-1]
    ends = ~followed
    first_new = dict(zip(all_users[starts & is_new].tolist(), all_times[starts & is_new].tolist(), strict=True))
    last_new = set(all_users[ends & is_new].tolist())
    user_tails = [(user, tails.get(user), lo, hi) for user, lo, hi in
                  zip(users.tolist(), window_lo.tolist(), window_hi.tolist(), strict=True)]
    if margin < MAX_TIMEOUT and any(
            tail is not None and ((user in first_new and tail >= lo) or (user in last_new and tail > hi))
            for user, tail, lo, hi in user_tails):
        return None
    later_user = [user for user, tail, _, hi in user_tails if tail is not None and tail > hi]
    beyond = np.isin(all_users, later_user)
    # New rows: the next row in the window, else a stored row past it (more than MAX_TIMEOUT away), else none.
    new_gap = np.where(followed, to_next, float(MAX_TIMEOUT))
    new_has = followed | beyond
    gap = np.zeros(len(batch["id"]), dtype=np.float64)
    has_gap = np.zeros(len(batch["id"]), dtype=bool)
    gap[slot[is_new]] = new_gap[is_new]
    has_gap[slot[is_new]] = new_has[is_new]
    # Stored rows followed by a new row: their gap is now the distance to it.
    before_new = np.zeros(count, dtype=bool)
    before_new[:-1] = followed[:-1] & is_new[1:]
    before_new &= ~is_new
    stored = slot[before_new]
    differs = old_null[stored] | (old_gaps[stored] != to_next[before_new])
    stored, updated_gaps = stored[differs], to_next[before_new][differs]
    # A last row before the read: its successor is the user's first new row (the first row of the read).
    closing = [(user, tail, min(first_new[user] - tail, float(MAX_TIMEOUT)))
               for user, tail, lo, _ in user_tails if tail is not None and tail < lo]
    later = set(later_user)
    last = {user: time for user, time in zip(all_users[ends].tolist(), all_times[ends].tolist(), strict=True)
            if user not in later}
    return Appended(gap=gap, has_gap=has_gap, stream=stream, closing=closing, last=last,
                    update_rids=old_rids[stored], update_gaps=updated_gaps,
                    updated=list(zip(old_users[stored].tolist(), old_times[stored].tolist(), strict=True)))


def write_updates(cursor: duckdb.DuckDBPyConnection, planned: Appended) -> None:
    """Store the new gaps of the stored rows interleaved_gaps found (a positional write by rowid)."""
    if not len(planned.update_rids):
        return
    cursor.register("gap_updates", {"rid": planned.update_rids, "gap": planned.update_gaps})
    try:
        cursor.execute("UPDATE heartbeats SET gap = u.gap FROM gap_updates u WHERE heartbeats.rowid = u.rid")
    finally:
        cursor.unregister("gap_updates")
