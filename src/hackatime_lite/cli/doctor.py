"""`hackatime-lite doctor`'s checks: from ~/.wakatime.cfg to a stored heartbeat, each failure with a fix."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from hackatime_lite import __version__
from hackatime_lite.cli.client import API_BASE, ApiClient, ApiError, ClientError, check_api_key, server_root
from hackatime_lite.cli.wakatime_cfg import CfgError, read_settings

# Sent with the probe heartbeat; the server stores it as source 'test', which is left out of all figures.
TEST_HEADER = "X-Hackatime-Test"
PROBE_ENTITY = "hackatime-lite doctor"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def describe_database(report: dict[str, object]) -> str:
    """The health endpoint's database component in words: backend, its version, the probe's latency."""
    backend = report.get("backend", "?")
    version = report.get("server_version")
    latency = report.get("latency_ms")
    text = f"{backend} {version}" if version else str(backend)
    return text + (f", answered in {latency} ms" if latency is not None else "")


class Doctor:
    """Runs the checks in order; a failed step stops the ones that depend on it."""

    def __init__(self, cfg_path: Path, timeout: float, local_url: str | None = None) -> None:
        self.cfg_path = cfg_path
        self.timeout = timeout
        self.local_url = local_url  # a server running on this machine's data dir, if any
        self.checks: list[Check] = []

    def add(self, name: str, ok: bool, detail: str, fix: str = "") -> bool:
        self.checks.append(Check(name, ok, detail, fix))
        return ok

    def run(self) -> list[Check]:
        settings = self._config_file()
        if settings is None:
            return self.checks
        api_url, key = settings
        try:
            root = server_root(api_url)
        except ClientError as exc:
            self.add(
                "api_url", False, str(exc), "Set api_url = http://HOST:PORT/api/v1 (`hackatime-lite setup`)."
            )
            return self.checks
        with ApiClient(root, key, timeout=self.timeout) as client:
            if self._server(client) and key is not None and self._key(client, api_url):
                self._heartbeat(client, api_url)
        return self.checks

    def _config_file(self) -> tuple[str, str | None] | None:
        setup_hint = "Run `hackatime-lite setup --user NAME` (or `--key KEY`)."
        try:
            values = read_settings(self.cfg_path)
        except CfgError as exc:
            self.add(
                "config file",
                False,
                str(exc),
                "Fix the syntax, or move it away and run `hackatime-lite setup`.",
            )
            return None
        if values is None:
            self.add("config file", False, f"{self.cfg_path} does not exist", setup_hint)
            return None
        self.add("config file", True, str(self.cfg_path))
        api_url = values.get("api_url", "").strip()
        if not api_url:
            self.add("api_url", False, "not set: plugins send your time to wakatime.com instead", setup_hint)
            return None
        self.add("api_url", True, api_url)
        raw_key = values.get("api_key", "").strip()
        key = None
        if not raw_key:
            self.add("api_key", False, "not set: plugins cannot authenticate", setup_hint)
        else:
            try:
                key = check_api_key(raw_key)
                self.add("api_key format", True, f"{key[:8]}… is a lowercase UUIDv4")
            except ClientError as exc:
                self.add("api_key format", False, str(exc), setup_hint)
        return api_url, key

    def _server(self, client: ApiClient) -> bool:
        try:
            response = client.request("GET", "/api/health")
        except ApiError as exc:
            if self.local_url and self.local_url != client.root:
                hint = (
                    f"A server is running at {self.local_url}: `hackatime-lite setup` points editors at it."
                )
            else:
                hint = "Start it with `hackatime-lite serve`, or fix the host/port in api_url."
            return self.add("server", False, str(exc), hint)
        if response.status_code == 404:
            return self.add(
                "server", True, f"{client.root} answers, but has no /api/health (not hackatime-lite?)"
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            broken = sorted(k for k, v in body.items() if isinstance(v, dict) and v.get("status") != "ok")
            return self.add(
                "server",
                False,
                f"{client.root} is unhealthy ({response.status_code}): "
                f"{', '.join(broken) or response.text[:200]}",
                "Read the server's log; `hackatime-lite rebuild` repairs a broken replica.",
            )
        self.add("server", True, f"{client.root} is up (hackatime-lite {body.get('version', '?')})")
        database = body.get("database")
        if isinstance(database, dict):
            self.add("database", True, describe_database(database))
        return True

    def _key(self, client: ApiClient, api_url: str) -> bool:
        try:
            response = client.request("GET", f"{API_BASE}/users/current")
        except ApiError as exc:
            return self.add("api_key accepted", False, str(exc))
        if response.status_code == 401:
            return self.add(
                "api_key accepted",
                False,
                "the server does not know this key (revoked, or another server's)",
                "Create one with `hackatime-lite key create USER` and run `hackatime-lite setup --key KEY`.",
            )
        if response.status_code != 200:
            return self.add("api_key accepted", False, f"GET users/current answered {response.status_code}")
        data = response.json().get("data", {})
        return self.add("api_key accepted", True, f"key of user {data.get('username', '?')}")

    def _heartbeat(self, client: ApiClient, api_url: str) -> bool:
        probe = [
            {
                "entity": PROBE_ENTITY,
                "type": "app",
                "category": "coding",
                "time": time.time(),
                "user_agent": f"hackatime-lite/{__version__} doctor",
            }
        ]
        try:
            response = client.request(
                "POST", f"{API_BASE}/users/current/heartbeats.bulk", json=probe, headers={TEST_HEADER: "1"}
            )
        except ApiError as exc:
            return self.add("test heartbeat", False, str(exc))
        if response.status_code == 403:
            return self.add(
                "test heartbeat",
                False,
                "this API key is read-only: editors need one that can write",
                "Create a key without --read-only and run `hackatime-lite setup --key KEY`.",
            )
        try:
            item_status = response.json()["responses"][0][1]
        except (ValueError, KeyError, IndexError, TypeError):
            item_status = None
        if response.status_code not in (201, 202) or item_status not in (201, 202):
            return self.add(
                "test heartbeat",
                False,
                f"not accepted ({response.status_code}, item {item_status}): {response.text[:200]}",
                "Read the server's log.",
            )
        return self.add("test heartbeat", True, "stored (marked as a test: not counted in your stats)")
