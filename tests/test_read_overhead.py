"""The read path's per-request shortcuts (issue 13) change no answer: the cached status bar and stats reports
count a heartbeat at the very next read and follow a rule change at once, entries are formatted exactly as the
plain per-figure functions do, and query parameters are read as Litestar reads them."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.testing import TestClient

from hackatime_lite.analytics import oracle
from hackatime_lite.api import params
from hackatime_lite.store import Store
from hackatime_lite.store.records import AliasRuleSpec
from hackatime_lite.text import formatting
from tests.conftest import Account, zone_far_from_midnight

STATUS = "/api/v1/users/current/statusbar/today"
STATS = "/api/v1/users/current/stats/last_7_days"


def _post(client: TestClient, account: Account, times: list[float]) -> list[oracle.Beat]:
    items = [{"entity": "/src/app.py", "type": "file", "time": t, "project": "alpha", "language": "Python"}
             for t in times]
    response = client.post("/api/v1/users/current/heartbeats.bulk", json=items, headers=account.headers)
    assert response.status_code in (201, 202), response.text
    return [oracle.Beat(id=i, user_id=account.user.id, time=t) for i, t in enumerate(times)]


def _expected(beats: list[oracle.Beat], account: Account, start: float, end: float) -> float:
    intervals = oracle.intervals(beats, {account.user.id: oracle.Rule(timeout=120, mode="capped")})
    return oracle.total(intervals, account.user.id, start, end)


def test_cached_status_bar_and_stats_follow_every_write_and_rule_change(client: TestClient, store: Store,
                                                                        alice: Account) -> None:
    now = time.time()
    zone = zone_far_from_midnight(now)  # every post below is "today" in it, and so are the reads
    store.update_user(alice.user.id, timezone=zone)
    today = dt.datetime.fromtimestamp(now, ZoneInfo(zone)).date()
    day_start, day_end = oracle.day_bounds(zone, today)
    week_start = oracle.day_bounds(zone, today - dt.timedelta(days=6))[0]

    def read() -> tuple[dict[str, Any], dict[str, Any]]:
        bar = client.get(STATUS, headers=alice.headers)
        stats = client.get(STATS, headers=alice.headers)
        assert bar.status_code == stats.status_code == 200
        return bar.json(), stats.json()["data"]

    beats = _post(client, alice, [now - 900, now - 840, now - 780])
    for _ in range(2):  # the second read of each comes from the cache: the same answer
        bar, stats = read()
        assert math.isclose(bar["data"]["grand_total"]["total_seconds"], _expected(beats, alice, day_start, day_end))
        assert math.isclose(stats["total_seconds"], _expected(beats, alice, week_start, day_end))
        assert [p["name"] for p in stats["projects"]] == ["alpha"]

    beats += _post(client, alice, [now - 700, now - 650])  # counted by the very next read of both
    bar, stats = read()
    assert math.isclose(bar["data"]["grand_total"]["total_seconds"], _expected(beats, alice, day_start, day_end))
    assert math.isclose(stats["total_seconds"], _expected(beats, alice, week_start, day_end))

    store.add_alias_rule(alice.user.id, AliasRuleSpec(kind="alias", dimension="project", pattern="alpha",
                                                      value="Renamed"))
    bar, stats = read()  # a rule change is not a write to the replica: the rules are part of the cache key
    assert [p["name"] for p in bar["data"]["projects"]] == ["Renamed"]
    assert [p["name"] for p in stats["projects"]] == ["Renamed"]
    assert math.isclose(stats["total_seconds"], _expected(beats, alice, week_start, day_end))


# -- formatting: the plain per-figure code the fast entries() replaced, as the oracle ---------------------------------
def _split(total: float) -> tuple[int, int, int]:
    whole = max(0, int(total))
    return whole // 3600, whole % 3600 // 60, whole % 60


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _human(total: float) -> str:
    hours, minutes, seconds = _split(total)
    parts = ([_plural(hours, "hr")] if hours else []) + ([_plural(minutes, "min")] if minutes else [])
    return " ".join(parts) if parts else _plural(seconds, "sec")


def _percentages(values: list[float], total: float | None) -> list[float]:
    whole = sum(values) if total is None else total
    if whole <= 0 or not values:
        return [0.0 for _ in values]
    exact = [v * 10_000 / whole for v in values]
    if total is not None and not math.isclose(total, sum(values)):
        return [round(e) / 100 for e in exact]
    floors = [math.floor(e) for e in exact]
    missing = 10_000 - sum(floors)
    for i in sorted(range(len(values)), key=lambda i: exact[i] - floors[i], reverse=True)[:missing]:
        floors[i] += 1
    return [f / 100 for f in floors]


def _entries(rows: list[tuple[str, float]], with_seconds: bool, total: float | None) -> list[formatting.Entry]:
    ordered = sorted(rows, key=lambda row: (-row[1], row[0]))
    shares = _percentages([s for _, s in ordered], total)
    result = []
    for (name, seconds), share in zip(ordered, shares, strict=True):
        hours, minutes, secs = _split(seconds)
        digital = f"{hours}:{minutes:02d}:{secs:02d}" if with_seconds else f"{hours}:{minutes:02d}"
        result.append(formatting.Entry(name=name, total_seconds=seconds, percent=share, digital=digital,
                                       decimal=f"{hours + minutes / 60:.2f}", text=_human(seconds), hours=hours,
                                       minutes=minutes, seconds=secs))
    return result


def test_entries_and_totals_match_the_per_figure_formatting() -> None:
    rng = random.Random(13)
    edges = [0.0, 0.4, 1.0, 59.9, 60.0, 61.0, 119.0, 3599.99, 3600.0, 3601.0, 3660.0, 3661.0, 7200.0, 7322.5, -5.0]
    for _ in range(800):
        rows = [(rng.choice("abc") + str(i % 3), rng.choice([*edges, rng.random() * 1e6, float(rng.randint(0, 10**5))]))
                for i in range(rng.randint(0, 8))]
        with_seconds = rng.random() < 0.5
        total = None if rng.random() < 0.7 else sum(s for _, s in rows) * rng.choice([1.0, 1.5, 1 + 1e-12])
        assert formatting.entries(rows, with_seconds=with_seconds, total_seconds=total) == \
            _entries(rows, with_seconds, total)
        value = rng.choice([*edges, rng.random() * 1e6])
        hours, minutes, _ = _split(value)
        assert formatting.human_text(value) == _human(value)
        assert formatting.total(value) == formatting.Total(
            total_seconds=value, digital=f"{hours}:{minutes:02d}", decimal=f"{hours + minutes / 60:.2f}",
            text=_human(value), hours=hours, minutes=minutes)


def test_query_reads_the_first_value_of_each_name_like_litestar() -> None:
    for query_string in (b"", b"a=1&b=2&a=3", b"project=x%2Cy&branches=&limit=5&project=z", b"flag&x=%20"):
        request: Request[Any, Any, Any] = Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                                                   "query_string": query_string})  # type: ignore[typeddict-item]  # a bare scope: only what query() reads
        parsed = params.query(request)
        assert dict(parsed) == {name: request.query_params.get(name) for name in request.query_params}
        assert params.query(request) is parsed  # parsed once per request
