"""The streaks cache in SQLite (`user_streaks`): written whole by the scheduler's streaks job."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping

import sqlite_utils

from hackatime_lite.models import Streak


def replace_streaks(db: sqlite_utils.Database, streaks: Mapping[int, Streak], computed_at: float) -> int:
    """Replace the cached streaks (inside the writer's transaction); returns the rows written."""
    def iso(day: dt.date | None) -> str | None:
        return day.isoformat() if day else None

    db.execute("DELETE FROM user_streaks")
    rows = [(user_id, s.current, iso(s.current_start), iso(s.current_end), s.longest, iso(s.longest_start),
             iso(s.longest_end), computed_at) for user_id, s in streaks.items()]
    # Users deleted since the replica last synced must not break the foreign key.
    db.conn.executemany(
        "INSERT INTO user_streaks (user_id, current_days, current_start, current_end, longest_days, longest_start, "
        "longest_end, computed_at) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)",
        rows,
    )
    return len(rows)


def cached_streak(conn: sqlite3.Connection, user_id: int) -> Streak | None:
    """The user's cached streak as computed (None before the first streaks job)."""
    row = conn.execute(
        "SELECT current_days, current_start, current_end, longest_days, longest_start, longest_end "
        "FROM user_streaks WHERE user_id = ?", (user_id,)).fetchone()
    if row is None:
        return None

    def day(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    return Streak(current=row[0], current_start=day(row[1]), current_end=day(row[2]), longest=row[3],
                  longest_start=day(row[4]), longest_end=day(row[5]))
