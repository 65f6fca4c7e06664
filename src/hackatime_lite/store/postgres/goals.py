"""Goals in PostgreSQL: one row per goal, the name lists as JSON arrays; every statement is scoped by the
owner, so another user's goal id finds nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hackatime_lite.errors import NotFoundError
from hackatime_lite.store.postgres.base import Connection, execute, rows
from hackatime_lite.store.records import GoalSpec, StoredGoal

_LISTS = ("languages", "projects", "editors", "categories", "ignore_days")
_COLUMNS = ("public_id", "user_id", "delta", "seconds", "is_inverse", *_LISTS, "ignore_zero_days",
            "improve_by_percent", "is_enabled", "custom_title", "created_at", "modified_at")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM goals"


def _values(spec: GoalSpec) -> dict[str, Any]:
    values: dict[str, Any] = {"delta": spec.delta, "seconds": spec.seconds, "is_inverse": int(spec.is_inverse),
                              "ignore_zero_days": int(spec.ignore_zero_days),
                              "improve_by_percent": spec.improve_by_percent, "is_enabled": int(spec.is_enabled),
                              "custom_title": spec.custom_title}
    for name in _LISTS:
        values[name] = json.dumps(list(getattr(spec, name)))
    return values


def _goal(row: tuple[Any, ...]) -> StoredGoal:
    data = dict(zip(_COLUMNS, row, strict=True))
    spec = GoalSpec(delta=data["delta"], seconds=data["seconds"], is_inverse=bool(data["is_inverse"]),
                    ignore_zero_days=bool(data["ignore_zero_days"]), improve_by_percent=data["improve_by_percent"],
                    is_enabled=bool(data["is_enabled"]), custom_title=data["custom_title"],
                    **{name: tuple(json.loads(data[name])) for name in _LISTS})
    return StoredGoal(id=data["public_id"], user_id=data["user_id"], spec=spec, created_at=data["created_at"],
                      modified_at=data["modified_at"])


def create_goal(conn: Connection, user_id: int, spec: GoalSpec, now: float) -> StoredGoal:
    values = {"public_id": str(uuid.uuid4()), "user_id": user_id, **_values(spec), "created_at": now}
    found = rows(conn, f"INSERT INTO goals ({', '.join(values)}) VALUES ({', '.join('%s' for _ in values)}) "
                       f"RETURNING {', '.join(_COLUMNS)}", list(values.values()))
    return _goal(found[0])


def list_goals(conn: Connection, user_id: int) -> list[StoredGoal]:
    return [_goal(row) for row in rows(conn, f"{_SELECT} WHERE user_id = %s ORDER BY id", (user_id,))]


def get_goal(conn: Connection, user_id: int, goal_id: str) -> StoredGoal | None:
    found = rows(conn, f"{_SELECT} WHERE user_id = %s AND public_id = %s", (user_id, goal_id))
    return _goal(found[0]) if found else None


def update_goal(conn: Connection, user_id: int, goal_id: str, spec: GoalSpec, now: float) -> StoredGoal:
    values = {**_values(spec), "modified_at": now}
    found = rows(conn, f"UPDATE goals SET {', '.join(f'{name} = %s' for name in values)} "
                       f"WHERE user_id = %s AND public_id = %s RETURNING {', '.join(_COLUMNS)}",
                 [*values.values(), user_id, goal_id])
    if not found:
        raise NotFoundError("no such goal")
    return _goal(found[0])


def delete_goal(conn: Connection, user_id: int, goal_id: str) -> bool:
    return execute(conn, "DELETE FROM goals WHERE user_id = %s AND public_id = %s", (user_id, goal_id)) > 0
