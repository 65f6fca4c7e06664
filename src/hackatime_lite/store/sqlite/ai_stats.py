"""The AI-coding fields of one user's heartbeats in a window (StoreBackend.ai_rows), from SQLite.

Only rows that carry at least one of them are returned, so a user whose clients never send them costs one
range scan of the (user_id, time) index and no rows; heartbeats from the `test` source (doctor) are left out.
"""

from __future__ import annotations

import sqlite3

from hackatime_lite.store.records import AI_COLUMNS, AiRow

_ANY_AI = " OR ".join(f"{column} IS NOT NULL" for column in AI_COLUMNS)
_SQL = (f"SELECT time, project, {', '.join(AI_COLUMNS)} FROM heartbeats "
        f"WHERE user_id = ? AND time >= ? AND time < ? AND source != 'test' AND ({_ANY_AI}) ORDER BY time, id")


def ai_rows(conn: sqlite3.Connection, user_id: int, start: float | None, end: float | None) -> list[AiRow]:
    low = float("-inf") if start is None else start
    high = float("inf") if end is None else end
    cursor = conn.execute(_SQL, (user_id, low, high))
    cursor.row_factory = None
    return cursor.fetchall()
