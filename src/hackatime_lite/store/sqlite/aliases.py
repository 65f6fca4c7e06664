"""A user's read-time rules in SQLite (`alias_rules`): aliases, labels, language mappings, exclusions. Every
statement is scoped by the owner, so another user's rule id finds nothing. Adding a rule that exists returns
the stored one (the table is unique on the whole rule), so a repeated add is harmless.

`SQLiteAliases` adds the StoreBackend's rule methods to SQLiteStore (a base class of it).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import sqlite_utils

from hackatime_lite.store.records import AliasRule, AliasRuleSpec
from hackatime_lite.store.sqlite.db import SQLiteDatabase

_SELECT = "SELECT id, user_id, kind, dimension, pattern, value, created_at FROM alias_rules"


def _rule(row: tuple[Any, ...]) -> AliasRule:
    id_, user_id, kind, dimension, pattern, value, created_at = row
    return AliasRule(id=id_, user_id=user_id, created_at=created_at,
                     spec=AliasRuleSpec(kind=kind, dimension=dimension, pattern=pattern, value=value))


def add_alias_rule(db: sqlite_utils.Database, user_id: int, spec: AliasRuleSpec, now: float) -> AliasRule:
    key = (user_id, spec.kind, spec.dimension, spec.pattern, spec.value)
    db.execute("INSERT INTO alias_rules (user_id, kind, dimension, pattern, value, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", [*key, now])
    row = db.execute(f"{_SELECT} WHERE user_id = ? AND kind = ? AND dimension = ? AND pattern = ? AND value = ?",
                     key).fetchone()
    assert row is not None  # inserted or already there, in this transaction
    return _rule(row)


def list_alias_rules(conn: sqlite3.Connection, user_id: int) -> list[AliasRule]:
    """Oldest first: the order rules were added in is the order wildcard rules are tried in."""
    return [_rule(row) for row in conn.execute(f"{_SELECT} WHERE user_id = ? ORDER BY id", (user_id,))]


def excluded_projects(conn: sqlite3.Connection) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for user_id, pattern in conn.execute("SELECT user_id, pattern FROM alias_rules WHERE kind = 'exclude' "
                                         "ORDER BY user_id, id"):
        found.setdefault(user_id, []).append(pattern)
    return found


def delete_alias_rule(db: sqlite_utils.Database, user_id: int, rule_id: int) -> bool:
    return db.execute("DELETE FROM alias_rules WHERE user_id = ? AND id = ?", (user_id, rule_id)).rowcount > 0


class SQLiteAliases(SQLiteDatabase):
    """The StoreBackend's rule methods on the SQLite file (reads on this thread's reader, writes as one job)."""

    def add_alias_rule(self, user_id: int, spec: AliasRuleSpec, *, now: float | None = None) -> AliasRule:
        moment = time.time() if now is None else now
        return self.write(lambda db: add_alias_rule(db, user_id, spec, moment))

    def list_alias_rules(self, user_id: int) -> list[AliasRule]:
        return list_alias_rules(self.reader(), user_id)

    def delete_alias_rule(self, user_id: int, rule_id: int) -> bool:
        return self.write(lambda db: delete_alias_rule(db, user_id, rule_id))

    def excluded_projects(self) -> dict[int, list[str]]:
        return excluded_projects(self.reader())
