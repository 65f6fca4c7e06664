"""Leaderboards: built by the scheduler into the store, served from there (never computed on a request).

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
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from hackatime_lite.analytics.boards import BOARDS, LeaderboardError, LeaderboardPage, NotBuilt
from hackatime_lite.analytics.durations import NEGATED
from hackatime_lite.analytics.queries import ReplicaUser, replica_users, summarize, window_totals_all_users
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.analytics.timezones import date_range_window, local_date
from hackatime_lite.config import Settings
from hackatime_lite.models import BoardInfo, LeaderboardEntry
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import BoardHeader, BoardRow, BuiltBoard

TOP_LANGUAGES = 3
MAX_PAGE_SIZE = 200


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


def _totals_without(replica: Replica, start: float, end: float, settings: Settings, user_ids: Iterable[int],
                    excluded: Mapping[int, Sequence[str]]) -> list[tuple[int, float, list[tuple[str | None, float]]]]:
    """window_totals_all_users's rows for users with excluded projects, each read without those projects."""
    rows = []
    for user_id in user_ids:
        filters: dict[str, list[str | None]] = {f"{NEGATED}project": list(excluded[user_id])}
        if settings.leaderboard_categories is not None:
            filters["category"] = list(settings.leaderboard_categories)
        found = summarize(replica, user_id, start, end, filters=filters, dimensions=("language",), sync=False)
        rows.append((user_id, found.total_seconds, found.breakdowns["language"]))
    return rows


def compute_board(replica: Replica, board: str, now: float, settings: Settings,
                  users: Sequence[ReplicaUser], excluded: Mapping[int, Sequence[str]] | None = None) -> BuiltBoard:
    """Totals and per-language totals of the eligible `users` for one board (replica already synced).
    `excluded`: {user id: stored projects that user excluded from their totals (hackatime_lite.aliases)}."""
    excluded = {u: p for u, p in (excluded or {}).items() if p}
    _, days, rolling = BOARDS[board]
    overall: list[BoardRow] = []
    tops: dict[int, list[tuple[str | None, float]]] = {}
    # Language boards are keyed case-insensitively ("Python" and "python" are one board, named by first seen).
    names: dict[str, str] = {}
    language_seconds: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (start, end), members in _user_windows(board, users, now).items():
        plain = {u for u in members if u not in excluded}
        found = window_totals_all_users(
            replica, start, end, categories=settings.leaderboard_categories, with_languages=True, sync=False,
            users=plain) if plain else []
        for user_id, total, languages in [
                *found, *_totals_without(replica, start, end, settings, sorted(members - plain), excluded)]:
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
                   boards: Iterable[str] = BOARDS,
                   excluded: Mapping[int, Sequence[str]] | None = None) -> list[BuiltBoard]:
    replica.sync()
    users = eligible_users(replica_users(replica, sync=False))
    return [compute_board(replica, board, now, settings, users, excluded) for board in boards]


# -- serving ----------------------------------------------------------------------------------------------
def _check_board(board: str) -> str:
    if board not in BOARDS:
        raise LeaderboardError(f"unknown leaderboard {board!r} (boards: {', '.join(BOARDS)})")
    return board


def _header(store: StoreBackend, board: str, language: str) -> BoardHeader | None:
    """The stored board; a language nobody used reads as an empty board once the board itself is built."""
    header = store.leaderboard_header(board, language)
    if header is None and language:
        overall = store.leaderboard_header(board, "")
        if overall is not None:
            header = BoardHeader(overall.generated_at, overall.range_start, overall.range_end, overall.days,
                                 language)
    return header


def get_leaderboard(store: StoreBackend, board: str, *, language: str | None = None, page: int = 1,
                    page_size: int = 50, viewer_id: int | None = None) -> LeaderboardPage | NotBuilt:
    """One page of a stored board. A language nobody used gives an empty page once the board itself is built."""
    _check_board(board)
    if page < 1:
        raise LeaderboardError("page must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise LeaderboardError(f"page_size must be 1-{MAX_PAGE_SIZE}")
    language_key = (language or "").strip()
    header = _header(store, board, language_key)
    if header is None:
        return NotBuilt(board=board, language=language_key or None)
    total, entries = store.leaderboard_page(board, header.language, limit=page_size,
                                            offset=(page - 1) * page_size, viewer_id=viewer_id)
    return LeaderboardPage(
        board=board, title=BOARDS[board][0], language=header.language or None, generated_at=header.generated_at,
        range_start=header.range_start, range_end=header.range_end, days=header.days, page=page,
        page_size=page_size, total_entries=total, total_pages=max(1, math.ceil(total / page_size)),
        entries=entries,
    )


def get_user_rank(store: StoreBackend, board: str, user_id: int, *,
                  language: str | None = None) -> LeaderboardEntry | NotBuilt | None:
    """A user's own entry on a board (None when they are not on it: no time, opted out, …)."""
    _check_board(board)
    language_key = (language or "").strip()
    if _header(store, board, language_key) is None:
        return NotBuilt(board=board, language=language_key or None)
    # Languages match in any case, so "python" finds "Python".
    return store.leaderboard_entry(board, language_key, user_id)


def list_boards(store: StoreBackend) -> list[BoardInfo]:
    """Every stored board, the per-language ones included (language None is the all-languages board)."""
    return store.list_leaderboards()
