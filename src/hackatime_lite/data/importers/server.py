"""Pull a user's history from a WakaTime-compatible server: the range from `all_time_since_today`, then
`heartbeats?date=` day by day, rate-limited, resumable (the store keeps the last finished day per source)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hackatime_lite.config import Settings
from hackatime_lite.data.importers.common import (
    ImportFailed,
    ImportProgress,
    ImportSink,
    ImportStats,
    ProgressFn,
    no_progress,
)
from hackatime_lite.data.importers.files import Lookups, wakatime_item
from hackatime_lite.mirror.outbound import (
    OutboundURLError,
    describe_http_error,
    http_client,
    validate_upstream_url,
)
from hackatime_lite.models import User
from hackatime_lite.store import StoreBackend

if TYPE_CHECKING:
    import httpx  # imported where used: ~0.1 s a server start does not need (issue 13)

MAX_RETRIES = 5
MAX_LOOKUP_PAGES = 50
def progress_source(url: str, api_key: str) -> str:
    """The store keeps progress per (user, upstream, upstream account); the key only ever as part of a hash."""
    return hashlib.sha256(f"{url}\n{api_key}".encode()).hexdigest()[:24]


class _Upstream:
    """GETs against the upstream API with a minimum interval between requests and retries on 429/5xx."""

    def __init__(self, client: httpx.Client, url: str, api_key: str, rate: float,
                 sleep: Callable[[float], None]) -> None:
        import base64

        self.client, self.url, self.sleep = client, url, sleep
        self.min_interval = 1.0 / rate if rate > 0 else 0.0
        self.auth = "Basic " + base64.b64encode(api_key.encode()).decode()
        self._last = 0.0

    def get(self, path: str, params: dict[str, Any] | None = None, *, optional: bool = False) -> Any:
        import httpx

        for attempt in range(MAX_RETRIES + 1):
            wait = self._last + self.min_interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last = time.monotonic()
            try:
                response = self.client.get(self.url + path, params=params, headers={"Authorization": self.auth})
            except httpx.HTTPError as exc:
                if attempt == MAX_RETRIES:
                    raise ImportFailed(f"cannot reach the upstream: {describe_http_error(exc)}") from exc
                self.sleep(min(30.0, 0.5 * 2 ** attempt))
                continue
            status = response.status_code
            if status in (401, 403):
                raise ImportFailed(f"the upstream rejected the API key ({status})")
            if status == 429 or status >= 500:
                if attempt == MAX_RETRIES:
                    raise ImportFailed(f"the upstream keeps failing ({status}) for {path}; run again to resume")
                retry_after = response.headers.get("retry-after", "")
                self.sleep(float(retry_after) if retry_after.replace(".", "", 1).isdigit()
                           else min(30.0, 0.5 * 2 ** attempt))
                continue
            if optional and status in (400, 404, 405):
                return None
            if 300 <= status < 400:
                raise ImportFailed(f"the upstream redirects ({status}); use the final URL")
            if status != 200:
                raise ImportFailed(f"the upstream answered {status} for {path}")
            try:
                return response.json()
            except ValueError as exc:
                raise ImportFailed(f"the upstream sent invalid JSON for {path}") from exc
        raise ImportFailed("unreachable")  # pragma: no cover - the loop always returns or raises

    def lookup(self, path: str, add: Callable[[Any], None]) -> None:
        """Each entry of user agents / machine names (paged) to `add`; none when the upstream lacks the endpoint."""
        for page in range(1, MAX_LOOKUP_PAGES + 1):
            body = self.get(path, {"page": page}, optional=True)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                break
            for entry in body["data"]:
                add(entry)
            if not body.get("next_page"):
                break


def _parse_day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def upstream_range(body: Any) -> tuple[date, date] | None:
    """The first and last day with data from an `all_time_since_today` answer (WakaTime's or Wakapi's)."""
    data = body.get("data") if isinstance(body, dict) else None
    rng = data.get("range") if isinstance(data, dict) else None
    if not isinstance(rng, dict):
        return None
    start = _parse_day(rng.get("start_date")) or _parse_day(rng.get("start"))
    end = _parse_day(rng.get("end_date")) or _parse_day(rng.get("end"))
    return (start, end) if start and end else None


def pull_from_server(store: StoreBackend, settings: Settings, user: User, url: str, api_key: str, *,
                     start: date | None = None, end: date | None = None, rate: float = 4.0,
                     restart: bool = False, on_progress: ProgressFn = no_progress,
                     should_stop: Callable[[], bool] | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> ImportStats:
    """Copy the upstream account's heartbeats in [start, end] (days) into `user`; resumes unless `restart`."""
    try:
        base = validate_upstream_url(url, settings)
    except OutboundURLError as exc:
        raise ImportFailed(str(exc)) from exc
    api_key = (api_key or "").strip()
    if not api_key:
        raise ImportFailed("an API key for the upstream is required")
    source = progress_source(base, api_key)
    sink = ImportSink(store, user, should_stop=should_stop)
    with http_client(settings, timeout=max(settings.mirror_timeout, 30.0)) as client:
        upstream = _Upstream(client, base, api_key, rate, sleep)
        if start is None or end is None:
            found = upstream_range(upstream.get("/users/current/all_time_since_today", optional=True))
            if found is None:
                if start is None:
                    raise ImportFailed("the upstream did not tell its data range; pass --from (and --to)")
                found = (start, end or datetime.now().date())
            # Days are the upstream user's days; one more on each side covers any time zone difference.
            start = start or found[0] - timedelta(days=1)
            end = end or found[1] + timedelta(days=1)
        if end < start:
            raise ImportFailed("the end date is before the start date")
        saved = {} if restart else store.import_progress(user.id, source)
        first_day = start
        done_through = _parse_day(saved.get("done_through"))
        if done_through and saved.get("start") == start.isoformat() and done_through >= start:
            first_day = done_through + timedelta(days=1)
        lookups = Lookups()
        upstream.lookup("/users/current/user_agents", lookups.add_user_agent)
        upstream.lookup("/users/current/machine_names", lookups.add_machine)
        total_days = (end - start).days + 1
        day = first_day
        while day <= end:
            body = upstream.get("/users/current/heartbeats", {"date": day.isoformat()})
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ImportFailed(f"the upstream's heartbeats for {day} are not a list under `data`")
            for raw in items:
                sink.add(wakatime_item(raw, lookups))
            sink.flush()
            store.save_import_progress(user.id, source, {"start": start.isoformat(),
                                                         "done_through": day.isoformat(), "end": end.isoformat()})
            on_progress(ImportProgress("importing", (day - start).days + 1, total_days, sink.stats))
            day += timedelta(days=1)
    on_progress(ImportProgress("done", total_days, total_days, sink.stats))
    return sink.stats
