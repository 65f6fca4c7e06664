"""The leaderboard cache in SQLite: boards written whole by the scheduler, ranked when read.

Users who opted out, are disabled, or whose trust level is 'convicted' are left out when a board is read
(as well as when it is built), so a change takes effect at once. Ranks are standard competition ranking over
whole seconds (1, 2, 2, 4); within a tie entries are listed by username.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from hackatime_lite.models import BoardInfo, LanguageTime, LeaderboardEntry, LeaderboardUser
from hackatime_lite.store.records import BoardHeader, BuiltBoard

# Suspected users (accounts/trust.py) are left off the boards others see but still see themselves (:viewer).
_ELIGIBLE_SQL = ("u.leaderboard_opt_out = 0 AND u.is_disabled = 0 AND u.trust_level <> 'convicted' "
                 "AND (u.trust_level <> 'suspected' OR u.id = :viewer)")
_RANKED_SQL = f"""
WITH eligible AS (
    SELECT e.user_id, e.total_seconds, e.daily_average, e.languages, u.public_id, u.username, u.display_name
    FROM leaderboard_entries e JOIN users u ON u.id = e.user_id
    WHERE e.board = :board AND e.language = :language AND {_ELIGIBLE_SQL}
),
ranked AS (
    SELECT *, RANK() OVER (ORDER BY CAST(total_seconds AS INTEGER) DESC) AS rank FROM eligible
)
SELECT r.rank, r.user_id, r.public_id, r.username, r.display_name, r.total_seconds, r.daily_average,
       r.languages, COALESCE(s.current_days, 0)
FROM ranked r LEFT JOIN user_streaks s ON s.user_id = r.user_id
"""


def replace_board(db: sqlite_utils.Database, built: BuiltBoard, generated_at: float) -> int:
    """Replace one board and all its language boards (inside the writer's transaction)."""
    db.execute("DELETE FROM leaderboard_entries WHERE board = ?", (built.board,))
    db.execute("DELETE FROM leaderboard_boards WHERE board = ?", (built.board,))
    written = 0
    for language, rows in [("", built.overall), *sorted(built.per_language.items())]:
        db.execute(
            "INSERT INTO leaderboard_boards (board, language, generated_at, range_start, range_end, days, "
            "entry_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (built.board, language, generated_at, built.range_start, built.range_end, built.days, len(rows)),
        )
        # A user deleted since the replica's last sync is skipped rather than failing the foreign key.
        db.conn.executemany(
            "INSERT INTO leaderboard_entries (board, language, user_id, total_seconds, daily_average, languages) "
            "SELECT ?, ?, ?3, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?3)",
            [(built.board, language, row.user_id, row.total_seconds, row.daily_average,
              json.dumps(row.languages)) for row in rows],
        )
        written += len(rows)
    return written


def _entry(row: Sequence[Any]) -> LeaderboardEntry:  # a SQLite row: its column types are known at run time
    rank, user_id, public_id, username, display_name, total, average, languages, streak = row
    return LeaderboardEntry(
        rank=int(rank),
        user=LeaderboardUser(id=int(user_id), public_id=str(public_id), username=str(username),
                             display_name=display_name),
        total_seconds=float(total),
        daily_average=float(average),
        languages=[LanguageTime(name, float(seconds)) for name, seconds in json.loads(str(languages))],
        current_streak=int(streak),
    )


def board_header(conn: sqlite3.Connection, board: str, language: str) -> BoardHeader | None:
    """The stored board; the language column is NOCASE, so "python" finds "Python"."""
    row = conn.execute(
        "SELECT generated_at, range_start, range_end, days, language FROM leaderboard_boards "
        "WHERE board = ? AND language = ?", (board, language)).fetchone()
    return BoardHeader(*row) if row else None


def board_page(conn: sqlite3.Connection, board: str, language: str, *, limit: int,
               offset: int, viewer_id: int | None = None) -> tuple[int, list[LeaderboardEntry]]:
    """(eligible entries in all, this page of them in rank order)."""
    params = {"board": board, "language": language, "viewer": viewer_id}
    total = conn.execute(f"SELECT COUNT(*) FROM ({_RANKED_SQL})", params).fetchone()[0]
    rows = conn.execute(
        _RANKED_SQL + " ORDER BY r.rank, r.username COLLATE NOCASE LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    ).fetchall()
    return total, [_entry(row) for row in rows]


def board_entry(conn: sqlite3.Connection, board: str, language: str, user_id: int) -> LeaderboardEntry | None:
    row = conn.execute(f"SELECT * FROM ({_RANKED_SQL}) WHERE user_id = :user_id",
                       {"board": board, "language": language, "user_id": user_id,
                        "viewer": user_id}).fetchone()
    return _entry(row) if row else None


def list_boards(conn: sqlite3.Connection) -> list[BoardInfo]:
    """Every stored board, the per-language ones included (language None is the all-languages board)."""
    rows = conn.execute("SELECT board, language, generated_at, entry_count FROM leaderboard_boards "
                        "ORDER BY board, language = '' DESC, entry_count DESC, language").fetchall()
    return [BoardInfo(board=r[0], language=r[1] or None, generated_at=r[2], entry_count=r[3]) for r in rows]
