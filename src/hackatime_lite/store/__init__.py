"""The store: the only source of truth, and the only code that speaks SQL to it.

Everything outside this package uses the StoreBackend interface; `Store` is the SQLite backend.
"""

from hackatime_lite.store.interface import BackupCancelled, BackupError, StoreBackend, StoreClosed, UserError
from hackatime_lite.store.sqlite.store import SQLiteStore

Store = SQLiteStore

__all__ = ["BackupCancelled", "BackupError", "SQLiteStore", "Store", "StoreBackend", "StoreClosed", "UserError"]
