"""The weekly report e-mail in PostgreSQL: who opted in, and which ISO weeks each user was already sent (the
claim is one INSERT … ON CONFLICT DO NOTHING, so two nodes never both send a week)."""

from __future__ import annotations

from hackatime_lite.store.postgres.base import Connection, execute, one, rows


def opted_in(conn: Connection, user_id: int) -> bool:
    return one(conn, "SELECT 1 FROM weekly_report_subscriptions WHERE user_id = %s", (user_id,)) is not None


def set_opt_in(conn: Connection, user_id: int, opt_in: bool, now: float) -> None:
    if opt_in:
        execute(conn, "INSERT INTO weekly_report_subscriptions (user_id, subscribed_at) "
                      "SELECT %s, %s WHERE EXISTS (SELECT 1 FROM users WHERE id = %s) "
                      "ON CONFLICT (user_id) DO NOTHING", (user_id, now, user_id))
    else:
        execute(conn, "DELETE FROM weekly_report_subscriptions WHERE user_id = %s", (user_id,))


def subscribers(conn: Connection) -> list[int]:
    return [row[0] for row in rows(conn, "SELECT s.user_id FROM weekly_report_subscriptions s "
                                         "JOIN users u ON u.id = s.user_id WHERE u.is_disabled = 0 ORDER BY s.user_id")]


def claim_send(conn: Connection, user_id: int, week: str, now: float) -> bool:
    return execute(conn, "INSERT INTO weekly_report_sends (user_id, week, sent_at) SELECT %s, %s, %s "
                         "WHERE EXISTS (SELECT 1 FROM users WHERE id = %s) ON CONFLICT (user_id, week) DO NOTHING",
                   (user_id, week, now, user_id)) == 1


def release_send(conn: Connection, user_id: int, week: str) -> None:
    execute(conn, "DELETE FROM weekly_report_sends WHERE user_id = %s AND week = %s", (user_id, week))


def sent_weeks(conn: Connection, user_id: int) -> list[str]:
    return [row[0] for row in rows(conn, "SELECT week FROM weekly_report_sends WHERE user_id = %s "
                                         "ORDER BY week COLLATE \"C\"", (user_id,))]
