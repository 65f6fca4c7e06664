"""The leaderboard and streak caches in PostgreSQL: written whole by the scheduler, ranked when read.

The same rules as the SQLite module: ineligible users (opted out, disabled, convicted) are left out when
read; standard competition ranking over whole seconds; within a tie by username in any case."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

from hackatime_lite.models import BoardInfo, LanguageTime, LeaderboardEntry, LeaderboardUser, Streak
from hackatime_lite.store.postgres.base import Connection, execute, one, rows
from hackatime_lite.store.records import BoardHeader, BuiltBoard

# Suspected users (accounts/trust.py) are left off the boards others see but still see themselves (viewer).
_ELIGIBLE_SQL = ("u.leaderboard_opt_out = 0 AND u.is_disabled = 0 AND u.trust_level <> 'convicted' "
                 "AND (u.trust_level <> 'suspected' OR u.id = %(viewer)s)")
# trunc(): SQLite's CAST(… AS INTEGER) truncates, PostgreSQL's rounds.
_RANKED_SQL = f"""
WITH eligible AS (
    SELECT e.user_id, e.total_seconds, e.daily_average, e.languages, u.public_id, u.username, u.display_name
    FROM leaderboard_entries e JOIN users u ON u.id = e.user_id
    WHERE e.board = %(board)s AND lower(e.language) = lower(%(language)s) AND {_ELIGIBLE_SQL}
),
ranked AS (
    SELECT *, RANK() OVER (ORDER BY trunc(total_seconds) DESC) AS rank FROM eligible
)
SELECT r.rank, r.user_id, r.public_id, r.username, r.display_name, r.total_seconds, r.daily_average,
       r.languages, COALESCE(s.current_days, 0) AS streak
FROM ranked r LEFT JOIN user_streaks s ON s.user_id = r.user_id
"""


def replace_board(conn: Connection, built: BuiltBoard, generated_at: float) -> int:
    execute(conn, "DELETE FROM leaderboard_entries WHERE board = %s", (built.board,))
    execute(conn, "DELETE FROM leaderboard_boards WHERE board = %s", (built.board,))
    written = 0
    for language, entries in [("", built.overall), *sorted(built.per_language.items())]:
        execute(conn, "INSERT INTO leaderboard_boards (board, language, generated_at, range_start, range_end, days, "
                      "entry_count) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (built.board, language, generated_at, built.range_start, built.range_end, built.days, len(entries)))
        if entries:
            # A user deleted since the replica's last sync is skipped rather than failing the foreign key.
            execute(conn, "INSERT INTO leaderboard_entries (board, language, user_id, total_seconds, daily_average, "
                          "languages) SELECT %s, %s, e.u, e.t, e.a, e.l FROM unnest(%s::bigint[], %s::float8[], "
                          "%s::float8[], %s::text[]) AS e(u, t, a, l) WHERE EXISTS (SELECT 1 FROM users WHERE id = e.u)",
                    (built.board, language, [r.user_id for r in entries], [r.total_seconds for r in entries],
                     [r.daily_average for r in entries], [json.dumps(r.languages) for r in entries]))
        written += len(entries)
    return written


def _entry(row: Sequence[object]) -> LeaderboardEntry:
    rank, user_id, public_id, username, display_name, total, average, languages, streak = row
    return LeaderboardEntry(
        rank=int(rank),  # type: ignore[call-overload]  # database values typed as object
        user=LeaderboardUser(id=int(user_id), public_id=str(public_id), username=str(username),  # type: ignore[call-overload]  # as above
                             display_name=display_name),  # type: ignore[arg-type]  # as above
        total_seconds=float(total),  # type: ignore[arg-type]  # as above
        daily_average=float(average),  # type: ignore[arg-type]  # as above
        languages=[LanguageTime(name, float(seconds)) for name, seconds in json.loads(str(languages))],
        current_streak=int(streak),  # type: ignore[call-overload]  # as above
    )


def board_header(conn: Connection, board: str, language: str) -> BoardHeader | None:
    row = one(conn, "SELECT generated_at, range_start, range_end, days, language FROM leaderboard_boards "
                    "WHERE board = %s AND lower(language) = lower(%s)", (board, language))
    return BoardHeader(*row) if row else None


def board_page(conn: Connection, board: str, language: str, *, limit: int,
               offset: int, viewer_id: int | None = None) -> tuple[int, list[LeaderboardEntry]]:
    params: dict[str, object] = {"board": board, "language": language, "viewer": viewer_id}
    total = one(conn, f"SELECT COUNT(*) FROM ({_RANKED_SQL}) AS counted", params)
    found = rows(conn, _RANKED_SQL + " ORDER BY r.rank, lower(r.username) LIMIT %(limit)s OFFSET %(offset)s",
                 {**params, "limit": limit, "offset": offset})
    return int(total[0]) if total else 0, [_entry(row) for row in found]


def board_entry(conn: Connection, board: str, language: str, user_id: int) -> LeaderboardEntry | None:
    row = one(conn, f"SELECT * FROM ({_RANKED_SQL}) AS ranked_all WHERE user_id = %(user_id)s",
              {"board": board, "language": language, "user_id": user_id, "viewer": user_id})
    return _entry(row) if row else None


def list_boards(conn: Connection) -> list[BoardInfo]:
    found = rows(conn, "SELECT board, language, generated_at, entry_count FROM leaderboard_boards "
                       "ORDER BY board COLLATE \"C\", language = '' DESC, entry_count DESC, lower(language)")
    return [BoardInfo(board=r[0], language=r[1] or None, generated_at=r[2], entry_count=r[3]) for r in found]


# -- streaks ----------------------------------------------------------------------------------------------
def replace_streaks(conn: Connection, streaks: Mapping[int, Streak], computed_at: float) -> int:
    def iso(day: dt.date | None) -> str | None:
        return day.isoformat() if day else None

    execute(conn, "DELETE FROM user_streaks")
    items = list(streaks.items())
    if items:
        execute(conn, "INSERT INTO user_streaks (user_id, current_days, current_start, current_end, longest_days, "
                      "longest_start, longest_end, computed_at) SELECT s.u, s.cd, s.cs, s.ce, s.ld, s.ls, s.le, %s "
                      "FROM unnest(%s::bigint[], %s::int[], %s::text[], %s::text[], %s::int[], %s::text[], %s::text[]) "
                      "AS s(u, cd, cs, ce, ld, ls, le) WHERE EXISTS (SELECT 1 FROM users WHERE id = s.u)",
                (computed_at, [u for u, _ in items], [s.current for _, s in items],
                 [iso(s.current_start) for _, s in items], [iso(s.current_end) for _, s in items],
                 [s.longest for _, s in items], [iso(s.longest_start) for _, s in items],
                 [iso(s.longest_end) for _, s in items]))
    return len(items)


def cached_streak(conn: Connection, user_id: int) -> Streak | None:
    row = one(conn, "SELECT current_days, current_start, current_end, longest_days, longest_start, longest_end "
                    "FROM user_streaks WHERE user_id = %s", (user_id,))
    if row is None:
        return None

    def day(value: str | None) -> dt.date | None:
        return dt.date.fromisoformat(value) if value else None

    return Streak(current=row[0], current_start=day(row[1]), current_end=day(row[2]), longest=row[3],
                  longest_start=day(row[4]), longest_end=day(row[5]))
