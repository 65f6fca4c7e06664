"""Goals in SQLite (`goals`): one row per goal, the name lists as JSON arrays; every statement is scoped by the
owner, so another user's goal id finds nothing.

`SQLiteGoals` adds the StoreBackend's goal methods to SQLiteStore (a base class of it), keeping them with their
SQL here.
"""

from __future__ import annotations

import sqlite3
import time
import uuid

import sqlite_utils

from hackatime_lite.errors import NotFoundError
from hackatime_lite.store.goal_rows import SELECT, goal_from_row, goal_values
from hackatime_lite.store.records import GoalSpec, StoredGoal
from hackatime_lite.store.sqlite.db import SQLiteDatabase


def create_goal(db: sqlite_utils.Database, user_id: int, spec: GoalSpec, now: float) -> StoredGoal:
    values = {"public_id": str(uuid.uuid4()), "user_id": user_id, **goal_values(spec), "created_at": now}
    names = ", ".join(values)
    db.execute(f"INSERT INTO goals ({names}) VALUES ({', '.join('?' for _ in values)})", list(values.values()))
    found = get_goal(db.conn, user_id, values["public_id"])
    assert found is not None  # just inserted in this transaction
    return found


def list_goals(conn: sqlite3.Connection, user_id: int) -> list[StoredGoal]:
    """Oldest first."""
    return [goal_from_row(row) for row in conn.execute(f"{SELECT} WHERE user_id = ? ORDER BY id", (user_id,))]


def get_goal(conn: sqlite3.Connection, user_id: int, goal_id: str) -> StoredGoal | None:
    row = conn.execute(f"{SELECT} WHERE user_id = ? AND public_id = ?", (user_id, goal_id)).fetchone()
    return goal_from_row(row) if row else None


def update_goal(db: sqlite_utils.Database, user_id: int, goal_id: str, spec: GoalSpec, now: float) -> StoredGoal:
    values = {**goal_values(spec), "modified_at": now}
    assignments = ", ".join(f"{name} = ?" for name in values)
    cursor = db.execute(f"UPDATE goals SET {assignments} WHERE user_id = ? AND public_id = ?",
                        [*values.values(), user_id, goal_id])
    if cursor.rowcount == 0:
        raise NotFoundError("no such goal")
    found = get_goal(db.conn, user_id, goal_id)
    assert found is not None  # just updated in this transaction
    return found


def delete_goal(db: sqlite_utils.Database, user_id: int, goal_id: str) -> bool:
    return db.execute("DELETE FROM goals WHERE user_id = ? AND public_id = ?", (user_id, goal_id)).rowcount > 0


class SQLiteGoals(SQLiteDatabase):
    """The StoreBackend's goal methods on the SQLite file (reads on this thread's reader, writes as one job)."""

    def create_goal(self, user_id: int, spec: GoalSpec, *, now: float | None = None) -> StoredGoal:
        moment = time.time() if now is None else now
        return self.write(lambda db: create_goal(db, user_id, spec, moment))

    def list_goals(self, user_id: int) -> list[StoredGoal]:
        return list_goals(self.reader(), user_id)

    def get_goal(self, user_id: int, goal_id: str) -> StoredGoal | None:
        return get_goal(self.reader(), user_id, goal_id)

    def update_goal(self, user_id: int, goal_id: str, spec: GoalSpec, *, now: float | None = None) -> StoredGoal:
        moment = time.time() if now is None else now
        return self.write(lambda db: update_goal(db, user_id, goal_id, spec, moment))

    def delete_goal(self, user_id: int, goal_id: str) -> bool:
        return self.write(lambda db: delete_goal(db, user_id, goal_id))
