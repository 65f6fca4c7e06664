"""Goals in PostgreSQL: one row per goal, the name lists as JSON arrays; every statement is scoped by the
owner, so another user's goal id finds nothing."""

from __future__ import annotations

import uuid

from hackatime_lite.errors import NotFoundError
from hackatime_lite.store.goal_rows import COLUMNS, SELECT, goal_from_row, goal_values
from hackatime_lite.store.postgres.base import Connection, execute, rows
from hackatime_lite.store.records import GoalSpec, StoredGoal


def create_goal(conn: Connection, user_id: int, spec: GoalSpec, now: float) -> StoredGoal:
    values = {"public_id": str(uuid.uuid4()), "user_id": user_id, **goal_values(spec), "created_at": now}
    found = rows(conn, f"INSERT INTO goals ({', '.join(values)}) VALUES ({', '.join('%s' for _ in values)}) "
                       f"RETURNING {', '.join(COLUMNS)}", list(values.values()))
    return goal_from_row(found[0])


def list_goals(conn: Connection, user_id: int) -> list[StoredGoal]:
    return [goal_from_row(row) for row in rows(conn, f"{SELECT} WHERE user_id = %s ORDER BY id", (user_id,))]


def get_goal(conn: Connection, user_id: int, goal_id: str) -> StoredGoal | None:
    found = rows(conn, f"{SELECT} WHERE user_id = %s AND public_id = %s", (user_id, goal_id))
    return goal_from_row(found[0]) if found else None


def update_goal(conn: Connection, user_id: int, goal_id: str, spec: GoalSpec, now: float) -> StoredGoal:
    values = {**goal_values(spec), "modified_at": now}
    found = rows(conn, f"UPDATE goals SET {', '.join(f'{name} = %s' for name in values)} "
                       f"WHERE user_id = %s AND public_id = %s RETURNING {', '.join(COLUMNS)}",
                 [*values.values(), user_id, goal_id])
    if not found:
        raise NotFoundError("no such goal")
    return goal_from_row(found[0])


def delete_goal(conn: Connection, user_id: int, goal_id: str) -> bool:
    return execute(conn, "DELETE FROM goals WHERE user_id = %s AND public_id = %s", (user_id, goal_id)) > 0
