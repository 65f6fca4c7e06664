"""SQLite store: the only source of truth."""

from hackatime_lite.store.db import Store, StoreClosed

__all__ = ["Store", "StoreClosed"]
