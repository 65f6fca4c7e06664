"""The status bar answered on the event loop from a kept answer (api/answers.py, issue 13) is the answer the
plain path gives — status, every header and every byte of the body, on every base path, with and without
CORS, for errors too — and it is no answer longer than it holds: a write, a settings change, a rule change,
midnight and a revoked key all show at the very next read (every request is still authenticated and
rate-limited: tests/test_rate_limits.py reads the status bar into its 429)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from hackatime_lite.api import params
from hackatime_lite.api.wakatime import BASE_PATHS
from hackatime_lite.context import AppContext
from hackatime_lite.models import Streak
from hackatime_lite.store import Store
from hackatime_lite.store.records import AliasRuleSpec
from tests._fast_requests import Call, send_all
from tests.conftest import Account

NOW = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC: the app's clock, frozen so that `cached_at` is comparable
BULK = "/api/v1/users/current/heartbeats.bulk"
SPELLINGS = ("statusbar/today", "status_bar/today")


def _ctx(client: TestClient) -> AppContext:
    ctx: AppContext = client.app.state.ctx
    return ctx


def _post(client: TestClient, account: Account, times: list[float], project: str = "alpha") -> None:
    items = [{"entity": "/src/app.py", "type": "file", "time": t, "project": project, "language": "Python"}
             for t in times]
    response = client.post(BULK, json=items, headers=account.headers)
    assert response.status_code in (201, 202), response.text


def _limit_reads(client: TestClient, per_minute: int) -> None:
    """Reads (and bad keys) per minute: 0 turns the limits off."""
    ctx = _ctx(client)
    ctx.settings.api_read_per_minute = ctx.settings.api_bad_keys_per_minute = per_minute
    ctx.rate_limits = type(ctx.rate_limits).from_settings(ctx.settings, ctx.store)


Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


def _answers(responses: list[httpx.Response]) -> list[Answer]:
    return [(r.status_code, sorted(r.headers.multi_items()), r.content) for r in responses]


@pytest.fixture
def frozen(client: TestClient, alice: Account, bob: Account) -> TestClient:
    _ctx(client).clock = lambda: NOW
    _post(client, alice, [NOW - 900, NOW - 840, NOW - 700, NOW - 650])
    _post(client, alice, [NOW - 600, NOW - 560], project="beta")
    _post(client, bob, [NOW - 300, NOW - 200])
    return client



def _twice(client: TestClient, cases: list[tuple[str, dict[str, str]]]) -> list[list[Answer]]:
    """Each case sent twice in a row: the first answer computed, the second kept."""
    calls = [Call("GET", path, headers) for path, headers in cases]
    return [_answers(send_all(client, calls)) for _ in range(2)]


def _assert_the_plain_path_answers_the_same(client: TestClient, cases: list[tuple[str, dict[str, str]]],
                                            kept: list[list[Answer]],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain path (every read in a worker thread, as on a shared store) answers byte for byte the same."""
    monkeypatch.setattr(params, "local_reads", lambda ctx: False)
    _ctx(client).answers.clear()
    plain = _answers(send_all(client, [Call("GET", path, headers) for path, headers in cases]))
    for (path, _), first, second, expected in zip(cases, kept[0], kept[1], plain, strict=True):
        assert first == second == expected, path

def test_kept_answers_are_byte_identical_to_the_plain_path(frozen: TestClient, alice: Account, bob: Account,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    client = frozen
    _limit_reads(client, 0)  # some 400 requests, bad keys among them: this test is not about the limits
    key_param = f"?api_key={alice.key}"
    # Every base path and spelling; every kind of caller and answer under the canonical base and one alias.
    cases = [(f"{base}/users/current/{spelling}", alice.headers) for base in BASE_PATHS for spelling in SPELLINGS]
    for base in (BASE_PATHS[0], BASE_PATHS[-1]):
        path = f"{base}/users/current/statusbar/today"
        cases += [
            (path, {**alice.headers, "Origin": "https://editor.example"}),  # CORS
            (path, {"Authorization": f"Bearer {alice.read_only_key}"}),
            (path + key_param, {}),
            (f"{base}/users/alice/status_bar/today", alice.headers),
            (f"{base}/users/bob/statusbar/today", alice.headers),  # an admin reads another user
            (f"{base}/users/alice/statusbar/today", bob.headers),  # 403
            (f"{base}/users/nobody/statusbar/today", alice.headers),  # 404
            (path, {}),  # 401
            (path, {"Authorization": "Basic bm90LWEta2V5"}),  # 401: not a key
        ]
    # Twice each: a first answer computed, a second kept; then the plain path (every read in a worker thread,
    # as on a shared store) must answer the same, byte for byte.
    kept = _twice(client, cases)
    assert {status for status, _, _ in kept[0]} == {200, 401, 403, 404}
    _assert_the_plain_path_answers_the_same(client, cases, kept, monkeypatch)


def test_a_repeated_poll_is_answered_on_the_loop(frozen: TestClient, alice: Account,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not params.local_reads(_ctx(frozen)):
        pytest.skip("a shared store reads in a worker thread")
    hops: list[Any] = []
    run_blocking = params.run_blocking

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await run_blocking(fn, *args, **kwargs)

    monkeypatch.setattr(params, "run_blocking", counted)
    first = frozen.get("/api/v1/users/current/statusbar/today", headers=alice.headers)
    assert len(hops) == 1
    for base in BASE_PATHS:  # an alias is the canonical route: the same kept answer
        again = frozen.get(f"{base}/users/current/status_bar/today", headers=alice.headers)
        assert again.content == first.content
    assert len(hops) == 1
    stats = [frozen.get("/api/v1/users/current/stats/last_7_days?features=languages", headers=alice.headers)
             for _ in range(3)]
    assert stats[0].status_code == 200 and stats[0].content == stats[1].content == stats[2].content
    assert len(hops) == 2


def _total(client: TestClient, account: Account) -> float:
    response = client.get("/api/v1/users/current/statusbar/today", headers=account.headers)
    assert response.status_code == 200, response.text
    return float(response.json()["data"]["grand_total"]["total_seconds"])


def test_a_kept_answer_never_outlives_what_it_was_computed_from(frozen: TestClient, store: Store,
                                                                alice: Account) -> None:
    client, ctx = frozen, _ctx(frozen)
    before = _total(client, alice)
    assert before == _total(client, alice) > 0
    # A write: counted by the very next read (a heartbeat 60 s after the last adds 60 s; the new last covers nothing).
    _post(client, alice, [NOW - 500])
    assert _total(client, alice) == before + 60
    # Another user's write changes the store's marks too: read again, the same answer.
    assert _total(client, alice) == before + 60
    # A rule change (no mark covers it): the very next read.
    store.add_alias_rule(alice.user.id, AliasRuleSpec(kind="alias", dimension="project", pattern="alpha",
                                                      value="Renamed"))
    projects = client.get("/api/v1/users/current/statusbar/today", headers=alice.headers).json()["data"]["projects"]
    assert sorted(p["name"] for p in projects) == ["Renamed", "beta"]
    # A settings change (the zone): today is another day and window at once.
    store.update_user(alice.user.id, timezone="Pacific/Kiritimati")  # UTC+14: already the next day there
    data = client.get("/api/v1/users/current/statusbar/today", headers=alice.headers).json()["data"]
    assert data["range"]["timezone"] == "Pacific/Kiritimati"
    assert data["range"]["date"] == (dt.datetime.fromtimestamp(NOW, dt.UTC) + dt.timedelta(hours=14)).date().isoformat()
    # Midnight: the next day's answer, not the kept one.
    ctx.clock = lambda: NOW + 86_400
    data = client.get("/api/v1/users/current/statusbar/today", headers=alice.headers).json()["data"]
    assert data["grand_total"]["total_seconds"] == 0
    # A revoked key: refused at once, although an answer for its user is kept.
    key_id = next(k.id for k in store.list_api_keys(alice.user.id) if not k.read_only)
    store.revoke_api_key(key_id)
    assert client.get("/api/v1/users/current/statusbar/today", headers=alice.headers).status_code == 401


def test_kept_stats_are_byte_identical_to_the_plain_path(frozen: TestClient, store: Store, alice: Account,
                                                         bob: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    client = frozen
    _limit_reads(client, 0)
    # Bob shares his totals and languages publicly, three days back: anyone may read that much of his stats.
    store.update_user(bob.user.id, share_stats=True, share_languages=True, share_max_days=3)
    today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
    cases = [(f"{base}/users/current/stats/last_7_days", alice.headers) for base in BASE_PATHS]
    for base in (BASE_PATHS[0], BASE_PATHS[-1]):
        cases += [
            (f"{base}/users/current/stats/last_7_days", {**alice.headers, "Origin": "https://editor.example"}),
            (f"{base}/users/current/stats", alice.headers),
            (f"{base}/users/current/stats/last_7_days?api_key={alice.key}", {}),
            (f"{base}/users/current/stats/all_time", alice.headers),
            (f"{base}/users/current/stats/last_7_days?total_seconds=true", alice.headers),
            (f"{base}/users/current/stats/last_7_days?features=languages,projects&limit=1", alice.headers),
            (f"{base}/users/current/stats/last_7_days?project=beta", alice.headers),
            (f"{base}/users/current/stats?start_date={today - dt.timedelta(days=2)}&end_date={today}", alice.headers),
            (f"{base}/users/current/stats/last_7_days?features=bogus", alice.headers),  # 400
            (f"{base}/users/bob/stats/last_7_days", alice.headers),  # an admin
            (f"{base}/users/bob/stats/last_7_days", {}),  # anonymous: 403, more than the three days shared
            (f"{base}/users/bob/stats/last_3_days", {}),  # anonymous, shared
            (f"{base}/users/alice/stats/last_7_days", bob.headers),  # 403: alice shares nothing
            (f"{base}/users/current/stats/last_7_days", {}),  # 401
        ]
    kept = _twice(client, cases)
    assert {status for status, _, _ in kept[0]} == {200, 400, 401, 403}
    assert alice.key not in repr(_ctx(client).answers)  # kept answers hold no plaintext key
    _assert_the_plain_path_answers_the_same(client, cases, kept, monkeypatch)


def test_kept_stats_follow_writes_the_clock_and_the_streak_cache(frozen: TestClient, store: Store,
                                                                 alice: Account) -> None:
    client, ctx = frozen, _ctx(frozen)
    path = "/api/v1/users/current/stats/last_7_days"

    def data() -> dict[str, Any]:
        response = client.get(path, headers=alice.headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    before = data()
    assert data() == before
    _post(client, alice, [NOW - 500])  # 60 s more (as in the status bar test above)
    assert data()["total_seconds"] == before["total_seconds"] + 60
    ctx.clock = lambda: NOW + 1  # the next second: the answer's times follow
    assert data()["modified_at"] == dt.datetime.fromtimestamp(NOW + 1, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "streak" not in data()  # no streaks job has run yet
    today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
    store.replace_streaks({alice.user.id: Streak(current=4, current_start=today - dt.timedelta(days=3),
                                                 current_end=today, longest=4)}, NOW)
    assert data()["streak"] == 4
