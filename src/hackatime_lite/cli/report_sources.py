"""Where CLI reports come from: a running server (HTTP read API) or the data dir itself (in-process).

Both sources answer in the API's JSON shapes: the local one calls the same read use cases (`reports`) and,
where the API has a renderer, the same renderer. So the CLI renders one shape and both modes print the
same numbers. A data dir held by a running server must be read through that server: DuckDB allows one
writing process per file, and the server keeps the replica open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from hackatime_lite.cli.client import API_BASE, ApiClient, ApiError, FoundKey
from hackatime_lite.config import Settings

# CLI filter option -> the read API's query parameter (comma-separated alternatives).
FILTER_PARAMS = {
    "project": "project",
    "branch": "branches",
    "language": "language",
    "editor": "editor",
    "os": "operating_system",
    "machine": "machine",
    "category": "category",
}
LEADERBOARDS = ("today", "last_24_hours", "last_7_days", "last_30_days")
ProgressCallback = Callable[[int, int], None]


class SourceError(RuntimeError):
    """A report cannot be produced; the message says why and what to do. `usage` marks bad arguments."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class Source(Protocol):
    description: str

    def summaries(self, query: Mapping[str, str]) -> dict[str, Any]: ...
    def spans(self, query: Mapping[str, str]) -> dict[str, Any]: ...
    def streak(self) -> dict[str, Any]: ...
    def leaderboard(self, query: Mapping[str, str]) -> dict[str, Any]: ...
    def close(self) -> None: ...


class ServerSource:
    """The read API of a running server, as `user` (default: the key's owner; other users need an admin key)."""

    def __init__(self, root: str, key: FoundKey, user: str | None) -> None:
        self.client = ApiClient(root, key.key)
        self.user = user or "current"
        self.description = f"server {self.client.root} (API key from {key.origin})"

    def _get(self, path: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        try:
            return self.client.get_json(API_BASE + path, query)
        except ApiError as exc:
            raise SourceError(_explain(exc, self.client.root), usage=exc.status == 400) from exc

    def summaries(self, query: Mapping[str, str]) -> dict[str, Any]:
        return self._get(f"/users/{self.user}/summaries", query)

    def spans(self, query: Mapping[str, str]) -> dict[str, Any]:
        return self._get(f"/users/{self.user}/heartbeats/spans", query)

    def streak(self) -> dict[str, Any]:
        return self._get(f"/users/{self.user}/streak")

    def leaderboard(self, query: Mapping[str, str]) -> dict[str, Any]:
        return self._get("/leaderboard", query)

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
        from hackatime_lite.store import Store

        if not settings.paths.database.exists():
            raise SourceError(f"no database in {settings.paths.root} (pass --data-dir, or --server URL)")
        store = Store(settings.paths.database)
        try:
            # Everything but the leaderboard is one user's report.
            self.user = _local_user(store, user, key) if for_user else None
            replica = Replica(store, settings, progress=progress)
        except ReplicaError as exc:
            store.close()
            raise SourceError(f"{exc} — is a server using {settings.paths.root}? Pass --server URL") from exc
        except BaseException:
            store.close()
            raise
        self.ctx = AppContext(settings=settings, store=store, replica=replica)
        self.description = f"local data dir {settings.paths.root}" + (
            f" (user {self.user.username})" if self.user else ""
        )

    def _run(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        from hackatime_lite.analytics.durations import AnalyticsError
        from hackatime_lite.analytics.ranges import RangeError
        from hackatime_lite.text.date_bounds import BoundError

        try:
            return fn()
        except (RangeError, AnalyticsError, BoundError) as exc:
            raise SourceError(str(exc), usage=True) from exc

    def summaries(self, query: Mapping[str, str]) -> dict[str, Any]:
        from hackatime_lite import reports
        from hackatime_lite.analytics.ranges import explicit_range
        from hackatime_lite.api.wakatime import render

        def run() -> dict[str, Any]:
            tz = reports.timezone_of(self.user, query.get("timezone"))
            if query.get("range"):
                rng = reports.resolve_named_range(self.ctx, self.user, query["range"], tz)
            else:
                rng = explicit_range(query["start"], query["end"], tz=tz)
            report = reports.summaries(self.ctx, self.user, rng, filters=_filters(query))
            return render.summaries(report, self.user)

        return self._run(run)

    def spans(self, query: Mapping[str, str]) -> dict[str, Any]:
        from hackatime_lite import reports
        from hackatime_lite.api.native import render
        from hackatime_lite.text.date_bounds import parse_range

        def run() -> dict[str, Any]:
            start, end = parse_range(query.get("start_date"), query.get("end_date"), self.user.timezone)
            return render.spans(reports.spans(self.ctx, self.user, start, end, filters=_filters(query)))

        return self._run(run)

    def streak(self) -> dict[str, Any]:
        from hackatime_lite import reports
        from hackatime_lite.api.native import render

        return render.streak(reports.streak(self.ctx, self.user))

    def leaderboard(self, query: Mapping[str, str]) -> dict[str, Any]:
        from hackatime_lite import reports
        from hackatime_lite.analytics.leaderboards import LeaderboardError, NotBuilt
        from hackatime_lite.api.native import render

        try:
            found = reports.leaderboard(
                self.ctx,
                query.get("board", "today"),
                language=query.get("language"),
                page=int(query.get("page", 1)),
                page_size=int(query.get("page_size", 100)),
            )
        except LeaderboardError as exc:
            raise SourceError(str(exc), usage=True) from exc
        if isinstance(found, NotBuilt):
            raise SourceError(f"{found.reason}: a running server builds leaderboards every minute")
        return render.leaderboard(found)

    def close(self) -> None:
        if self.ctx.replica is not None:
            self.ctx.replica.close()
        self.ctx.store.close()


def _filters(query: Mapping[str, str]) -> dict[str, list[str]]:
    """{dimension: values} exactly as the API reads the same query parameters."""
    from hackatime_lite.api.params import FILTER_PARAMS as API_FILTERS
    from hackatime_lite.api.params import csv

    chosen: dict[str, list[str]] = {}
    for name in FILTER_PARAMS.values():
        values = csv(query.get(name))
        if values:
            bucket = chosen.setdefault(API_FILTERS[name], [])
            bucket.extend(v for v in values if v not in bucket)
    return chosen


def _local_user(store: Any, ref: str | None, key: FoundKey | None) -> Any:
    """--user, else the owner of the API key, else the only user."""
    from hackatime_lite.store.users import find_user, list_users, lookup_api_key

    conn = store.reader()
    if ref:
        user = find_user(conn, ref)
        if user is None:
            raise SourceError(f"no user {ref!r} (see `hackatime-lite user list`)")
        return user
    if key is not None:
        found = lookup_api_key(conn, key.key)
        if found is not None:
            return found[0]
        if key.origin in ("--key", "$HACKATIME_API_KEY"):
            raise SourceError(f"the API key from {key.origin} belongs to no user of this data dir")
    users = list_users(conn)
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
