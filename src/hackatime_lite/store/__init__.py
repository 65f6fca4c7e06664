"""The store: the only source of truth, and the only code that speaks SQL to it.

Everything outside this package uses the StoreBackend interface; `Store` is the SQLite backend.
"""

from hackatime_lite.config import Settings
from hackatime_lite.store.interface import BackupCancelled, BackupError, StoreBackend, StoreClosed, UserError
from hackatime_lite.store.sqlite.store import SQLiteStore

Store = SQLiteStore


def open_store(settings: Settings, *, readonly: bool = False) -> StoreBackend:
    """The store the settings name: today the SQLite file in the data dir (a PostgreSQL URL will choose the
    PostgreSQL backend here, and nowhere else). `readonly` opens it without migrating or writing."""
    settings.paths.ensure()
    return SQLiteStore(settings.paths.database, readonly=readonly)


__all__ = ["BackupCancelled", "BackupError", "SQLiteStore", "Store", "StoreBackend", "StoreClosed", "UserError",
           "open_store"]
