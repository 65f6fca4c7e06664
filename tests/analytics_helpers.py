"""Builders shared by the analytics tests: put oracle Beats into a real store and read them back with ids."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from hackatime_lite.analytics.oracle import Beat, Rule
from hackatime_lite.models import Heartbeat
from hackatime_lite.store import Store
from hackatime_lite.store.records import heartbeat_row
from hackatime_lite.store.sqlite.heartbeats import insert_rows_fast


def heartbeat_of(beat: Beat) -> Heartbeat:
    return Heartbeat(
        user_id=beat.user_id, time=beat.time, entity=beat.entity or "file.py", type=beat.type or "file",
        category=beat.category or "coding", project=beat.project, branch=beat.branch, language=beat.language,
        dependencies=list(beat.dependencies) or None, editor=beat.editor, operating_system=beat.operating_system,
        machine=beat.machine, source=beat.source,
    )


def insert_beats(store: Store, beats: Sequence[Beat]) -> list[Beat]:
    """Insert in the given order (a random hash each, so same-time duplicates stay); returns Beats with ids."""
    if not beats:
        return []
    now = time.time()
    rows = [heartbeat_row(heartbeat_of(b), os.urandom(16), now) for b in beats]

    if getattr(store, "shares_state", False):  # PostgreSQL (the suite's --store=postgres run)
        from hackatime_lite.store.postgres.heartbeats import insert_rows

        outcomes = store.write(lambda conn: insert_rows(conn, rows))
        assert all(created for _, created in outcomes)
        return [Beat(**{**b.__dict__, "id": row_id}) for (row_id, _), b in zip(outcomes, beats, strict=True)]

    def job(db):  # type: ignore[no-untyped-def]
        inserted = insert_rows_fast(db, rows)
        assert inserted == len(rows)
        # One executemany in the single writer thread: the new ids are consecutive.
        return db.execute("SELECT last_insert_rowid()").fetchone()[0] - len(rows) + 1

    first_id = store.write(job)
    return [Beat(**{**b.__dict__, "id": first_id + i}) for i, b in enumerate(beats)]


def clear_user(store: Store, user_id: int) -> int:
    return store.delete_heartbeats(user_id)


def rule_of(timeout: int | None, mode: str | None, *, default_timeout: int = 120,
            default_mode: str = "capped") -> Rule:
    return Rule(timeout=float(timeout if timeout is not None else default_timeout), mode=mode or default_mode)
