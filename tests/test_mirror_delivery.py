"""Mirror delivery against a fault-injecting upstream (in process, time driven by `now`), URL/key checks,
encryption at rest, loop prevention, and the settings API."""

from __future__ import annotations

import base64
import json
import os
import stat
import time

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from hackatime_lite.cli.main import app as cli_app
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.data.importers.common import ImportSink
from hackatime_lite.ingest import IngestContext, ingest
from hackatime_lite.mirror import delivery, targets
from hackatime_lite.mirror.secretbox import SecretBox
from hackatime_lite.store import Store
from tests.conftest import Account, free_port
from tests.mirror_helpers import FaultyUpstream, Reply, heartbeat_items, per_item

UA = "wakatime/v1.102.1 (linux-6.1-x86_64) go1.22.5 vim/9.0 vim-wakatime/11.0.0"
UPSTREAM_KEY = "waka_3f9e0a4c-5d1b-4e7a-9c2f-0b1d2e3f4a5b"
BASE = 1.0


@pytest.fixture
def ctx(settings: Settings, store: Store) -> AppContext:
    settings.mirror_backoff_base = BASE
    settings.mirror_timeout = 0.5
    return AppContext(settings=settings, store=store)


@pytest.fixture
def upstream():
    with FaultyUpstream() as server:
        yield server


def _send(ctx: AppContext, account: Account, count: int, start: float | None = None, **extra) -> list[int]:
    start = start if start is not None else time.time() - 3600
    results = ingest(ctx.store, heartbeat_items(count, start),
                     IngestContext(user=account.user, user_agent=UA, machine="build box", **extra))
    return [r.heartbeat_id for r in results if r.created]


def _outbox(ctx: AppContext) -> list[tuple]:
    return [tuple(r) for r in ctx.store.reader().execute(
        "SELECT heartbeat_id, attempts, next_attempt_at, last_error, origins FROM mirror_outbox ORDER BY id")]


def _add(ctx: AppContext, account: Account, url: str) -> targets.TargetView:
    return targets.add_target(ctx.store, ctx.settings, account.user.id, url, UPSTREAM_KEY, verify=False)


def test_delivers_batches_of_25_with_original_headers(ctx, alice, upstream):
    target = _add(ctx, alice, upstream.url)
    ids = _send(ctx, alice, 60)
    assert len(_outbox(ctx)) == 60  # queued in the insert's transaction
    report = delivery.deliver_due(ctx)
    assert (report.requests, report.delivered) == (3, 60)
    assert [len(r.items) for r in upstream.received] == [25, 25, 10]
    first = upstream.received[0]
    assert first.path == "/api/v1/users/current/heartbeats.bulk"
    assert first.headers["authorization"] == "Basic " + base64.b64encode(UPSTREAM_KEY.encode()).decode()
    assert first.headers["user-agent"] == UA
    assert first.headers["x-machine-name"] == "build+box"
    assert first.headers["x-origin"] == ctx.store.instance_id()
    sent = [item for r in upstream.received for item in r.items]
    stored = [r[0] for r in ctx.store.reader().execute("SELECT time FROM heartbeats ORDER BY id")]
    assert [item["time"] for item in sent] == stored  # full precision, oldest first
    assert {item["entity"] for item in sent} == {f"/code/mirror/file{i}.py" for i in range(9)}
    assert all(item["user_agent"] == UA and isinstance(item["is_write"], bool) for item in sent)
    assert _outbox(ctx) == []
    status = targets.list_targets(ctx.store, alice.user.id)[0]
    assert (status.id, status.delivered, status.pending, status.paused) == (target.id, 60, 0, False)
    assert len(ids) == 60


def test_5xx_timeouts_and_429_back_off_the_target(ctx, alice, upstream):
    _add(ctx, alice, upstream.url)
    _send(ctx, alice, 5)
    upstream.script(Reply(500), Reply(delay=1.0), Reply(429, headers={"Retry-After": "30"}), Reply())
    t0 = time.time()
    assert delivery.deliver_due(ctx, now=t0).requests == 1  # 500
    target = targets.get_target(ctx.store, 1)
    assert target.failures == 1 and t0 + BASE / 2 <= target.retry_at <= t0 + BASE
    assert delivery.deliver_due(ctx, now=t0 + 0.4).requests == 0  # still backing off: no request at all
    t1 = t0 + BASE
    assert delivery.deliver_due(ctx, now=t1).requests == 1  # times out
    target = targets.get_target(ctx.store, 1)
    assert target.failures == 2 and target.last_error == "timed out"
    assert t1 + BASE <= target.retry_at <= t1 + 2 * BASE
    t2 = t1 + 2 * BASE
    assert delivery.deliver_due(ctx, now=t2).requests == 1  # 429 with Retry-After: 30
    assert targets.get_target(ctx.store, 1).retry_at >= t2 + 30
    assert delivery.deliver_due(ctx, now=t2 + 10).requests == 0
    report = delivery.deliver_due(ctx, now=t2 + 31)
    assert (report.requests, report.delivered) == (1, 5)
    target = targets.get_target(ctx.store, 1)
    assert (target.failures, target.retry_at, target.delivered_count) == (0, None, 5)
    # Every attempt carried the same five heartbeats: nothing was lost or split.
    assert [len(r.items) for r in upstream.received] == [5, 5, 5, 5]


def test_per_item_statuses_drop_400s_and_retry_the_rest(ctx, alice, upstream):
    _add(ctx, alice, upstream.url)
    _send(ctx, alice, 9)
    upstream.script(per_item(201, 400, 500))
    t0 = time.time()
    report = delivery.deliver_due(ctx, now=t0)
    assert (report.delivered, report.rejected, report.retried) == (3, 3, 3)
    left = _outbox(ctx)
    assert len(left) == 3
    assert all(attempts == 1 and t0 + BASE / 2 <= due <= t0 + BASE and error.startswith("500")
               for _, attempts, due, error, _ in left)
    view = targets.list_targets(ctx.store, alice.user.id, detail=True)[0]
    assert view.rejected == 3 and len(view.recent_rejections) == 3
    assert {r["status"] for r in view.recent_rejections} == {400}
    assert all(r["error"] == "refused 400" for r in view.recent_rejections)
    assert delivery.deliver_due(ctx, now=t0 + 0.1).requests == 0  # the retried items are not due yet
    report = delivery.deliver_due(ctx, now=t0 + BASE)
    assert (report.delivered, report.rejected) == (3, 0)
    assert _outbox(ctx) == []
    # The retried items went again, the dropped ones never did.
    assert len(upstream.received[1].items) == 3


def test_401_pauses_the_target_with_a_visible_reason(ctx, alice, upstream):
    target = _add(ctx, alice, upstream.url)
    _send(ctx, alice, 3)
    upstream.script(Reply(401, {"error": "Unauthorized"}))
    report = delivery.deliver_due(ctx)
    assert report.paused == [target.id]
    view = targets.list_targets(ctx.store, alice.user.id)[0]
    assert view.paused and "rejected the API key (401)" in view.pause_reason
    assert view.pending == 3
    _send(ctx, alice, 2, start=time.time() - 600)  # still queued while paused, for after the fix
    assert delivery.deliver_due(ctx, now=time.time() + 7200).requests == 0
    targets.resume_target(ctx.store, target.id, alice.user.id)
    assert delivery.deliver_due(ctx).delivered == 5


def test_redirects_are_never_followed(ctx, alice, upstream):
    _add(ctx, alice, upstream.url)
    _send(ctx, alice, 2)
    upstream.script(Reply(302, headers={"Location": "http://127.0.0.1:9/elsewhere"}))
    report = delivery.deliver_due(ctx)
    assert len(upstream.received) == 1 and report.paused
    assert "redirected (302)" in targets.list_targets(ctx.store)[0].pause_reason


def test_own_instance_in_x_origin_is_never_relayed(ctx, alice, upstream):
    _add(ctx, alice, upstream.url)
    own = ctx.store.instance_id()
    _send(ctx, alice, 3, origins=("peer-b", own), source="mirror")
    assert _outbox(ctx) == []
    _send(ctx, alice, 2, start=time.time() - 7200, origins=("peer-b",), source="mirror")
    assert [row[4] for row in _outbox(ctx)] == ["peer-b", "peer-b"]
    delivery.deliver_due(ctx)
    assert upstream.received[0].headers["x-origin"] == f"peer-b,{own}"


def test_imports_are_relayed_only_by_a_backfill(ctx, alice, upstream):
    target = _add(ctx, alice, upstream.url)
    sink = ImportSink(ctx.store, alice.user)
    for item in heartbeat_items(30, time.time() - 86400 * 3, step=3600):
        sink.add(item)
    sink.flush()
    assert sink.stats.inserted == 30 and _outbox(ctx) == []
    queued = targets.backfill(ctx.store, target.id, time.time() - 86400 * 2.5, user_id=alice.user.id)
    assert 0 < queued < 30
    assert targets.backfill(ctx.store, target.id, 0.0, user_id=alice.user.id) == 30 - queued  # no double queueing
    assert delivery.deliver_due(ctx).delivered == 30
    with pytest.raises(targets.MirrorError):
        targets.backfill(ctx.store, target.id, 0.0, user_id=alice.user.id + 99)


def test_key_is_encrypted_at_rest_with_a_0600_secret(ctx, alice, upstream):
    _add(ctx, alice, upstream.url)
    secret_file = ctx.settings.paths.secret_file
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    ctx.store.checkpoint()
    assert UPSTREAM_KEY.encode() not in ctx.settings.paths.database.read_bytes()
    stored = ctx.store.reader().execute("SELECT api_key_encrypted, key_hint FROM mirror_targets").fetchone()
    assert SecretBox.for_settings(ctx.settings).decrypt(stored[0]) == UPSTREAM_KEY and stored[1] == "waka"
    # A changed server secret cannot decrypt the key: the target pauses and says why.
    _send(ctx, alice, 1)
    ctx.settings.secret = "a different secret"
    report = delivery.deliver_due(ctx)
    assert report.paused and upstream.received == []
    assert "server secret has changed" in targets.list_targets(ctx.store)[0].pause_reason


@pytest.mark.parametrize(("url", "message"), [
    ("file:///etc/passwd", "http:// or https://"),
    ("ftp://example.com/api", "http:// or https://"),
    ("http://", "host"),
    ("wakatime.com/api/v1", "http:// or https://"),
    ("https://user:pw@example.com/api/v1", "not in the URL"),
    ("https://example.com/api/v1?api_key=x", "query string"),
])
def test_bad_upstream_urls_are_refused(ctx, alice, url, message):
    with pytest.raises(targets.MirrorError, match=message):
        targets.add_target(ctx.store, ctx.settings, alice.user.id, url, UPSTREAM_KEY)


def test_self_url_allow_list_unreachable_and_bad_key(ctx, alice, upstream):
    with pytest.raises(targets.MirrorError, match="this server itself"):
        targets.add_target(ctx.store, ctx.settings, alice.user.id, f"http://localhost:{ctx.settings.port}/api/v1",
                          UPSTREAM_KEY)
    ctx.settings.mirror_allowed_hosts = ["*.wakatime.com"]
    with pytest.raises(targets.MirrorError, match="not in mirror_allowed_hosts"):
        targets.add_target(ctx.store, ctx.settings, alice.user.id, upstream.url, UPSTREAM_KEY)
    ctx.settings.mirror_allowed_hosts = ["127.0.0.1"]
    with pytest.raises(targets.MirrorError, match="cannot reach the upstream"):
        targets.add_target(ctx.store, ctx.settings, alice.user.id, f"http://127.0.0.1:{free_port()}/api/v1",
                          UPSTREAM_KEY)
    upstream.script(Reply(401, {"error": "Unauthorized"}))
    with pytest.raises(targets.MirrorError, match="rejected the API key"):
        targets.add_target(ctx.store, ctx.settings, alice.user.id, upstream.url, UPSTREAM_KEY)
    with pytest.raises(targets.MirrorError, match="malformed"):
        targets.add_target(ctx.store, ctx.settings, alice.user.id, upstream.url, "bad key with spaces")
    upstream.script(Reply(400, {"error": "no heartbeats in request"}))
    view = targets.add_target(ctx.store, ctx.settings, alice.user.id, upstream.url + "/", UPSTREAM_KEY)
    assert view.url == upstream.url and upstream.received[-1].items == []
    assert targets.list_targets(ctx.store, alice.user.id)[0].key_hint == "waka"


def test_backoff_is_exponential_jittered_and_capped():
    assert delivery.backoff_delay(1, 30, rand=lambda: 0.0) == 15
    assert delivery.backoff_delay(1, 30, rand=lambda: 1.0) == 30
    assert delivery.backoff_delay(4, 30, rand=lambda: 1.0) == 240
    assert delivery.backoff_delay(40, 30, rand=lambda: 1.0) == 3600
    assert 1800 <= delivery.backoff_delay(40, 30) <= 3600


def test_settings_api_owner_checks(client: TestClient, alice: Account, bob: Account, upstream):
    base = "/api/native/v1/mirrors"
    assert client.get(base).status_code == 401
    body = {"url": upstream.url, "api_key": UPSTREAM_KEY, "verify": False}
    assert client.post(base, json=body, headers={"Authorization": "Basic " + base64.b64encode(
        alice.read_only_key.encode()).decode()}).status_code == 403
    created = client.post(base, json=body, headers=alice.headers)
    assert created.status_code == 201, created.text
    target = created.json()["data"]
    assert target["key_hint"] == "waka" and "api_key" not in target and UPSTREAM_KEY not in created.text
    bad = client.post(base, json={**body, "url": "file:///etc/passwd"}, headers=alice.headers)
    assert bad.status_code == 400 and "http://" in bad.json()["error"]
    assert client.post(base, content=b"{not json", headers=alice.headers).status_code == 400
    listed = client.get(base, headers=alice.headers).json()["data"]
    assert [t["id"] for t in listed] == [target["id"]] and client.get(base, headers=bob.headers).json()["data"] == []
    assert client.delete(f"{base}/{target['id']}", headers=bob.headers).status_code == 404
    assert client.post(f"{base}/{target['id']}/backfill", json={"from": "2024-01-01"},
                       headers=bob.headers).status_code == 404
    filled = client.post(f"{base}/{target['id']}/backfill", json={"from": "2024-01-01"}, headers=alice.headers)
    assert filled.status_code == 200 and filled.json()["queued"] == 0
    assert client.post(f"{base}/{target['id']}/backfill", json={"from": "yesterday-ish"},
                       headers=alice.headers).status_code == 400
    assert client.post(f"{base}/{target['id']}/resume", headers=alice.headers).json()["data"]["paused"] is False
    assert client.delete(f"{base}/{target['id']}", headers=alice.headers).json() == {"deleted": True,
                                                                                     "id": target["id"]}
    assert client.get(base, headers=alice.headers).json()["data"] == []


def test_a_tightened_allow_list_pauses_existing_targets(ctx, alice, upstream):
    _add(ctx, alice, upstream.url)
    _send(ctx, alice, 2)
    ctx.settings.mirror_allowed_hosts = ["wakatime.com"]
    report = delivery.deliver_due(ctx)
    assert report.paused and upstream.received == []
    assert "not in mirror_allowed_hosts" in targets.list_targets(ctx.store)[0].pause_reason


def test_cli_mirror_commands(tmp_path, upstream):
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "cli-data")]

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, [*args, *data])
        assert result.exit_code == code, result.output
        return result.output

    run("user", "create", "erin")
    assert "mirror 1: erin →" in run("mirror", "add", upstream.url, "--key", UPSTREAM_KEY)
    assert upstream.received[-1].items == []  # the probe: an empty bulk, nothing stored upstream
    assert "http:// or https://" in run("mirror", "add", "file:///etc/passwd", "--key", UPSTREAM_KEY, code=1)
    listed = json.loads(run("mirror", "list", "--json"))
    assert [(t["id"], t["url"], t["key_hint"]) for t in listed] == [(1, upstream.url, "waka")]
    assert UPSTREAM_KEY not in run("mirror", "status")
    with Store(tmp_path / "cli-data" / "hackatime.sqlite3") as store:
        erin = store.reader().execute("SELECT id FROM users").fetchone()[0]
        sink = ImportSink(store, store.get_user(erin))
        for item in heartbeat_items(7, 1_710_028_800.0):
            sink.add(item)
        sink.flush()
    assert "queued 7 heartbeats" in run("mirror", "backfill", "1", "--from", "2024-03-10")
    assert json.loads(run("mirror", "deliver", "--json"))["delivered"] == 7
    assert json.loads(run("mirror", "status", "--json"))[0]["delivered"] == 7
    assert "no mirror with id 9" in run("mirror", "remove", "9", code=1)
    assert "removed mirror 1" in run("mirror", "remove", "1")
    assert json.loads(run("mirror", "list", "--json")) == []
