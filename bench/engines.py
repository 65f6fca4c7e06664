"""The query engines bench/compare.py puts side by side, each answering the same six questions in a common
shape (a dict {key: seconds}) so their answers can be checked against each other to the second.

- `ProjectEngine`: this project — the DuckDB replica through hackatime_lite.analytics.queries (imported).
- `SQLiteEngine`: the same duration rule in SQLite window functions on the source database
  (bench/analytics.py's SQL, extended here for the status bar and a month of summaries).
- `PgHackatime`: Hackatime's own SQL shape on PostgreSQL — a LAG window over the heartbeats table at query
  time, capped with LEAST(gap, timeout), one query per breakdown, Hackatime's indexes.
- `PgTuned`: PostgreSQL with a stored successor-gap column and a covering index on (user_id, time).
- `PgRollup`: PostgreSQL per-(user, local day, dimensions) rollup table for whole-day questions.

Every design implements the project's one duration rule (docs/architecture.md, ARCHITECTURE.md "The one
duration rule", src/hackatime_lite/analytics/durations.py): per user, heartbeats by (time, id); heartbeat i
covers [t_i, t_i + c_i) with c_i = min(gap, timeout) (capped) or gap if gap < timeout else 0 (keystroke),
per-user timeout and mode; the last heartbeat gets 0; intervals are clipped to the window and credited to
heartbeat i's own values; heartbeats from source 'test' are not part of the stream.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics import _SQLITE_INTERVALS, sqlite_daily_totals, sqlite_leaderboard, sqlite_user_summary

from hackatime_lite.analytics import timezones
from hackatime_lite.analytics.durations import MAX_TIMEOUT
from hackatime_lite.analytics.queries import (
    ReplicaUser,
    daily_series,
    daily_totals_all_users,
    summarize,
    window_totals_all_users,
)
from hackatime_lite.analytics.replica import Replica

Answer = dict[tuple[Any, ...], float]
DIMS: tuple[str, ...] = ("project", "language", "editor", "operating_system", "machine", "category")
TWO_DIMS: tuple[str, ...] = ("project", "language")


@dataclass(frozen=True)
class UserWindow:
    """One per-user question: the user's rule, zone and window (and local dates for the month)."""

    user_id: int
    tz: str
    start: float
    end: float
    dims: tuple[str, ...]
    first: dt.date | None = None  # month summaries: local dates first..last
    last: dt.date | None = None


def _clean(pairs: Sequence[tuple[tuple[Any, ...], float | None]]) -> Answer:
    """Sum rows per key and drop empty ones (engines differ in whether they list zero-second groups)."""
    answer: Answer = {}
    for key, seconds in pairs:
        answer[key] = answer.get(key, 0.0) + float(seconds or 0.0)
    return {k: v for k, v in answer.items() if abs(v) > 1e-6}


def max_difference(a: Answer, b: Answer) -> tuple[float, list[str]]:
    """The largest absolute difference over all keys, and the first differing keys (for the report)."""
    worst, lines = 0.0, []
    for key in sorted(set(a) | set(b), key=repr):
        diff = abs(a.get(key, 0.0) - b.get(key, 0.0))
        worst = max(worst, diff)
        if diff >= 1.0 and len(lines) < 10:
            lines.append(f"{key}: {a.get(key)} vs {b.get(key)}")
    return worst, lines


# -- this project -------------------------------------------------------------------------------------------
class ProjectEngine:
    name = "hackatime-lite"
    key = "project"
    answers = frozenset({"user_summary", "month", "leaderboard", "daily_totals"})

    def __init__(self, replica: Replica) -> None:
        self.replica = replica

    def user_summary(self, q: UserWindow) -> Answer:
        summary = summarize(self.replica, q.user_id, q.start, q.end, dimensions=q.dims)
        rows: list[tuple[tuple[Any, ...], float | None]] = [(("", None), summary.total_seconds)]
        rows += [((dim, name), seconds) for dim, pairs in summary.breakdowns.items() for name, seconds in pairs]
        return _clean(rows)

    def month(self, q: UserWindow) -> Answer:
        assert q.first and q.last
        days = daily_series(self.replica, q.user_id, q.first, q.last, q.tz, dimensions=q.dims)
        rows: list[tuple[tuple[Any, ...], float | None]] = []
        for day in days:
            rows.append(((day.date.isoformat(), "", None), day.total_seconds))
            rows += [((day.date.isoformat(), dim, name), seconds)
                     for dim, pairs in day.breakdowns.items() for name, seconds in pairs]
        return _clean(rows)

    def leaderboard(self, start: float, end: float, categories: Sequence[str]) -> Answer:
        rows = window_totals_all_users(self.replica, start, end, categories=categories)
        return _clean([((user_id, name), seconds) for user_id, _, languages in rows for name, seconds in languages])

    def daily_totals(self, first: dt.date, last: dt.date) -> Answer:
        return _clean([((user_id, day.isoformat()), seconds)
                       for user_id, day, seconds in daily_totals_all_users(self.replica, first, last)])


class ProjectColdEngine(ProjectEngine):
    """The same reads, each the user's first since the replica opened: per-user reads then load the user's rows
    from DuckDB into memory first (analytics/user_rows.py), as after a restart."""

    name = "hackatime-lite, user's first read"
    key = "project_cold"
    answers = frozenset({"user_summary", "month"})

    def user_summary(self, q: UserWindow) -> Answer:
        self.replica.user_memory.clear()
        return super().user_summary(q)

    def month(self, q: UserWindow) -> Answer:
        self.replica.user_memory.clear()
        return super().month(q)


# -- SQLite window functions --------------------------------------------------------------------------------
class SQLiteEngine:
    name = "SQLite window functions"
    key = "sqlite"
    answers = frozenset({"user_summary", "month", "leaderboard", "daily_totals"})

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def user_summary(self, q: UserWindow) -> Answer:
        rows = sqlite_user_summary(self.conn, q.user_id, q.start, q.end, q.dims)
        return _clean([((dim, None if dim == "" else value), seconds) for dim, value, seconds in rows])

    def month(self, q: UserWindow) -> Answer:
        assert q.first and q.last
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS mdays (day TEXT, s REAL, e REAL)")
        self.conn.execute("DELETE FROM temp.mdays")
        days = timezones.day_windows(q.tz, q.first, q.last)
        self.conn.executemany("INSERT INTO temp.mdays VALUES (?, ?, ?)", [(d.isoformat(), s, e) for d, s, e in days])
        unions = ["SELECT day, '', NULL, SUM(dsec) FROM p GROUP BY day"] + [
            f"SELECT day, '{d}', {d}, SUM(dsec) FROM p GROUP BY day, {d}" for d in q.dims]
        sql = ("WITH " + _SQLITE_INTERVALS.format(where="h.user_id = :uid") +
               ",\np AS MATERIALIZED (SELECT c.*, d.day, MIN(c.b, d.e) - MAX(c.a, d.s) AS dsec FROM c "
               "JOIN temp.mdays d ON d.s < c.b AND d.e > c.a)\n" + " UNION ALL ".join(unions))
        start, end = days[0][1], days[-1][2]
        rows = self.conn.execute(sql, {"uid": q.user_id, "lo": start - MAX_TIMEOUT, "hi": end + MAX_TIMEOUT,
                                       "start": start, "end": end}).fetchall()
        return _clean([((day, dim, None if dim == "" else value), seconds) for day, dim, value, seconds in rows])

    def leaderboard(self, start: float, end: float, categories: Sequence[str]) -> Answer:
        return _clean([((user_id, language), seconds)
                       for user_id, language, seconds in sqlite_leaderboard(self.conn, start, end)])

    def daily_totals(self, first: dt.date, last: dt.date) -> Answer:
        return _clean([((user_id, day), seconds) for user_id, day, seconds in sqlite_daily_totals(self.conn, first, last)])


# -- PostgreSQL ----------------------------------------------------------------------------------------------
_PG_COLUMNS = ("id", "user_id", "time", "project", "language", "editor", "operating_system", "machine",
               "category", "branch", "entity", "type", "source")


def _rule(gap: str) -> str:
    """c_i from a successor gap (NULL: no successor → 0). Not LEAST(gap, NULL): PostgreSQL skips NULLs."""
    return (f"CASE WHEN {gap} IS NULL THEN 0.0 WHEN u.mode = 'keystroke' THEN "
            f"CASE WHEN {gap} < u.timeout THEN {gap} ELSE 0.0 END ELSE LEAST({gap}, u.timeout) END")


def _day_join(iv: str, tz: str) -> str:
    """FROM-clause joining intervals to the local days they overlap (at most two: an interval is ≤ 1 h).
    The zone's offset periods (bench_periods: a handful per zone, split at DST changes) give the local day
    of the interval's start by arithmetic; that day and the next are the only candidates, joined by
    equality on (tz, day), and the instants then clip exactly. (A range join of every interval against
    every day row, or PostgreSQL's `AT TIME ZONE` per row, costs 10-100× more.)"""
    return (f"JOIN bench_periods p ON p.tz = {tz} AND p.ps <= {iv}.a AND {iv}.a < p.pe "
            f"CROSS JOIN LATERAL (VALUES (0), (1)) AS v(k) "
            f"JOIN bench_days d ON d.tz = {tz} AND d.day = DATE '1970-01-01' + "
            f"(floor(({iv}.a + p.off) / 86400)::int + v.k) AND d.s < {iv}.b AND d.e > {iv}.a")


def _offset_periods(tz: str, start: float, end: float) -> list[tuple[str, float, float, float]]:
    """(tz, from, to, UTC offset seconds) covering [start, end); offsets sampled every 15 minutes (every
    zone's transitions fall on quarter hours) and merged."""
    zone = timezones.zone(tz)
    periods: list[list[float]] = []
    t = start - start % 900
    while t < end:
        off = dt.datetime.fromtimestamp(t, zone).utcoffset()
        seconds = off.total_seconds() if off else 0.0
        if periods and periods[-1][2] == seconds:
            periods[-1][1] = t + 900
        else:
            periods.append([t, t + 900, seconds])
        t += 900
    periods[0][0], periods[-1][1] = float("-inf"), float("inf")
    return [(tz, ps, pe, off) for ps, pe, off in periods]


def load_postgres(conn: Any, sqlite_conn: sqlite3.Connection, users: Sequence[ReplicaUser],
                  first_day: dt.date, last_day: dt.date) -> dict[str, float]:
    """Copy heartbeats and users into PostgreSQL and build the three designs; returns build seconds."""
    import time

    timings: dict[str, float] = {}
    conn.execute("DROP TABLE IF EXISTS heartbeats, hb_gap, rollup, bench_users, bench_days, bench_periods CASCADE")
    # Hackatime's table shape (db/schema.rb: float `time`, soft-delete column) with the columns the
    # questions read.
    conn.execute("""CREATE TABLE heartbeats (id bigint PRIMARY KEY, user_id bigint NOT NULL, time float8 NOT NULL,
        project varchar, language varchar, editor varchar, operating_system varchar, machine varchar,
        category varchar, branch varchar, entity varchar, type varchar, source varchar, deleted_at timestamp)""")
    conn.execute("CREATE TABLE bench_users (id bigint PRIMARY KEY, tz text, timeout float8, mode text)")
    with conn.cursor() as cur, cur.copy("COPY bench_users FROM STDIN") as copy:
        for u in users:
            copy.write_row((u.id, u.timezone, float(u.timeout), u.duration_mode))
    started = time.perf_counter()
    source = sqlite_conn.execute(f"SELECT {', '.join(_PG_COLUMNS)} FROM heartbeats ORDER BY id")
    with conn.cursor() as cur, cur.copy(f"COPY heartbeats ({', '.join(_PG_COLUMNS)}) FROM STDIN") as copy:
        while chunk := source.fetchmany(50_000):
            for row in chunk:
                copy.write_row(row)
    conn.commit()
    timings["copy heartbeats"] = time.perf_counter() - started
    started = time.perf_counter()
    # Hackatime's indexes for these reads (db/schema.rb: idx_heartbeats_user_time_active,
    # idx_heartbeats_user_time_id_active, idx_heartbeats_time_user_active).
    conn.execute("CREATE INDEX ON heartbeats (user_id, time) WHERE deleted_at IS NULL")
    conn.execute("CREATE INDEX ON heartbeats (user_id, time, id) WHERE deleted_at IS NULL")
    conn.execute("CREATE INDEX ON heartbeats (time, user_id) WHERE deleted_at IS NULL")
    conn.commit()
    timings["Hackatime indexes"] = time.perf_counter() - started

    started = time.perf_counter()
    gap = "(LEAD(time) OVER (PARTITION BY user_id, source = 'test' ORDER BY time, id) - time)"
    conn.execute(f"""CREATE TABLE hb_gap AS SELECT id, user_id, time, project, language, editor, operating_system,
        machine, category, CASE WHEN source = 'test' THEN NULL WHEN {gap} > {MAX_TIMEOUT} THEN {MAX_TIMEOUT}
        ELSE {gap} END AS gap FROM heartbeats WHERE deleted_at IS NULL ORDER BY user_id, time, id""")
    conn.execute("CREATE INDEX hb_gap_cover ON hb_gap (user_id, time) INCLUDE (gap, project, language, editor, "
                 "operating_system, machine, category)")
    conn.commit()
    timings["stored gap + covering index"] = time.perf_counter() - started

    started = time.perf_counter()
    conn.execute("CREATE TABLE bench_days (tz text, day date, s float8, e float8)")
    zones = sorted({u.timezone for u in users})
    with conn.cursor() as cur, cur.copy("COPY bench_days FROM STDIN") as copy:
        for tz in zones:
            for day, s, e in timezones.day_windows(tz, first_day, last_day):
                copy.write_row((tz, day, s, e))
    conn.execute("CREATE INDEX ON bench_days (tz, day)")
    conn.execute("CREATE TABLE bench_periods (tz text, ps float8, pe float8, off float8)")
    span = (timezones.local_midnight("UTC", first_day) - 86400, timezones.local_midnight("UTC", last_day) + 2 * 86400)
    with conn.cursor() as cur, cur.copy("COPY bench_periods FROM STDIN") as copy:
        for tz in zones:
            for row in _offset_periods(tz, *span):
                copy.write_row(row)
    dims = ", ".join(DIMS)
    conn.execute(f"""CREATE TABLE rollup AS
        WITH iv AS (SELECT h.user_id, {", ".join("h." + d for d in DIMS)}, u.tz, h.time AS a,
                           h.time + {_rule("h.gap")} AS b
                    FROM hb_gap h JOIN bench_users u ON u.id = h.user_id)
        SELECT iv.user_id, d.day, {dims}, SUM(LEAST(iv.b, d.e) - GREATEST(iv.a, d.s)) AS seconds
        FROM iv {_day_join("iv", "iv.tz")}
        GROUP BY iv.user_id, d.day, {dims}""")
    conn.execute(f"CREATE INDEX rollup_user_day ON rollup (user_id, day) INCLUDE ({dims}, seconds)")
    conn.execute("CREATE INDEX rollup_day ON rollup (day) INCLUDE (user_id, seconds)")
    conn.commit()
    timings["per-user-day rollup"] = time.perf_counter() - started
    return timings


def vacuum(url: str) -> None:
    """VACUUM ANALYZE outside a transaction: fresh statistics and a visibility map (index-only scans)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _grouping_sets(dims: Sequence[str], key: str = "") -> str:
    prefix = f"{key}, " if key else ""
    return ", ".join([f"({key})" if key else "()"] + [f"({prefix}{d})" for d in dims])


def _grouped_rows(rows: Sequence[tuple[Any, ...]], dims: Sequence[str], with_day: bool) -> Answer:
    """Rows of (grouping bits, [day,] dim values…, seconds) from GROUPING SETS → Answer keys."""
    out: list[tuple[tuple[Any, ...], float | None]] = []
    for row in rows:
        bits, rest = row[0], row[1:]
        day = rest[0].isoformat() if with_day else None
        values = rest[1:-1] if with_day else rest[:-1]
        # GROUPING(d1, …, dn): bit set = column aggregated away. All set → the total row.
        label, value = "", None
        for i, dim in enumerate(dims):
            if not bits & (1 << (len(dims) - 1 - i)):
                label, value = dim, values[i]
        key = (label, value) if not with_day else (day, label, value)
        out.append((key, rest[-1]))
    return _clean(out)


class _Pg:
    key = ""
    name = ""
    # Which questions this design answers (the rollup only whole local days).
    answers: frozenset[str] = frozenset({"user_summary", "month", "leaderboard", "daily_totals"})

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def _all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def _intervals(self, where: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def _window_params(self, start: float, end: float, **extra: Any) -> dict[str, Any]:
        return {"lo": start - MAX_TIMEOUT, "hi": end + MAX_TIMEOUT, "start": start, "end": end, **extra}

    def user_summary(self, q: UserWindow) -> Answer:
        sql = (f"WITH {self._intervals('user_id = %(uid)s')}\n"
               f"SELECT GROUPING({', '.join(q.dims)}), {', '.join(q.dims)}, "
               "SUM(LEAST(b, %(end)s) - GREATEST(a, %(start)s)) FROM iv WHERE a < %(end)s AND b > %(start)s "
               f"GROUP BY GROUPING SETS ({_grouping_sets(q.dims)})")
        return _grouped_rows(self._all(sql, self._window_params(q.start, q.end, uid=q.user_id)), q.dims, False)

    def month(self, q: UserWindow) -> Answer:
        assert q.first and q.last
        start = timezones.local_midnight(q.tz, q.first)
        end = timezones.local_midnight(q.tz, q.last + dt.timedelta(days=1))
        sql = (f"WITH {self._intervals('user_id = %(uid)s')}\n"
               f"SELECT GROUPING({', '.join(q.dims)}), d.day, {', '.join(q.dims)}, "
               "SUM(LEAST(b, d.e) - GREATEST(a, d.s)) FROM iv "
               f"{_day_join('iv', '%(tz)s')} AND d.day BETWEEN %(first)s AND %(last)s "
               f"GROUP BY GROUPING SETS ({_grouping_sets(q.dims, 'd.day')})")
        params = self._window_params(start, end, uid=q.user_id, tz=q.tz, first=q.first, last=q.last)
        return _grouped_rows(self._all(sql, params), q.dims, True)

    def leaderboard(self, start: float, end: float, categories: Sequence[str]) -> Answer:
        sql = (f"WITH {self._intervals('TRUE')}\n"
               "SELECT user_id, language, SUM(LEAST(b, %(end)s) - GREATEST(a, %(start)s)) FROM iv "
               "WHERE a < %(end)s AND b > %(start)s AND category = ANY(%(cats)s) GROUP BY user_id, language")
        rows = self._all(sql, self._window_params(start, end, cats=list(categories)))
        return _clean([((user_id, language), seconds) for user_id, language, seconds in rows])

    def daily_totals(self, first: dt.date, last: dt.date) -> Answer:
        zones = [r[0] for r in self.conn.execute("SELECT DISTINCT tz FROM bench_users").fetchall()]
        start = min(timezones.local_midnight(tz, first) for tz in zones)
        end = max(timezones.local_midnight(tz, last + dt.timedelta(days=1)) for tz in zones)
        sql = (f"WITH {self._intervals('TRUE')}\n"
               "SELECT iv.user_id, d.day, SUM(LEAST(iv.b, d.e) - GREATEST(iv.a, d.s)) FROM iv "
               f"{_day_join('iv', 'iv.tz')} AND d.day BETWEEN %(first)s AND %(last)s "
               "GROUP BY 1, 2")
        rows = self._all(sql, self._window_params(start, end, first=first, last=last))
        return _clean([((user_id, day.isoformat()), seconds) for user_id, day, seconds in rows])


class PgHackatime(_Pg):
    """Hackatime's query-time SQL (app/models/concerns/heartbeatable.rb in hackclub/hackatime: the
    `duration_seconds` / `with_capped_duration` pair — `LAG(time) OVER (… ORDER BY time, id) AS
    duration_start, time AS duration_end`, then `LEAST(duration_end - duration_start, timeout)`, one query
    per grouped breakdown), reimplemented here. Three deliberate changes so the answers equal this project's
    rule (otherwise no two columns could be compared): the LAG runs over the user's whole stream instead
    of PARTITION BY the grouped column, each interval is credited to the earlier heartbeat's values
    (LAG(project) …), and the user's own timeout and mode replace the fixed 2 minutes; intervals are
    clipped to the window as in `duration_seconds_boundary_aware`."""

    key = "pg_hackatime"
    name = "PostgreSQL, Hackatime's SQL"

    def _intervals(self, where: str) -> str:
        lagged = ", ".join(f"LAG({d}) OVER w AS {d}" for d in DIMS)
        # The UNION's second part: each user's first row at or past the horizon, only as the successor of the
        # last row before it (Hackatime reads no further, and would count that row's interval as 0).
        return f"""s AS (SELECT id, user_id, time, {", ".join(DIMS)} FROM heartbeats
    WHERE {where} AND deleted_at IS NULL AND source IS DISTINCT FROM 'test'
      AND time >= %(lo)s AND time < %(hi)s
    UNION ALL
    (SELECT DISTINCT ON (user_id) id, user_id, time, {", ".join(DIMS)} FROM heartbeats
     WHERE {where} AND deleted_at IS NULL AND source IS DISTINCT FROM 'test' AND time >= %(hi)s
     ORDER BY user_id, time, id)),
g AS (SELECT user_id, LAG(time) OVER w AS duration_start, time AS duration_end, {lagged}
      FROM s WINDOW w AS (PARTITION BY user_id ORDER BY time, id)),
iv AS (SELECT g.*, u.tz, duration_start AS a, duration_start + {_rule("(duration_end - duration_start)")} AS b
       FROM g JOIN bench_users u ON u.id = g.user_id WHERE duration_start IS NOT NULL)"""

    def user_summary(self, q: UserWindow) -> Answer:
        """As Hackatime's stats pages do: the total, then one query per breakdown."""
        params = self._window_params(q.start, q.end, uid=q.user_id)
        base = f"WITH {self._intervals('user_id = %(uid)s')}\nSELECT {{col}}, SUM(LEAST(b, %(end)s) - " \
               "GREATEST(a, %(start)s)) FROM iv WHERE a < %(end)s AND b > %(start)s {group}"
        rows: list[tuple[tuple[Any, ...], float | None]] = []
        total = self._all(base.format(col="''", group=""), params)
        rows += [(("", None), r[1]) for r in total]
        for dim in q.dims:
            rows += [((dim, r[0]), r[1]) for r in self._all(base.format(col=dim, group=f"GROUP BY {dim}"), params)]
        return _clean(rows)


class PgTuned(_Pg):
    """Stored successor gap (the same clamped LEAD the replica keeps) + covering index (user_id, time)
    INCLUDE (gap, dimensions): per-user reads are index-only range scans, no window function."""

    key = "pg_tuned"
    name = "PostgreSQL, stored gap + covering index"

    def _intervals(self, where: str) -> str:
        return f"""iv AS (SELECT h.user_id, {", ".join("h." + d for d in DIMS)}, u.tz, h.time AS a,
       h.time + {_rule("h.gap")} AS b
    FROM hb_gap h JOIN bench_users u ON u.id = h.user_id
    WHERE {'TRUE' if where == 'TRUE' else 'h.' + where} AND h.time >= %(lo)s AND h.time < %(end)s)"""


class PgRollup(_Pg):
    """Per-(user, local day, dimensions) rollup: whole local days are sums of rows (exact, because the
    rule's intervals are split at each user's local midnights when the rollup is built)."""

    key = "pg_rollup"
    name = "PostgreSQL, per-user-day rollup"
    answers = frozenset({"month", "daily_totals"})

    def month(self, q: UserWindow) -> Answer:
        sql = (f"SELECT GROUPING({', '.join(q.dims)}), day, {', '.join(q.dims)}, SUM(seconds) FROM rollup "
               "WHERE user_id = %(uid)s AND day BETWEEN %(first)s AND %(last)s "
               f"GROUP BY GROUPING SETS ({_grouping_sets(q.dims, 'day')})")
        return _grouped_rows(self._all(sql, {"uid": q.user_id, "first": q.first, "last": q.last}), q.dims, True)

    def daily_totals(self, first: dt.date, last: dt.date) -> Answer:
        rows = self._all("SELECT user_id, day, SUM(seconds) FROM rollup WHERE day BETWEEN %(first)s AND %(last)s "
                         "GROUP BY 1, 2", {"first": first, "last": last})
        return _clean([((user_id, day.isoformat()), seconds) for user_id, day, seconds in rows])

