"""Outgoing webhooks: a receiver on 127.0.0.1 gets exactly one signed delivery per event — also after being
down for a while — checks the signature with the README's scheme (implemented here on its own, as a receiver
would), and the API, the settings page and the CLI manage them with the usual access rules.

The delivery and the event jobs are driven directly with an injected clock (no scheduler, no sleeps)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from hackatime_lite import goals
from hackatime_lite.context import AppContext
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.mirror import delivery as mirror_delivery
from hackatime_lite.mirror import targets
from hackatime_lite.store import Store, open_store
from hackatime_lite.webhooks import signing
from hackatime_lite.webhooks.delivery import BACKOFF_CAP, MAX_ATTEMPTS, deliver_due
from hackatime_lite.webhooks.produce import emit_scheduled_events
from tests.conftest import Account, basic_auth, make_account, run_cli, world_settings

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC).timestamp()  # a Friday, noon UTC
TODAY = dt.date(2026, 11, 20)
API = "/api/native/v1/users/current/webhooks"
BULK = "/api/v1/users/current/heartbeats.bulk"


@dataclass
class Got:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class Receiver:
    """A tiny threaded HTTP receiver on 127.0.0.1 answering `status` to every POST, keeping what it got. It can
    be stopped (connections refused) and started again on the same port."""

    def __init__(self) -> None:
        self.status = 200
        self.got: list[Got] = []
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver.status
                receiver.got.append(Got(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def hooks(self) -> list[Got]:
        """The webhook deliveries (not the mirror requests the same receiver may answer)."""
        return [g for g in self.got if "x-hackatime-event" in g.headers]


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for every delivery round (a new client builds a TLS context: ~tens of ms of CPU each)."""
    with httpx.Client(timeout=5.0, follow_redirects=False, trust_env=False) as shared:
        yield shared


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


def signature_ok(secret: str, got: Got, *, body: bytes | None = None) -> bool:
    """The receiver's check, written from the README: HMAC-SHA256 over "<timestamp>.<raw body>"."""
    timestamp = got.headers["x-hackatime-timestamp"]
    signed = timestamp.encode() + b"." + (got.body if body is None else body)
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, got.headers["x-hackatime-signature"])


def app_ctx(client: TestClient) -> AppContext:
    ctx: AppContext = client.app.state.ctx
    ctx.clock = lambda: NOW
    return ctx


def add_hook(client: TestClient, account: Account, url: str, **body: Any) -> dict[str, Any]:
    response = client.post(API, json={"url": url, **body}, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def post_beats(client: TestClient, account: Account, times: list[float], project: str = "alpha") -> None:
    beats = [{"entity": "main.py", "type": "file", "time": t, "project": project, "language": "Python"}
             for t in times]
    response = client.post(BULK, json=beats, headers=account.headers)
    assert response.status_code == 201, response.text


def test_first_heartbeat_of_the_day_arrives_once_signed_after_the_receiver_was_down(
        client: TestClient, alice: Account, receiver: Receiver, http: httpx.Client) -> None:
    ctx = app_ctx(client)
    added = add_hook(client, alice, receiver.url, events=["first_heartbeat_of_day"])
    assert added["data"]["events"] == ["first_heartbeat_of_day"] and "secret" not in added["data"]
    secret = added["secret"]
    receiver.status = 503
    post_beats(client, alice, [NOW - 600, NOW - 570])
    post_beats(client, alice, [NOW - 300])  # later the same day: not the first heartbeat any more
    post_beats(client, alice, [NOW - 86400])  # yesterday's, sent late: not today's first
    ctx.store.flush()

    first = deliver_due(ctx, client=http, now=NOW)
    assert (first.delivered, first.retried, len(receiver.hooks())) == (0, 1, 1)
    assert deliver_due(ctx, client=http, now=NOW + 1).retried == 0  # backing off: nothing is due yet
    receiver.stop()  # now the receiver is gone altogether
    assert deliver_due(ctx, client=http, now=NOW + BACKOFF_CAP).retried == 1
    receiver.start()
    receiver.status = 200
    assert deliver_due(ctx, client=http, now=NOW + 2 * BACKOFF_CAP).delivered == 1
    for later in (3, 4):  # after a 2xx it is never sent again
        assert deliver_due(ctx, client=http, now=NOW + later * BACKOFF_CAP).delivered == 0

    got = receiver.hooks()
    assert [g.answered for g in got] == [503, 200]
    assert len({g.headers["x-hackatime-delivery"] for g in got}) == 1  # the same delivery id on every attempt
    ok = got[-1]
    assert ok.headers["x-hackatime-event"] == "first_heartbeat_of_day"
    assert signature_ok(secret, ok) and int(ok.headers["x-hackatime-timestamp"]) == int(NOW + 2 * BACKOFF_CAP)
    body = json.loads(ok.body)
    assert body["id"] == ok.headers["x-hackatime-delivery"] and body["event"] == "first_heartbeat_of_day"
    assert body["user"]["username"] == "alice"
    assert body["data"] == {"date": TODAY.isoformat(), "time": NOW - 600, "project": "alpha", "language": "Python",
                            "editor": body["data"]["editor"]}
    (listed,) = client.get(API, headers=alice.headers).json()["data"]
    assert listed["last_error"] is None and listed["recent_deliveries"][0]["state"] == "delivered"
    assert listed["recent_deliveries"][0]["attempts"] == 3


def test_slack_format_and_a_tampered_body_fails_the_check(client: TestClient, alice: Account,
                                                          receiver: Receiver) -> None:
    app_ctx(client)
    added = add_hook(client, alice, receiver.url, format="slack", events="daily_summary,goal_reached")
    assert added["data"]["format"] == "slack" and added["data"]["events"] == ["goal_reached", "daily_summary"]
    answer = client.post(f"{API}/{added['data']['id']}/test", headers=alice.headers)
    assert answer.status_code == 200 and answer.json() == {"delivered": True, "status": 200, "error": None}
    (got,) = receiver.hooks()
    assert got.headers["x-hackatime-event"] == "test"
    body = json.loads(got.body)
    assert set(body) == {"text", "blocks"} and isinstance(body["text"], str) and body["text"]
    assert body["blocks"][0] == {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}
    secret = added["secret"]
    assert signature_ok(secret, got)
    tampered = got.body.replace(b"test", b"tast")
    assert tampered != got.body and not signature_ok(secret, got, body=tampered)
    assert not signature_ok("whsec_other", got)
    # The package's own check agrees, and refuses an old timestamp (a replay).
    stamp, sig = got.headers["x-hackatime-timestamp"], got.headers["x-hackatime-signature"]
    assert signing.verify(secret, got.body, stamp, sig, now=NOW)
    assert not signing.verify(secret, tampered, stamp, sig, now=NOW)
    assert not signing.verify(secret, got.body, stamp, sig, now=NOW + signing.TOLERANCE + 1)

    receiver.status = 500
    failed = client.post(f"{API}/{added['data']['id']}/test", headers=alice.headers).json()
    assert failed == {"delivered": False, "status": 500, "error": "the receiver answered 500"}


def test_goals_and_daily_summary_are_emitted_once_per_user_day(client: TestClient, store: Store, alice: Account,
                                                               receiver: Receiver, http: httpx.Client) -> None:
    ctx = app_ctx(client)
    secret = add_hook(client, alice, receiver.url, events=["goal_reached", "goal_missed", "daily_summary"])["secret"]
    yesterday_10 = NOW - 86400 - 2 * 3600
    times = [yesterday_10 + 30 * i for i in range(21)]
    results = ingest(store, [{"entity": "a.py", "type": "file", "time": t, "project": "alpha",
                              "language": "Python"} for t in times], IngestContext(user=alice.user, now=NOW))
    assert all(r.created for r in results)
    coded = sum(min(b - a, ctx.settings.default_timeout) for a, b in itertools.pairwise(times))  # oracle
    user = store.get_user(alice.user.id)
    assert user is not None
    reached = goals.create_goal(ctx, user, {"delta": "day", "seconds": 300})
    missed = goals.create_goal(ctx, user, {"delta": "day", "seconds": 3600})
    limit = goals.create_goal(ctx, user, {"delta": "day", "seconds": 60, "is_inverse": True})

    assert emit_scheduled_events(ctx) == {"users": 1, "queued": 4, "pruned": 0}
    assert emit_scheduled_events(ctx) is None  # the same user-day again: nothing new
    assert deliver_due(ctx, client=http, now=NOW).delivered == 4
    by_goal = {json.loads(g.body)["data"].get("goal_id"): g for g in receiver.hooks()}
    assert {k: g.headers["x-hackatime-event"] for k, g in by_goal.items()} == {
        reached.id: "goal_reached", missed.id: "goal_missed", limit.id: "goal_missed", None: "daily_summary"}
    summary = json.loads(by_goal[None].body)["data"]
    assert summary["date"] == (TODAY - dt.timedelta(days=1)).isoformat()
    assert summary["total_seconds"] == pytest.approx(coded)
    assert summary["projects"][0]["name"] == "alpha"
    assert json.loads(by_goal[reached.id].body)["data"]["actual_seconds"] == pytest.approx(coded)
    assert all(signature_ok(secret, g) for g in receiver.hooks())

    # While today runs, an at-least goal is reported once reached and a limit once broken, each only once;
    # the 3600 s goal is still pending.
    post_beats(client, alice, [NOW - 400 + 40 * i for i in range(10)])  # 360 s today
    ctx.store.flush()
    assert emit_scheduled_events(ctx) == {"users": 1, "queued": 2, "pruned": 0}
    assert emit_scheduled_events(ctx) is None
    assert deliver_due(ctx, client=http, now=NOW + 1).delivered == 2
    today = {(b["event"], b["data"]["goal_id"], b["data"]["period"]) for b in
             (json.loads(g.body) for g in receiver.hooks()[4:])}
    assert today == {("goal_reached", reached.id, TODAY.isoformat()), ("goal_missed", limit.id, TODAY.isoformat())}
    assert deliver_due(ctx, client=http, now=NOW + 2 * BACKOFF_CAP).delivered == 0 and len(receiver.hooks()) == 6


def test_a_paused_mirror_is_told_to_the_owners_webhook_and_a_dead_receiver_is_given_up(
        client: TestClient, alice: Account, receiver: Receiver, http: httpx.Client) -> None:
    ctx = app_ctx(client)
    add_hook(client, alice, receiver.url, events=["mirror_paused"])
    targets.add_target(ctx.store, ctx.settings, alice.user.id, f"http://127.0.0.1:{receiver.port}/api/v1", "k" * 20,
                       verify=False, now=NOW)
    post_beats(client, alice, [NOW - 60])
    receiver.status = 401  # the upstream refuses the key: the mirror pauses
    assert mirror_delivery.deliver_due(ctx, now=NOW).paused
    assert receiver.hooks() == []
    rounds = [deliver_due(ctx, client=http, now=NOW + i * BACKOFF_CAP) for i in range(MAX_ATTEMPTS + 2)]
    assert [r.retried for r in rounds] == [1] * (MAX_ATTEMPTS - 1) + [0, 0, 0]
    assert [r.failed for r in rounds] == [0] * (MAX_ATTEMPTS - 1) + [1, 0, 0]
    got = receiver.hooks()
    assert len(got) == MAX_ATTEMPTS and {g.headers["x-hackatime-event"] for g in got} == {"mirror_paused"}
    assert "rejected the API key" in json.loads(got[0].body)["data"]["reason"]
    (listed,) = client.get(API, headers=alice.headers).json()["data"]
    assert listed["recent_deliveries"][0]["state"] == "failed" and listed["last_error"] == "the receiver answered 401"


def test_access_and_bad_input(client: TestClient, store: Store, alice: Account, bob: Account,
                              receiver: Receiver, http: httpx.Client) -> None:
    app_ctx(client)
    hook_id = add_hook(client, alice, receiver.url)["data"]["id"]
    for bad in ({"url": "ftp://example.com/x"}, {"url": "not a url"}, {"url": receiver.url, "events": ["nope"]},
                {"url": receiver.url, "format": "xml"}, {"url": 5}, {}):
        answer = client.post(API, json=bad, headers=alice.headers)
        assert answer.status_code == 400 and answer.json()["error"], (bad, answer.text)
    assert client.post(API, json={"url": receiver.url}, headers=basic_auth(alice.read_only_key)).status_code == 403
    assert client.delete(f"{API}/{hook_id}", headers=basic_auth(alice.read_only_key)).status_code == 403
    assert client.get(f"{API}/{hook_id}", headers=basic_auth(alice.read_only_key)).status_code == 200
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/test")):
        answer = client.request(method, f"{API}/{hook_id}{path}", headers=bob.headers)
        assert answer.status_code == 404 and "error" in answer.json()
    assert client.get(API, headers=bob.headers).json() == {"data": []}
    assert client.get(API).status_code == 401
    assert receiver.got == []

    # A team's webhooks: its owners and admins only; a member's events reach it only while they share.
    team = store.create_team("crew", alice.user.id, now=NOW)
    _, code = store.create_team_invite(team.id, alice.user.id, now=NOW)
    store.join_team(code, bob.user.id, now=NOW)
    carol = make_account(store, "carol")
    team_api = f"/api/native/v1/teams/{team.public_id}/webhooks"
    body = {"url": receiver.url, "events": ["first_heartbeat_of_day"]}
    assert client.post(team_api, json=body, headers=bob.headers).status_code == 403
    assert client.post(team_api, json=body, headers=carol.headers).status_code == 403
    assert client.get(team_api, headers=bob.headers).status_code == 403
    assert client.post("/api/native/v1/teams/nope/webhooks", json=body, headers=alice.headers).status_code == 404
    assert client.post(team_api, json={**body, "events": ["mirror_paused"]}, headers=alice.headers).status_code == 400
    created = client.post(team_api, json=body, headers=alice.headers)
    assert created.status_code == 201 and created.json()["data"]["team"] == team.public_id
    team_hook = created.json()["data"]["id"]
    assert client.delete(f"{API}/{team_hook}", headers=alice.headers).status_code == 404  # not a user webhook
    assert [h["id"] for h in client.get(team_api, headers=alice.headers).json()["data"]] == [team_hook]

    ctx = app_ctx(client)
    post_beats(client, bob, [NOW - 100])  # bob does not share: the team hears nothing
    store.update_team_member(team.id, bob.user.id, shares=True)
    post_beats(client, carol, [NOW - 100])  # not a member
    ctx.store.flush()
    assert deliver_due(ctx, client=http, now=NOW).delivered == 0
    assert client.delete(f"{API}/{hook_id}", headers=alice.headers).json() == {"deleted": True, "id": hook_id}
    assert client.get(f"{API}/{hook_id}", headers=alice.headers).status_code == 404
    post_beats(client, alice, [NOW - 100])  # alice shares nothing either (her own webhook is gone)
    ctx.store.flush()
    assert deliver_due(ctx, client=http, now=NOW).delivered == 0 and receiver.got == []
    assert client.delete(f"{team_api}/{team_hook}", headers=bob.headers).status_code == 403
    assert client.delete(f"{team_api}/{team_hook}", headers=alice.headers).status_code == 200


def test_a_sharing_members_first_heartbeat_reaches_the_team_webhook(client: TestClient, store: Store,
                                                                    alice: Account, bob: Account,
                                                                    receiver: Receiver, http: httpx.Client) -> None:
    ctx = app_ctx(client)
    team = store.create_team("crew", alice.user.id, now=NOW)
    _, code = store.create_team_invite(team.id, alice.user.id, now=NOW)
    store.join_team(code, bob.user.id, now=NOW)
    store.update_team_member(team.id, bob.user.id, shares=True)
    created = client.post(f"/api/native/v1/teams/{team.public_id}/webhooks", headers=alice.headers,
                          json={"url": receiver.url, "events": ["first_heartbeat_of_day"], "format": "slack"})
    secret = created.json()["secret"]
    post_beats(client, bob, [NOW - 100])
    ctx.store.flush()
    assert deliver_due(ctx, client=http, now=NOW).delivered == 1
    (got,) = receiver.hooks()
    assert signature_ok(secret, got) and "bob started coding today" in json.loads(got.body)["text"]


def test_the_settings_page_adds_tests_and_removes(client: TestClient, store: Store, receiver: Receiver) -> None:
    from tests.web_helpers import PASSWORD, login, post_form

    user = store.create_user("pat", password=PASSWORD)
    app_ctx(client)
    login(client, "pat")
    form = {"url": receiver.url, "format": "slack", "daily_summary": "1"}
    added = post_form(client, "/settings/webhooks", form)
    assert added.status_code == 200 and "whsec_" in added.text
    (hook,) = store.list_webhooks(user_id=user.id)
    assert hook.events == ("daily_summary",) and hook.format == "slack" and hook.url == receiver.url
    page = client.get("/settings").text
    assert "whsec_" not in page and receiver.url in page  # listed; the secret was shown once
    tested = post_form(client, f"/settings/webhooks/{hook.id}/test")
    assert tested.status_code == 200 and "Test event delivered" in tested.text and len(receiver.hooks()) == 1
    assert post_form(client, "/settings/webhooks", {**form, "url": "ftp://x"}).status_code == 400
    removed = post_form(client, f"/settings/webhooks/{hook.id}/remove")
    assert removed.status_code in (302, 303) and store.list_webhooks(user_id=user.id) == []


# ~1 s of CPU, nearly all Typer rebuilding the whole command tree on each of the five in-process calls: slow step.
@pytest.mark.slow
def test_cli_webhook_add_list_test_rm(tmp_path: Path, receiver: Receiver, request: pytest.FixtureRequest) -> None:
    settings = world_settings(tmp_path / "cli", request)
    with open_store(settings) as store:
        user = store.create_user("carol")
    env = {"HOME": str(tmp_path), "HACKATIME_API_KEY": ""}
    base = ("--data-dir", settings.data_dir)
    added = json.loads(run_cli(*base, "webhook", "add", receiver.url, "--event", "daily_summary", "--format",
                               "slack", "--json", env=env).stdout)
    assert added["secret"].startswith("whsec_") and added["events"] == ["daily_summary"]
    listed = json.loads(run_cli(*base, "webhook", "list", "--json", env=env).stdout)
    assert [(h["id"], h["url"], h["format"]) for h in listed] == [(added["id"], receiver.url, "slack")]
    assert "delivered" in run_cli(*base, "webhook", "test", str(added["id"]), env=env).stdout
    (got,) = receiver.hooks()
    assert signature_ok(added["secret"], got)
    missing = run_cli(*base, "webhook", "rm", "999", env=env, check=False)
    assert missing.returncode == 1 and "no webhook with id 999" in missing.stderr
    assert "deleted webhook" in run_cli(*base, "webhook", "rm", str(added["id"]), env=env).stdout
    with open_store(settings) as store:
        assert store.list_webhooks(user_id=user.id) == []


def test_a_queued_event_is_not_overtaken_by_a_later_synchronous_write(
        client: TestClient, store: Store, alice: Account, bob: Account, receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first-heartbeat observer queues its event and does not wait for it; a synchronous write after it (bob
    starting to share with the team) must commit after it, so the event reaches only the hooks of that moment.
    SQLite's one FIFO writer orders them by construction; on PostgreSQL `write` used to run at once in the
    caller's thread and could commit first (seen as a flaky test_access_and_bad_input under --store=postgres)."""
    from hackatime_lite.store.postgres import db as pg_db

    if not isinstance(store, pg_db.PostgresDatabase):
        pytest.skip("SQLite: one FIFO writer thread runs every write in the order it was asked for")
    team = store.create_team("crew", alice.user.id, now=NOW)
    _, code = store.create_team_invite(team.id, alice.user.id, now=NOW)
    store.join_team(code, bob.user.id, now=NOW)
    created = client.post(f"/api/native/v1/teams/{team.public_id}/webhooks", headers=alice.headers,
                          json={"url": receiver.url, "events": ["first_heartbeat_of_day"]})
    assert created.status_code == 201, created.text
    # Hold the writer thread until the synchronous write below starts: then the event is surely still queued.
    release = threading.Event()
    blocker = store.submit(lambda _conn: release.wait(10))
    queued = store.enqueue_webhook_event(bob.user.id, "first_heartbeat_of_day", "k:bob", "{}", NOW)
    real_wait = pg_db.futures.wait

    def wait_releasing(pending: Any, *args: Any, **kwargs: Any) -> Any:
        release.set()
        return real_wait(pending, *args, **kwargs)

    monkeypatch.setattr(pg_db.futures, "wait", wait_releasing)
    try:
        store.update_team_member(team.id, bob.user.id, shares=True)
    finally:
        release.set()
    assert blocker.result(10) is True
    assert queued.result(10) == 0  # bob did not share when the event was queued: the team's hook gets nothing
