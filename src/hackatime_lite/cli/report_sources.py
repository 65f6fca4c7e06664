"""Where CLI reports come from: a running server (HTTP read API) or the data dir itself (in-process).

Both sources answer with the same typed report objects (models.DayReport, Span, Streak, Board):
the local one gets them from the read use cases (`reports`), the server one decodes the read API's answers
into them (cli.client). So the CLI prints from one code path and both modes print the same numbers. Queries
are the read API's query parameters, which the local source reads as the API does. A data dir held by a
running server must be read through that server: DuckDB allows one writing process per file, and the server
keeps the replica open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import msgspec

from hackatime_lite.cli import client
from hackatime_lite.cli.client import API_BASE, ApiClient, ApiError, FoundKey
from hackatime_lite.config import Settings
from hackatime_lite.errors import InputError
from hackatime_lite.models import DIMENSIONS, User

if TYPE_CHECKING:
    from hackatime_lite.models import Board, DayReport, Span, Streak
    from hackatime_lite.store import StoreBackend

T = TypeVar("T")
# CLI filter option (models.Dimension.short) -> the read API's query parameter (comma-separated alternatives).
FILTER_PARAMS = {d.short: d.query_param for d in DIMENSIONS if d.query_param}
LEADERBOARDS = ("today", "last_24_hours", "last_7_days", "last_30_days")
ProgressCallback = Callable[[int, int], None]


class SourceError(RuntimeError):
    """A report cannot be produced; the message says why and what to do. `usage` marks bad arguments."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class Source(Protocol):
    description: str

    def summaries(self, query: Mapping[str, str]) -> list[DayReport]: ...
    def spans(self, query: Mapping[str, str]) -> list[Span]: ...
    def streak(self) -> Streak: ...
    def timezone(self) -> str: ...
    def project_names(self) -> list[str]: ...
    def leaderboard(self, query: Mapping[str, str]) -> Board: ...
    def close(self) -> None: ...


class ServerSource:
    """The read API of a running server, as `user` (default: the key's owner; other users need an admin key)."""

    def __init__(self, root: str, key: FoundKey, user: str | None) -> None:
        self.client = ApiClient(root, key.key)
        self.user = user or "current"
        self.description = f"server {self.client.root} (API key from {key.origin})"

    def _get(self, path: str, decode: Callable[[Any], T], query: Mapping[str, str] | None = None) -> T:
        try:
            answer = self.client.get_json(API_BASE + path, query)
        except ApiError as exc:
            raise SourceError(_explain(exc, self.client.root), usage=exc.status == 400) from exc
        try:
            return decode(answer)
        except msgspec.ValidationError as exc:
            raise SourceError(f"{self.client.root} answered {path} in an unexpected shape: {exc}") from exc

    def summaries(self, query: Mapping[str, str]) -> list[DayReport]:
        return self._get(f"/users/{self.user}/summaries", client.summary_days, query)

    def spans(self, query: Mapping[str, str]) -> list[Span]:
        return self._get(f"/users/{self.user}/heartbeats/spans", client.spans, query)

    def streak(self) -> Streak:
        return self._get(f"/users/{self.user}/streak", client.streak)

    def timezone(self) -> str:
        """The user's own time zone (reports' days are theirs)."""
        return self._get(f"/users/{self.user}", client.user_timezone)

    def project_names(self) -> list[str]:
        return self._get(f"/users/{self.user}/projects", client.project_names)

    def leaderboard(self, query: Mapping[str, str]) -> Board:
        return self._get("/leaderboard", client.board, query)

    def close(self) -> None:
        self.client.close()


def _explain(exc: ApiError, root: str) -> str:
    if exc.status == 401:
        return f"{root} does not accept this API key (pass --key, or run `hackatime-lite setup`)"
    if exc.status == 403:
        return f"{exc} — only admins may read other users' reports"
    if exc.status == 503:
        return f"{exc} — the server is still preparing this; try again in a minute"
    return str(exc)


class LocalSource:
    """The data dir opened in this process: the SQLite store and the analytics replica, read through `reports`."""

    def __init__(
        self,
        settings: Settings,
        *,
        user: str | None,
        key: FoundKey | None,
        progress: ProgressCallback | None = None,
        for_user: bool = True,
    ) -> None:
        from hackatime_lite.analytics.replica import Replica, ReplicaError
        from hackatime_lite.context import AppContext
        from hackatime_lite.store import open_store, store_exists

        if not store_exists(settings):
            raise SourceError(f"no database in {settings.paths.root} (pass --data-dir, or --server URL)")
        store = open_store(settings)
        try:
            # Everything but the leaderboard is one user's report.
            self._user = _local_user(store, user, key) if for_user else None
            replica = Replica(store, settings, progress=progress)
        except ReplicaError as exc:
            store.close()
            raise SourceError(f"{exc} — is a server using {settings.paths.root}? Pass --server URL") from exc
        except BaseException:
            store.close()
            raise
        self.ctx = AppContext(settings=settings, store=store, replica=replica)
        self.description = f"local data dir {settings.paths.root}" + (
            f" (user {self._user.username})" if self._user else ""
        )

    @property
    def user(self) -> User:
        """The user every report but the leaderboard is about (the source was opened for_user)."""
        if self._user is None:
            raise SourceError("this report needs a user (pass --user)", usage=True)
        return self._user

    def _run(self, fn: Callable[[], T]) -> T:
        """Bad input in the query (a range, a date, a board) is a usage error here, as a 400 is for a server."""
        try:
            return fn()
        except InputError as exc:
            raise SourceError(str(exc), usage=True) from exc

    def summaries(self, query: Mapping[str, str]) -> list[DayReport]:
        from hackatime_lite import reports
        from hackatime_lite.analytics.ranges import explicit_range

        def run() -> list[DayReport]:
            tz = reports.timezone_of(self.user, query.get("timezone"))
            if query.get("range"):
                rng = reports.resolve_named_range(self.ctx, self.user, query["range"], tz)
            else:
                rng = explicit_range(query["start"], query["end"], tz=tz)
            return reports.summaries(self.ctx, self.user, rng, filters=_filters(query)).days

        return self._run(run)

    def spans(self, query: Mapping[str, str]) -> list[Span]:
        from hackatime_lite import reports
        from hackatime_lite.text.date_bounds import parse_range

        def run() -> list[Span]:
            start, end = parse_range(query.get("start_date"), query.get("end_date"), self.user.timezone)
            return reports.spans(self.ctx, self.user, start, end, filters=_filters(query))

        return self._run(run)

    def streak(self) -> Streak:
        from hackatime_lite import reports

        found = reports.streak(self.ctx, self.user)
        assert found is not None  # computed live when the scheduler has not cached it
        return found

    def timezone(self) -> str:
        return self.user.timezone

    def project_names(self) -> list[str]:
        from hackatime_lite import reports

        return [p.name for p in reports.projects(self.ctx, self.user)]

    def leaderboard(self, query: Mapping[str, str]) -> Board:
        from hackatime_lite import reports
        from hackatime_lite.analytics.leaderboards import NotBuilt

        found = self._run(
            lambda: reports.leaderboard(
                self.ctx,
                query.get("board", "today"),
                language=query.get("language"),
                page=int(query.get("page", 1)),
                page_size=int(query.get("page_size", 100)),
                viewer_id=self._user.id if self._user is not None else None,  # opened without a user: no viewer
            )
        )
        if isinstance(found, NotBuilt):
            raise SourceError(f"{found.reason}: a running server builds leaderboards every minute")
        return reports.board_page(found)

    def close(self) -> None:
        if self.ctx.replica is not None:
            self.ctx.replica.close()
        self.ctx.store.close()


def _filters(query: Mapping[str, str]) -> dict[str, list[str]]:
    """{dimension: values} from the filter parameters, as the read API reads them (comma-separated)."""
    chosen: dict[str, list[str]] = {}
    for d in DIMENSIONS:
        values = [part.strip() for part in query.get(d.query_param or "", "").split(",") if part.strip()]
        if d.query_param and values:
            chosen[d.name] = list(dict.fromkeys(values))
    return chosen


def _local_user(store: Any, ref: str | None, key: FoundKey | None) -> Any:
    """--user, else the owner of the API key, else the only user."""
    if ref:
        user = store.find_user(ref)
        if user is None:
            raise SourceError(f"no user {ref!r} (see `hackatime-lite user list`)")
        return user
    if key is not None:
        found = store.lookup_api_key(key.key)
        if found is not None:
            return found[0]
        if key.origin in ("--key", "$HACKATIME_API_KEY"):
            raise SourceError(f"the API key from {key.origin} belongs to no user of this data dir")
    users = store.list_users()
    if len(users) == 1:
        return users[0]
    if not users:
        raise SourceError("there are no users yet (create one with `hackatime-lite user create NAME`)")
    raise SourceError("several users: pick one with --user NAME (or --key KEY)", usage=True)


def open_source(
    settings: Settings,
    *,
    server: str | None,
    key: str | None,
    user: str | None,
    progress: ProgressCallback | None = None,
    for_user: bool = True,
) -> Source:
    """--server, else the server running on the data dir, else the data dir in this process."""
    from hackatime_lite.cli.client import ClientError, find_api_key, running_server_url, server_root

    try:
        found_key = find_api_key(key)
        root = server_root(server) if server else running_server_url(settings)
    except ClientError as exc:
        raise SourceError(str(exc), usage=True) from exc
    if root is None:
        return LocalSource(settings, user=user, key=found_key, progress=progress, for_user=for_user)
    if found_key is None:
        raise SourceError(
            f"the server at {root} needs an API key: pass --key, set HACKATIME_API_KEY, "
            "or run `hackatime-lite setup`"
        )
    return ServerSource(root, found_key, user)


@dataclass
class LocalAccount:
    """The data dir's store and the user a command acts for (no analytics replica: plain store reads/writes)."""

    settings: Settings
    store: StoreBackend
    user: User


@contextlib.contextmanager
def api_or_store(settings: Settings, *, server: str | None, key: str | None,
                 user: str | None) -> Iterator[ApiClient | LocalAccount]:
    """For commands that change a user's own records (goals, rules): --server, else the server running on the
    data dir (an ApiClient with the key), else the data dir's store in this process. Problems are SourceErrors
    (usage ones flagged), like `open_source`'s."""
    from hackatime_lite.cli.client import ClientError, find_api_key, running_server_url, server_root
    from hackatime_lite.store import open_store, store_exists

    try:
        found_key = find_api_key(key)
        root = server_root(server) if server else running_server_url(settings)
    except ClientError as exc:
        raise SourceError(str(exc), usage=True) from exc
    if root is not None:
        if found_key is None:
            raise SourceError(f"the server at {root} needs an API key: pass --key, set HACKATIME_API_KEY, "
                              "or run `hackatime-lite setup`")
        with ApiClient(root, found_key.key) as api:
            yield api
        return
    if not store_exists(settings):
        raise SourceError(f"no database in {settings.paths.root} (pass --data-dir, or --server URL)")
    store = open_store(settings)
    try:
        yield LocalAccount(settings, store, _local_user(store, user, found_key))
    finally:
        store.close()
