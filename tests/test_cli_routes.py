"""`hackatime-lite routes`: from a URL to its handler in one step, for every route the OpenAPI document has."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from litestar.testing import TestClient
from typer.testing import CliRunner

from hackatime_lite.cli.main import app as cli_app


def _without_types(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def test_routes_lists_every_route_in_the_openapi_document(client: TestClient, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "data"), "routes", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    routes = {(row["method"], _without_types(row["path"])) for row in listed}
    document = client.get("/schema/openapi.json").json()
    documented = {(method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert documented and documented <= routes
    # Every handler named is importable and is what answers that route.
    for row in listed:
        module, _, qualname = row["handler"].partition(":")
        if module.startswith("hackatime_lite."):
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
            assert callable(target) or hasattr(target, "fn"), row


def test_routes_plain_output_greps(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path / "data"), "routes"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "/api/v1/users/{user:str}/statusbar/today" in line)
    assert line.split()[0] == "GET"
    assert line.endswith("→ hackatime_lite.api.wakatime.reads:status_bar_today")
