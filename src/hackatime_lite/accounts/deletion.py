"""Account data use cases: delete a user's heartbeats in a range, delete a whole account with its data.

Deletions go through the store in bounded chunks (the writer never blocks ingest for long); each deleted row
leaves a tombstone, so the analytics replica drops the same rows.
"""

from __future__ import annotations

from hackatime_lite.errors import InputError
from hackatime_lite.store import StoreBackend

DELETE_CHUNK = 5000


class AccountError(InputError):
    """The deletion cannot be done as asked; the message is safe to show."""


def delete_heartbeats_in_range(store: StoreBackend, user_id: int, start: float | None = None,
                               end: float | None = None) -> int:
    """Delete the user's heartbeats with start <= time < end (either bound optional); returns how many."""
    deleted = 0
    while True:
        ids = store.heartbeat_ids(user_id, start, end, limit=DELETE_CHUNK)
        if not ids:
            return deleted
        deleted += store.delete_heartbeats(user_id, start=start, end=end, ids=ids)


def delete_account(store: StoreBackend, user_id: int) -> int:
    """Delete the user, their keys, mirrors, outbox, import progress and heartbeats; returns heartbeats deleted."""
    if store.get_user(user_id) is None:
        raise AccountError("no such user")
    deleted = delete_heartbeats_in_range(store, user_id)
    # Rows that arrived since the chunks above go with the user, in the same transaction as the account.
    return deleted + store.delete_user(user_id)
