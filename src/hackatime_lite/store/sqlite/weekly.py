"""The weekly report e-mail in SQLite: who opted in (`weekly_report_subscriptions`) and which ISO weeks each
user was already sent (`weekly_report_sends`), so the job sends at most one mail per user and week."""

from __future__ import annotations

import sqlite3

import sqlite_utils


def opted_in(conn: sqlite3.Connection, user_id: int) -> bool:
    return conn.execute("SELECT 1 FROM weekly_report_subscriptions WHERE user_id = ?", (user_id,)).fetchone() \
        is not None


def set_opt_in(db: sqlite_utils.Database, user_id: int, opt_in: bool, now: float) -> None:
    if opt_in:
        # Existing subscriptions keep their date; an unknown user fails the foreign key (nothing stored).
        db.execute("INSERT INTO weekly_report_subscriptions (user_id, subscribed_at) "
                   "SELECT ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) "
                   "ON CONFLICT(user_id) DO NOTHING", (user_id, now))
    else:
        db.execute("DELETE FROM weekly_report_subscriptions WHERE user_id = ?", (user_id,))


def subscribers(conn: sqlite3.Connection) -> list[int]:
    """Opted-in users that are not disabled, by id."""
    rows = conn.execute("SELECT s.user_id FROM weekly_report_subscriptions s JOIN users u ON u.id = s.user_id "
                        "WHERE u.is_disabled = 0 ORDER BY s.user_id").fetchall()
    return [row[0] for row in rows]


def claim_send(db: sqlite_utils.Database, user_id: int, week: str, now: float) -> bool:
    """Mark `week` as sent to the user; False when it already was (the caller then sends nothing)."""
    cursor = db.execute("INSERT INTO weekly_report_sends (user_id, week, sent_at) SELECT ?, ?, ? "
                        "WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1) "
                        "ON CONFLICT(user_id, week) DO NOTHING", (user_id, week, now))
    return cursor.rowcount == 1


def release_send(db: sqlite_utils.Database, user_id: int, week: str) -> None:
    db.execute("DELETE FROM weekly_report_sends WHERE user_id = ? AND week = ?", (user_id, week))


def sent_weeks(conn: sqlite3.Connection, user_id: int) -> list[str]:
    rows = conn.execute("SELECT week FROM weekly_report_sends WHERE user_id = ? ORDER BY week", (user_id,))
    return [row[0] for row in rows.fetchall()]
