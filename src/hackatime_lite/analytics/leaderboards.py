"""Leaderboards: built by the scheduler into SQLite, served from there (never computed on a request).

Boards
- today          the current local day in each user's own zone (so users in different zones compare
                 different [start, end) windows, each a whole local day);
- last_24_hours  the rolling window [now - 24 h, now), the same for everyone;
- last_7_days, last_30_days   the last 7 / 30 local days including today, in each user's own zone.
Each board also exists per language (top users for language X: the seconds credited to X).

Only the coding categories count (Settings.leaderboard_categories). Users who opted out, are disabled, or whose
trust level is 'convicted' are left out when the board is built AND when it is read, so a change takes effect
at once. Ranks are computed when read, by standard competition ranking over whole seconds: equal whole
seconds share a rank and the next rank skips (1, 2, 2, 4); within a tie entries are listed by username.
`daily_average` is total / the board's length in days (1 for today and the last 24 hours), like the
summaries' daily averages.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec
import sqlite_utils

from hackatime_lite.analytics.queries import ReplicaUser, replica_users, window_totals_all_users
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.timezones import date_range_window, local_date
from hackatime_lite.config import Settings

# board -> (title, length in days, rolling?)
BOARDS: dict[str, tuple[str, int, bool]] = {
    "today": ("Today", 1, False),
    "last_24_hours": ("Last 24 Hours", 1, True),
    "last_7_days": ("Last 7 Days", 7, False),
    "last_30_days": ("Last 30 Days", 30, False),
}
TOP_LANGUAGES = 3
MAX_PAGE_SIZE = 200
_ELIGIBLE_SQL = "u.leaderboard_opt_out = 0 AND u.is_disabled = 0 AND u.trust_level <> 'convicted'"


class LeaderboardError(ValueError):
    """Unknown board, bad page or page size; the message is safe to show."""


class LeaderboardUser(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    public_id: str
    username: str
    display_name: str | None


class LanguageTime(msgspec.Struct, frozen=True):
    name: str | None
    total_seconds: float


class LeaderboardEntry(msgspec.Struct, frozen=True, kw_only=True):
    rank: int
    user: LeaderboardUser
    total_seconds: float
    daily_average: float
    languages: list[LanguageTime]
    current_streak: int


class LeaderboardPage(msgspec.Struct, frozen=True, kw_only=True):
    board: str
    title: str
    language: str | None
    generated_at: float
    range_start: float | None
    """Rolling boards only; the other boards' windows are each user's own local days."""
    range_end: float | None
    days: int
    page: int
    page_size: int
    total_entries: int
    total_pages: int
    entries: list[LeaderboardEntry]


class NotBuilt(msgspec.Struct, frozen=True, kw_only=True):
    """The board has not been built yet (the server just started); ask again shortly."""

    board: str
    language: str | None
    reason: str = "leaderboard not built yet"


class BoardInfo(msgspec.Struct, frozen=True, kw_only=True):
    board: str
    language: str | None
    generated_at: float
    entry_count: int


@dataclass(frozen=True)
class BoardRow:
    user_id: int
    total_seconds: float
    daily_average: float
    languages: list[tuple[str | None, float]]


@dataclass
class BuiltBoard:
    """One board and its per-language boards, ready to store."""

    board: str
    days: int
    range_start: float | None
    range_end: float | None
    overall: list[BoardRow]
    per_language: dict[str, list[BoardRow]]


# -- building ---------------------------------------------------------------------------------------------
def eligible_users(users: Iterable[ReplicaUser]) -> list[ReplicaUser]:
    return [u for u in users if not (u.leaderboard_opt_out or u.is_disabled or u.trust_level == "convicted")]


def _local_today(user: ReplicaUser, now: float) -> tuple[str, dt.date]:
    try:
        return user.timezone, local_date(user.timezone, now)
    except (KeyError, ValueError):  # a zone unknown to this machine counts as UTC, as in the queries
        return "UTC", local_date("UTC", now)


def _user_windows(board: str, users: Sequence[ReplicaUser], now: float) -> dict[tuple[float, float], set[int]]:
    """Users grouped by their [start, end) for this board: one query per distinct window, not per user."""
    _, days, rolling = BOARDS[board]
    groups: dict[tuple[float, float], set[int]] = defaultdict(set)
    for user in users:
        if rolling:
            window = (now - 86400.0 * days, now)
        else:
            tz, today = _local_today(user, now)
            window = date_range_window(tz, today - dt.timedelta(days=days - 1), today)
        groups[window].add(user.id)
    return groups


def compute_board(replica: Replica, board: str, now: float, settings: Settings,
                  users: Sequence[ReplicaUser]) -> BuiltBoard:
    """Totals and per-language totals of the eligible `users` for one board (replica already synced)."""
    _, days, rolling = BOARDS[board]
    overall: list[BoardRow] = []
    tops: dict[int, list[tuple[str | None, float]]] = {}
    # Language boards are keyed case-insensitively ("Python" and "python" are one board, named by first seen).
    names: dict[str, str] = {}
    language_seconds: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (start, end), members in _user_windows(board, users, now).items():
        for user_id, total, languages in window_totals_all_users(
                replica, start, end, categories=settings.leaderboard_categories, with_languages=True, sync=False):
            if user_id not in members or total < 1.0:
                continue
            tops[user_id] = [(name, seconds) for name, seconds in languages[:TOP_LANGUAGES]]
            overall.append(BoardRow(user_id, total, total / days, tops[user_id]))
            for name, seconds in languages:
                if name:
                    key = name.casefold()
                    names.setdefault(key, name)
                    language_seconds[key][user_id] += seconds
    per_language = {
        names[key]: [BoardRow(user_id, seconds, seconds / days, tops[user_id])
                     for user_id, seconds in by_user.items() if seconds >= 1.0]
        for key, by_user in language_seconds.items()
    }
    window = (now - 86400.0 * days, now) if rolling else (None, None)
    return BuiltBoard(board, days, window[0], window[1], overall,
                      {name: rows for name, rows in per_language.items() if rows})


def compute_boards(replica: Replica, now: float, settings: Settings,
                   boards: Iterable[str] = BOARDS) -> list[BuiltBoard]:
    replica.sync()
    users = eligible_users(replica_users(replica, sync=False))
    return [compute_board(replica, board, now, settings, users) for board in boards]


def store_board(db: sqlite_utils.Database, built: BuiltBoard, generated_at: float) -> int:
    """Replace one board and all its language boards (inside the store writer's transaction)."""
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


# -- serving ----------------------------------------------------------------------------------------------
def _check_board(board: str) -> str:
    if board not in BOARDS:
        raise LeaderboardError(f"unknown leaderboard {board!r} (boards: {', '.join(BOARDS)})")
    return board


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


def _entry(row: Sequence[object]) -> LeaderboardEntry:
    rank, user_id, public_id, username, display_name, total, average, languages, streak = row
    return LeaderboardEntry(
        rank=int(rank),  # type: ignore[call-overload]
        user=LeaderboardUser(id=int(user_id), public_id=str(public_id), username=str(username),  # type: ignore[call-overload]
                             display_name=display_name),  # type: ignore[arg-type]
        total_seconds=float(total),  # type: ignore[arg-type]
        daily_average=float(average),  # type: ignore[arg-type]
        languages=[LanguageTime(name, float(seconds)) for name, seconds in json.loads(str(languages))],
        current_streak=int(streak),  # type: ignore[call-overload]
    )


def _board_row(conn: sqlite3.Connection, board: str, language: str) -> tuple | None:  # type: ignore[type-arg]
    return conn.execute(
        "SELECT generated_at, range_start, range_end, days, language FROM leaderboard_boards "
        "WHERE board = ? AND language = ?", (board, language)).fetchone()


def get_leaderboard(conn: sqlite3.Connection, board: str, *, language: str | None = None, page: int = 1,
                    page_size: int = 50) -> LeaderboardPage | NotBuilt:
    """One page of a stored board. A language nobody used gives an empty page once the board itself is built."""
    _check_board(board)
    if page < 1:
        raise LeaderboardError("page must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise LeaderboardError(f"page_size must be 1-{MAX_PAGE_SIZE}")
    language_key = (language or "").strip()
    header = _board_row(conn, board, language_key)
    if header is None and language_key:
        overall = _board_row(conn, board, "")
        if overall is not None:
            header = (overall[0], overall[1], overall[2], overall[3], language_key)
    if header is None:
        return NotBuilt(board=board, language=language_key or None)
    generated_at, range_start, range_end, days, stored_language = header
    params = {"board": board, "language": stored_language}
    total = conn.execute(f"SELECT COUNT(*) FROM ({_RANKED_SQL})", params).fetchone()[0]
    rows = conn.execute(
        _RANKED_SQL + " ORDER BY r.rank, r.username COLLATE NOCASE LIMIT :limit OFFSET :offset",
        {**params, "limit": page_size, "offset": (page - 1) * page_size},
    ).fetchall()
    return LeaderboardPage(
        board=board, title=BOARDS[board][0], language=stored_language or None, generated_at=generated_at,
        range_start=range_start, range_end=range_end, days=days, page=page, page_size=page_size,
        total_entries=total, total_pages=max(1, math.ceil(total / page_size)), entries=[_entry(r) for r in rows],
    )


def get_user_rank(conn: sqlite3.Connection, board: str, user_id: int, *,
                  language: str | None = None) -> LeaderboardEntry | NotBuilt | None:
    """A user's own entry on a board (None when they are not on it: no time, opted out, …)."""
    _check_board(board)
    language_key = (language or "").strip()
    header = _board_row(conn, board, language_key) or (_board_row(conn, board, "") if language_key else None)
    if header is None:
        return NotBuilt(board=board, language=language_key or None)
    # The language column is NOCASE, so "python" finds "Python".
    row = conn.execute(f"SELECT * FROM ({_RANKED_SQL}) WHERE user_id = :user_id",
                       {"board": board, "language": language_key, "user_id": user_id}).fetchone()
    return _entry(row) if row else None


def list_boards(conn: sqlite3.Connection) -> list[BoardInfo]:
    """Every stored board, the per-language ones included (language None is the all-languages board)."""
    rows = conn.execute("SELECT board, language, generated_at, entry_count FROM leaderboard_boards "
                        "ORDER BY board, language = '' DESC, entry_count DESC, language").fetchall()
    return [BoardInfo(board=r[0], language=r[1] or None, generated_at=r[2], entry_count=r[3]) for r in rows]
