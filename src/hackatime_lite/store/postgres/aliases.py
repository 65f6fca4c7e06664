"""A user's read-time rules in PostgreSQL (`alias_rules`), as store/sqlite/aliases.py: every statement is
scoped by the owner; adding a rule that exists returns the stored one.

`PostgresAliases` adds the StoreBackend's rule methods to PostgresStore (a base class of it).
"""

from __future__ import annotations

import time
from typing import Any

from hackatime_lite.store.postgres.base import Connection, execute, rows
from hackatime_lite.store.postgres.db import PostgresDatabase
from hackatime_lite.store.records import AliasRule, AliasRuleSpec

_SELECT = "SELECT id, user_id, kind, dimension, pattern, value, created_at FROM alias_rules"


def _rule(row: tuple[Any, ...]) -> AliasRule:
    id_, user_id, kind, dimension, pattern, value, created_at = row
    return AliasRule(id=int(id_), user_id=int(user_id), created_at=float(created_at),
                     spec=AliasRuleSpec(kind=kind, dimension=dimension, pattern=pattern, value=value))


def add_alias_rule(conn: Connection, user_id: int, spec: AliasRuleSpec, now: float) -> AliasRule:
    key = (user_id, spec.kind, spec.dimension, spec.pattern, spec.value)
    execute(conn, "INSERT INTO alias_rules (user_id, kind, dimension, pattern, value, created_at) "
                  "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", [*key, now])
    found = rows(conn, f"{_SELECT} WHERE user_id = %s AND kind = %s AND dimension = %s AND pattern = %s "
                       "AND value = %s", key)
    return _rule(found[0])


def list_alias_rules(conn: Connection, user_id: int) -> list[AliasRule]:
    return [_rule(row) for row in rows(conn, f"{_SELECT} WHERE user_id = %s ORDER BY id", (user_id,))]


def delete_alias_rule(conn: Connection, user_id: int, rule_id: int) -> bool:
    return execute(conn, "DELETE FROM alias_rules WHERE user_id = %s AND id = %s", (user_id, rule_id)) > 0


def excluded_projects(conn: Connection) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for user_id, pattern in rows(conn, "SELECT user_id, pattern FROM alias_rules WHERE kind = 'exclude' "
                                       "ORDER BY user_id, id"):
        found.setdefault(int(user_id), []).append(pattern)
    return found


class PostgresAliases(PostgresDatabase):
    def add_alias_rule(self, user_id: int, spec: AliasRuleSpec, *, now: float | None = None) -> AliasRule:
        moment = time.time() if now is None else now
        return self.write(lambda c: add_alias_rule(c, user_id, spec, moment))

    def list_alias_rules(self, user_id: int) -> list[AliasRule]:
        return self.read(lambda c: list_alias_rules(c, user_id))

    def delete_alias_rule(self, user_id: int, rule_id: int) -> bool:
        return self.write(lambda c: delete_alias_rule(c, user_id, rule_id))

    def excluded_projects(self) -> dict[int, list[str]]:
        return self.read(excluded_projects)
