"""Account data use cases: delete a user's heartbeats in a range, delete a whole account with its data.

Deletions go through store.heartbeats.delete_heartbeats in bounded chunks (the writer never blocks ingest for
long); the delete trigger leaves tombstones, so the analytics replica drops the same rows.
"""

from __future__ import annotations

from hackatime_lite.store import Store
from hackatime_lite.store.heartbeats import delete_heartbeats
from hackatime_lite.store.users import delete_user, get_user

DELETE_CHUNK = 5000


class AccountError(ValueError):
    """The deletion cannot be done as asked; the message is safe to show."""


def delete_heartbeats_in_range(store: Store, user_id: int, start: float | None = None,
                               end: float | None = None) -> int:
    """Delete the user's heartbeats with start <= time < end (either bound optional); returns how many."""
    deleted = 0
    low = float("-inf") if start is None else start
    high = float("inf") if end is None else end
    while True:
        ids = [r[0] for r in store.reader().execute(
            "SELECT id FROM heartbeats WHERE user_id = ? AND time >= ? AND time < ? LIMIT ?",
            (user_id, low, high, DELETE_CHUNK)).fetchall()]
        if not ids:
            return deleted
        deleted += store.write(lambda db, ids=ids: delete_heartbeats(db, user_id, start=start, end=end, ids=ids))


def delete_account(store: Store, user_id: int) -> int:
    """Delete the user, their keys, mirrors, outbox, import progress and heartbeats; returns heartbeats deleted."""
    if get_user(store.reader(), user_id) is None:
        raise AccountError("no such user")
    deleted = delete_heartbeats_in_range(store, user_id)

    def remove(db) -> int:  # type: ignore[no-untyped-def]
        # Rows that arrived since the chunks above go with the user (the cascade fires the same trigger).
        late = delete_heartbeats(db, user_id)
        db.execute("DELETE FROM kv WHERE key LIKE ?", (f"import_progress:{user_id}:%",))
        delete_user(db, user_id)
        return late

    return deleted + store.write(remove)
