"""A user's projects and machines as the replica knows them: counts, first and last times, languages.

Plain lookups beside the coding-time queries (no duration rule involved), for the project and machine lists.
"""

from __future__ import annotations

from collections.abc import Sequence

from hackatime_lite.analytics.replica import Replica

_PROJECT_STATS_SQL = (
    "SELECT project, COUNT(*), MIN(time), MAX(time), list(DISTINCT language ORDER BY language) "
    "FILTER (WHERE language IS NOT NULL AND language != '') FROM heartbeats "
    "WHERE user_id = $user AND list_contains($names, project) AND source != 'test' "
    "AND ($start IS NULL OR time >= $start) AND ($end IS NULL OR time < $end) GROUP BY project"
)
_MACHINES_SQL = (
    "SELECT machine, MIN(time), MAX(time) FROM heartbeats WHERE user_id = $user AND machine IS NOT NULL "
    "AND machine != '' GROUP BY machine ORDER BY 3 DESC, 1"
)


def project_stats(replica: Replica, user_id: int, names: Sequence[str], start: float | None, end: float | None,
                  *, sync: bool = True) -> dict[str, tuple[int, float, float, list[str]]]:
    """{project: (heartbeats, first time, last time, languages used)} in [start, end), `test` heartbeats left
    out; projects without heartbeats there are missing."""
    params = {"user": user_id, "names": list(names), "start": start, "end": end}
    rows = replica.run(lambda cursor: cursor.execute(_PROJECT_STATS_SQL, params).fetchall(), sync=sync)
    return {name: (int(count), float(first), float(last), list(languages or []))
            for name, count, first, last, languages in rows}


def machine_first_last(replica: Replica, user_id: int, *, sync: bool = True) -> list[tuple[str, float, float]]:
    """(machine, first seen, last seen) per named machine, most recently seen first."""
    rows = replica.run(lambda cursor: cursor.execute(_MACHINES_SQL, {"user": user_id}).fetchall(), sync=sync)
    return [(name, float(first), float(last)) for name, first, last in rows]
