"""Goal rows as both store backends write and read them: the same columns, JSON text for the lists and 0/1
for the flags, so one mapping serves SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from hackatime_lite.store.records import GoalSpec, StoredGoal

LISTS = ("languages", "projects", "editors", "categories", "ignore_days")
COLUMNS = ("public_id", "user_id", "delta", "seconds", "is_inverse", *LISTS, "ignore_zero_days",
            "improve_by_percent", "is_enabled", "custom_title", "created_at", "modified_at")
SELECT = f"SELECT {', '.join(COLUMNS)} FROM goals"


def goal_values(spec: GoalSpec) -> dict[str, Any]:
    values: dict[str, Any] = {"delta": spec.delta, "seconds": spec.seconds, "is_inverse": int(spec.is_inverse),
                              "ignore_zero_days": int(spec.ignore_zero_days),
                              "improve_by_percent": spec.improve_by_percent, "is_enabled": int(spec.is_enabled),
                              "custom_title": spec.custom_title}
    for name in LISTS:
        values[name] = json.dumps(list(getattr(spec, name)))
    return values


def goal_from_row(row: tuple[Any, ...]) -> StoredGoal:
    data = dict(zip(COLUMNS, row, strict=True))
    spec = GoalSpec(delta=data["delta"], seconds=data["seconds"], is_inverse=bool(data["is_inverse"]),
                    ignore_zero_days=bool(data["ignore_zero_days"]), improve_by_percent=data["improve_by_percent"],
                    is_enabled=bool(data["is_enabled"]), custom_title=data["custom_title"],
                    **{name: tuple(json.loads(data[name])) for name in LISTS})
    return StoredGoal(id=data["public_id"], user_id=data["user_id"], spec=spec, created_at=data["created_at"],
                      modified_at=data["modified_at"])
