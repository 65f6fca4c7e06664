"""Runs the store contract (tests/store_contract.py) against every backend.

A new backend joins by adding its opener to OPENERS: each contract test then runs against it too. The
PostgreSQL runs carry the `postgres` marker (a throwaway cluster: tests/pg_support.py; test.sh runs them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from hackatime_lite.store import Store, StoreBackend, rules
from tests.store_contract import *  # noqa: F403  (the contract's tests, collected here)


def _sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> StoreBackend:
    return Store(tmp_path / "contract.sqlite3")


def _postgres(tmp_path: Path, request: pytest.FixtureRequest) -> StoreBackend:
    from hackatime_lite.store.postgres.store import PostgresStore

    return PostgresStore(request.getfixturevalue("pg_url"), pool_size=2)


OPENERS: dict[str, Callable[[Path, pytest.FixtureRequest], StoreBackend]] = {"sqlite": _sqlite,
                                                                              "postgres": _postgres}
_MARKS = {"postgres": [pytest.mark.postgres]}


@pytest.fixture(params=[pytest.param(name, marks=_MARKS.get(name, [])) for name in sorted(OPENERS)])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[StoreBackend]:
    # Argon2 with its default costs takes ~0.4 s a hash here; the contract needs the behaviour, not the cost.
    monkeypatch.setattr(rules, "_password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    store = OPENERS[request.param](tmp_path, request)
    try:
        yield store
    finally:
        store.close()
