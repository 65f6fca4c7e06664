"""The AI-coding fields of one user's heartbeats in a window (StoreBackend.ai_rows), from PostgreSQL: the
same rows as store/sqlite/ai_stats.py (only rows carrying one of them; not the `test` source)."""

from __future__ import annotations

from hackatime_lite.store.postgres.base import Connection, rows
from hackatime_lite.store.records import AI_COLUMNS, AiRow

_ANY_AI = " OR ".join(f"{column} IS NOT NULL" for column in AI_COLUMNS)
_SQL = (f"SELECT time, project, {', '.join(AI_COLUMNS)} FROM heartbeats "
        f"WHERE user_id = %s AND time >= %s AND time < %s AND source != 'test' AND ({_ANY_AI}) ORDER BY time, id")


def ai_rows(conn: Connection, user_id: int, start: float | None, end: float | None) -> list[AiRow]:
    low = float("-inf") if start is None else start
    high = float("inf") if end is None else end
    return rows(conn, _SQL, [user_id, low, high])
