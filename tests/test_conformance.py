"""`hackatime-lite conformance`: passes against hackatime-lite itself, fails clearly against a broken server."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import typer
from litestar.testing import TestClient
from typer.testing import CliRunner

from hackatime_lite.cli.conformance import Conformance, api_base, report
from hackatime_lite.cli.main import app as cli_app
from tests.conftest import Account, ServerProcess


def _against(client: httpx.Client, key: str) -> Conformance:
    client.base_url = httpx.URL(str(client.base_url).rstrip("/") + "/api/v1/")
    return Conformance(client, key)


def test_every_check_passes_against_hackatime_lite(client: TestClient, alice: Account) -> None:
    checks = _against(client, alice.key).run()
    failed = [(c.name, c.detail) for c in checks if not c.passed]
    assert failed == []
    assert len(checks) >= 14


def test_it_runs_on_every_base_path(client: TestClient, alice: Account) -> None:
    for base in ("/api/hackatime/v1/", "/api/compat/wakatime/v1/"):
        client.base_url = httpx.URL("http://testserver.local" + base)
        failed = [(c.name, c.detail) for c in Conformance(client, alice.key).run() if not c.passed]
        assert failed == [], base


async def _always_500(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"boom"})


def test_a_server_answering_500_fails_with_a_clear_table(capsys: pytest.CaptureFixture[str]) -> None:
    with TestClient(_always_500) as broken:  # type: ignore[arg-type]  # a bare ASGI app is what we test against
        checks = _against(broken, "6b5b1a3c-0e6f-4f1e-9a57-0123456789ab").run()
    assert checks and not any(c.passed for c in checks[:3])
    with pytest.raises(typer.Exit) as exited:
        report(checks, as_json=True)
    assert exited.value.exit_code == 1
    printed = json.loads(capsys.readouterr().out)
    assert {"check", "passed", "detail"} <= set(printed[0])
    assert any("status 500" in row["detail"] for row in printed)


def test_api_base_accepts_the_forms_users_have() -> None:
    assert api_base("http://h:3000") == "http://h:3000/api/v1/"
    assert api_base("http://h:3000/api/v1") == "http://h:3000/api/v1/"
    assert api_base("http://h:3000/api/v1/users/current/heartbeats.bulk") == "http://h:3000/api/v1/"
    assert api_base("https://h/api/compat/wakatime/v1/") == "https://h/api/compat/wakatime/v1/"


@pytest.mark.slow
def test_the_command_against_a_running_server(server: ServerProcess) -> None:
    server.cli("user", "create", "tester")
    key = server.cli("key", "create", "tester").stdout.strip().splitlines()[-1]
    result = CliRunner().invoke(cli_app, ["conformance", server.url + "/api/v1", "--key", key])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and "checks passed" in result.output
    refused = CliRunner().invoke(cli_app, ["conformance", server.url, "--key", "not-a-key", "--json"])
    assert refused.exit_code == 1
