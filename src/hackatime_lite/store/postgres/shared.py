"""State every node must see the same (PostgreSQL only): abuse-limit counters, token buckets, job leases.

Each operation is one statement (an upsert with RETURNING), so concurrent nodes serialise on the row and
never lose an update. Times are wall-clock seconds: every node's clock is the same clock."""

from __future__ import annotations

from hackatime_lite.store.postgres.base import Connection, execute, one

_TAKE_TOKEN = """
INSERT INTO shared_counters AS c (scope, key, level, last) VALUES (%(scope)s, %(key)s, %(capacity)s - 1, %(now)s)
ON CONFLICT (scope, key) DO UPDATE SET
    level = CASE WHEN LEAST(%(capacity)s, c.level + GREATEST(0, %(now)s - c.last) * %(rate)s) >= 1
                 THEN LEAST(%(capacity)s, c.level + GREATEST(0, %(now)s - c.last) * %(rate)s) - 1
                 ELSE LEAST(%(capacity)s, c.level + GREATEST(0, %(now)s - c.last) * %(rate)s) END,
    count = CASE WHEN LEAST(%(capacity)s, c.level + GREATEST(0, %(now)s - c.last) * %(rate)s) >= 1 THEN 0 ELSE 1 END,
    last = %(now)s
RETURNING count, level
"""


def take_token(conn: Connection, scope: str, key: str, *, capacity: float, rate: float, now: float) -> float:
    """Spend one token of the (scope, key) bucket: 0.0 when granted, else the seconds until one is there."""
    row = one(conn, _TAKE_TOKEN, {"scope": scope, "key": key, "capacity": float(capacity), "rate": float(rate),
                                  "now": float(now)})
    assert row is not None
    refused, level = row
    return 0.0 if not refused else (1.0 - level) / rate


_FAIL = """
INSERT INTO shared_counters AS c (scope, key, count, last, until) VALUES (%(scope)s, %(key)s, 1, %(now)s, %(until1)s)
ON CONFLICT (scope, key) DO UPDATE SET
    count = CASE WHEN %(now)s - c.last > %(window)s THEN 1 ELSE c.count + 1 END,
    until = CASE WHEN %(now)s - c.last > %(window)s THEN %(until1)s
                 WHEN c.count + 1 > %(free)s
                 THEN %(now)s + LEAST(%(backoff_max)s, power(2.0, LEAST(c.count + 1 - %(free)s - 1, 64)))
                 ELSE c.until END,
    last = %(now)s
"""


def count_failure(conn: Connection, scope: str, key: str, *, free: int, backoff_max: float, window: float,
                  now: float) -> None:
    """One more failure for (scope, key): past `free` failures the key waits 1 s, 2 s, 4 s … up to
    `backoff_max` after each; the count starts over `window` seconds after the newest failure."""
    until1 = now + min(backoff_max, 1.0) if free < 1 else now
    execute(conn, _FAIL, {"scope": scope, "key": key, "now": float(now), "until1": float(until1),
                          "window": float(window), "free": int(free), "backoff_max": float(backoff_max)})


def failure_wait(conn: Connection, scope: str, keys: list[str], *, window: float, now: float) -> float:
    """Seconds until the longest wait of any of `keys` ends (0 = now)."""
    row = one(conn, "SELECT max(until - %s) FROM shared_counters WHERE scope = %s AND key = ANY(%s) "
                    "AND %s - last <= %s", (float(now), scope, keys, float(now), float(window)))
    return max(0.0, float(row[0])) if row and row[0] is not None else 0.0


def clear_failures(conn: Connection, scope: str, key: str) -> None:
    execute(conn, "DELETE FROM shared_counters WHERE scope = %s AND key = %s", (scope, key))


def purge_counters(conn: Connection, older_than: float) -> int:
    return execute(conn, "DELETE FROM shared_counters WHERE last < %s AND until < %s", (older_than, older_than))


def try_job_lease(conn: Connection, name: str, node_id: str, *, ttl: float, now: float) -> bool:
    """Take or renew the lease on `name` for `ttl` seconds: granted when free, expired or already ours."""
    row = one(conn, """INSERT INTO job_leases AS l (name, node_id, expires_at, acquired_at) VALUES (%s, %s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at,
            acquired_at = CASE WHEN l.node_id = excluded.node_id THEN l.acquired_at ELSE excluded.acquired_at END
        WHERE l.node_id = excluded.node_id OR l.expires_at <= %s
        RETURNING node_id""", (name, node_id, now + ttl, now, now))
    return row is not None


def release_job_lease(conn: Connection, name: str, node_id: str) -> None:
    execute(conn, "DELETE FROM job_leases WHERE name = %s AND node_id = %s", (name, node_id))
