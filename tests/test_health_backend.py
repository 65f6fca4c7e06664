"""Health and doctor name the store's backend, its version and latency; `config` masks database_url's password."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from litestar.testing import TestClient

from hackatime_lite.cli.doctor import describe_database
from tests.conftest import run_cli


def test_health_names_the_sqlite_backend_version_and_latency(client: TestClient) -> None:
    body = client.get("/api/health").json()
    database = body["database"]
    assert database["backend"] == "sqlite" and database["server_version"] == sqlite3.sqlite_version
    assert isinstance(database["latency_ms"], float) and database["latency_ms"] >= 0
    words = describe_database(database)
    assert words.startswith(f"sqlite {sqlite3.sqlite_version}, answered in ") and words.endswith(" ms")


def test_config_masks_the_database_password(tmp_path: Path) -> None:
    url = "postgresql://hackatime:pa55-w0rd@db.internal:5432/hackatime?sslmode=require"
    env = {"HACKATIME_DATABASE_URL": url}
    shown = json.loads(run_cli("config", "--json", "--data-dir", str(tmp_path), env=env).stdout)
    assert shown["database_url"] == "postgresql://hackatime:********@db.internal:5432/hackatime?sslmode=require"
    table = run_cli("config", "--data-dir", str(tmp_path), env=env).stdout
    assert "pa55-w0rd" not in table and "********" in table


@pytest.mark.postgres
def test_health_names_the_postgres_backend(pg_url: str) -> None:
    from hackatime_lite.store.postgres.store import PostgresStore

    store = PostgresStore(pg_url, pool_size=1)
    try:
        report = store.health()
    finally:
        store.close()
    assert report["status"] == "ok" and report["backend"] == "postgresql"
    assert str(report["server_version"])[:2].isdigit()
    assert describe_database(report).startswith(f"postgresql {report['server_version']}, answered in ")
