"""GET /api/metrics: off by default, who may read what, and counters that move by exactly what was sent.

Every answer is parsed with prometheus_client's own text parser; expected values come from what the tests
sent (counts of a known batch) or from the API's other answers (the status bar, all time, the store).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from hackatime_lite.config import Settings
from hackatime_lite.store import Store
from hackatime_lite.store.records import JobRunUpdate
from tests.conftest import Account, basic_auth, store_backend_name

TOKEN = "scrape-token-for-tests"
HEARTBEATS = "/api/v1/users/current/heartbeats.bulk"
HEARTBEATS_ROUTE = "/api/v1/users/{user}/heartbeats.bulk"


# The replica must exist before the fault / the scrape, as in a running server (conftest `client`).
pytestmark = pytest.mark.eager_replica


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:  # this module's apps have metrics on
    # On the suite's backend, as conftest's `settings` (--store=postgres: a fresh PostgreSQL database).
    url = request.getfixturevalue("pg_url") if store_backend_name(request.config) == "postgres" else ""
    return Settings(data_dir=str(tmp_path / "data"), database_url=url, metrics_enabled=True, metrics_token=TOKEN)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient, headers: dict[str, str]) -> tuple[Samples, set[str]]:
    """({(sample name, sorted labels): value}, the family names) of one scrape."""
    response = client.get("/api/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    families = set()
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, families


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def beats(start: float, count: int, project: str, language: str, step: float = 30.0) -> list[dict[str, object]]:
    return [{"entity": f"/src/{project}/main.{language.lower()}", "type": "file", "time": start + i * step,
             "project": project, "language": language, "category": "coding"} for i in range(count)]


def test_off_by_default_is_404(tmp_path: Path, store: Store, alice: Account) -> None:
    from tests.app_pool import pooled_app

    with pooled_app(Settings(data_dir=str(tmp_path / "off")), store=store, start_scheduler=False) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        for headers in ({}, alice.headers, BEARER):
            response = client.get("/api/metrics", headers=headers)
            assert response.status_code == 404 and "error" in response.json()


def test_known_batch_moves_the_counters_by_exactly_its_counts(client: TestClient, alice: Account) -> None:
    before, _ = scrape(client, BEARER)
    now = time.time()
    first = beats(now - 3600, 7, "shop", "Python")
    answer = client.post(HEARTBEATS, json=first, headers=alice.headers)
    assert answer.status_code == 201
    # The second batch: 3 resent (duplicates), 2 new, 1 invalid (time in the future).
    future = {"entity": "/src/x.py", "type": "file", "time": now + 10 * 86400}
    second = [*first[:3], *beats(now - 600, 2, "shop", "Python"), future]
    answer = client.post(HEARTBEATS, json=second, headers=alice.headers)
    statuses = [status for _, status in answer.json()["responses"]]
    assert statuses == [201] * 5 + [400]
    after, families = scrape(client, BEARER)

    def moved(metric: str, /, **labels: str) -> float:
        return value(after, metric, **labels) - value(before, metric, **labels)

    assert moved("hackatime_heartbeats_accepted_total") == 9  # 7 + 2 new
    assert moved("hackatime_heartbeats_duplicate_total") == 3
    assert moved("hackatime_heartbeats_rejected_total", reason="time_in_future") == 1
    rejected = sum(v for (name, _), v in after.items() if name == "hackatime_heartbeats_rejected_total")
    assert rejected - sum(v for (name, _), v in before.items() if name == "hackatime_heartbeats_rejected_total") == 1
    # Both posts were counted under the route's template (not the raw path), with their status.
    labels = {"method": "POST", "route": HEARTBEATS_ROUTE, "status": "201"}
    assert moved("hackatime_http_requests_total", **labels) == 2
    assert moved("hackatime_http_request_duration_seconds_count", **labels) == 2
    assert not any("current" in dict(key).get("route", "") for _, key in after)
    # The scrape before this one was counted too (the exposition is taken before its own request ends).
    assert value(after, "hackatime_http_requests_total", method="GET", route="/api/metrics", status="200") >= 1
    # Process metrics from the app's own registry.
    assert {"process_cpu_seconds", "python_info"} <= families


def test_user_gauges_are_the_callers_status_bar(client: TestClient, alice: Account, bob: Account) -> None:
    now = time.time()
    client.post(HEARTBEATS, json=beats(now - 1800, 20, "api", "Go"), headers=bob.headers)
    client.post(HEARTBEATS, json=beats(now - 900, 10, "web", "TypeScript", step=45), headers=bob.headers)
    client.post(HEARTBEATS, json=beats(now - 900, 10, "alice-only", "Rust"), headers=alice.headers)
    status = client.get("/api/v1/users/current/statusbar/today", headers=bob.headers).json()["data"]
    all_time = client.get("/api/v1/users/current/all_time_since_today", headers=bob.headers).json()["data"]
    samples, families = scrape(client, basic_auth(bob.key))

    assert value(samples, "wakatime_seconds_total") == pytest.approx(status["grand_total"]["total_seconds"])
    assert value(samples, "wakatime_seconds_total") > 0
    assert value(samples, "wakatime_cumulative_seconds_total") == pytest.approx(all_time["total_seconds"])
    for key, metric in (("projects", "wakatime_project_seconds_total"),
                        ("languages", "wakatime_language_seconds_total"),
                        ("editors", "wakatime_editor_seconds_total"),
                        ("operating_systems", "wakatime_operating_system_seconds_total"),
                        ("machines", "wakatime_machine_seconds_total"),
                        ("categories", "wakatime_category_seconds_total")):
        shown = {(metric, (("name", e["name"]),)): e["total_seconds"] for e in status[key]}
        got = {k: v for k, v in samples.items() if k[0] == metric}
        assert got == pytest.approx(shown), key
    assert ("wakatime_project_seconds_total", (("name", "alice-only"),)) not in samples
    # A user's key shows that user's gauges only: no instance metrics, no other users.
    assert all(name.startswith("wakatime_") for name in families), families
    assert "wakatime_admin_users_total" not in families


def test_instance_gauges_replica_jobs_outbox_and_users(client: TestClient, store: Store, alice: Account,
                                                       bob: Account) -> None:
    target = store.upsert_target(bob.user.id, "https://upstream.example/api/v1", "encrypted", "abcd", time.time())
    now = time.time()
    client.post(HEARTBEATS, json=beats(now - 600, 4, "p", "Go"), headers=bob.headers)
    store.record_job_run(JobRunUpdate(name="leaderboards", last_started_at=now, last_finished_at=now,
                                      last_duration_ms=250.0, last_error="boom", last_result=None,
                                      last_success_at=None, next_due_at=None, runs=3, errors=1,
                                      updated_at=now)).result()
    samples, families = scrape(client, BEARER)

    assert value(samples, "wakatime_admin_users_total") == len(store.list_users()) == 2
    assert value(samples, "wakatime_admin_users_active_total") == 1  # only bob sent heartbeats
    assert value(samples, "wakatime_admin_heartbeats_total") == 4
    assert value(samples, "hackatime_job_runs_total", job="leaderboards") == 3
    assert value(samples, "hackatime_job_failures_total", job="leaderboards") == 1
    assert value(samples, "hackatime_job_last_duration_seconds", job="leaderboards") == 0.25
    where = {"target": str(target.id), "host": "upstream.example"}
    assert value(samples, "hackatime_mirror_outbox_pending", **where) == 4  # the four heartbeats, not yet sent
    assert value(samples, "hackatime_mirror_target_paused", **where) == 0
    # Nothing read coding time since the post: the replica was 4 heartbeats behind when the scrape looked (the
    # scrape's heartbeat count then synced it, so the next scrape sees no lag and the sync's duration).
    assert value(samples, "hackatime_replica_up") == 1
    assert value(samples, "hackatime_replica_lag_heartbeats") == 4
    again, _ = scrape(client, BEARER)
    assert value(again, "hackatime_replica_lag_heartbeats") == 0
    assert value(again, "hackatime_replica_last_sync_duration_seconds") > 0
    assert value(samples, "hackatime_live_streams") == 0
    # The scraper's token is not a user: no per-user gauges.
    assert "wakatime_seconds_total" not in families


def test_admin_key_and_session_see_everything(client: TestClient, store: Store, alice: Account) -> None:
    for headers in (alice.headers, {"Cookie": f"hl_session={store.create_session(alice.user.id)}"}):
        _, families = scrape(client, headers)
        assert {"hackatime_heartbeats_accepted", "wakatime_admin_users_total", "wakatime_seconds_total"} <= families


def test_missing_or_wrong_credentials_are_401(client: TestClient, alice: Account) -> None:
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": f"Bearer {TOKEN}x"},
                    basic_auth("waka_00000000-0000-4000-8000-000000000000"), {"Cookie": "hl_session=forged"}):
        response = client.get("/api/metrics", headers=headers)
        assert response.status_code == 401 and "error" in response.json(), headers
        assert "hackatime_" not in response.text


def test_rejected_reasons_are_a_bounded_set() -> None:
    from hackatime_lite.metrics import REJECT_REASONS, reject_reason

    messages = ["time is in the future", "time is required", "time is not a plausible epoch time in seconds",
                "entity is required", "type must be one of app, domain, file, url",
                "heartbeat is not valid JSON: nope", "each heartbeat must be a JSON object",
                "lines is required", "Expected `str`, got `int` - at `$.entity`", "a" * 5000, ""]
    assert {reject_reason(m) for m in messages} <= set(REJECT_REASONS)
    assert reject_reason("time is in the future") == "time_in_future"
