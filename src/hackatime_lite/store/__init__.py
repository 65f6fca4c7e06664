"""The store: the only source of truth, and the only code that speaks SQL to it.

Everything outside this package uses the StoreBackend interface; `Store` is the SQLite backend, and
store.postgres.store.PostgresStore the PostgreSQL one (`database_url`).
"""

from typing import TYPE_CHECKING, Any

from hackatime_lite.config import Settings
from hackatime_lite.store.interface import BackupCancelled, BackupError, StoreBackend, StoreClosed, UserError

if TYPE_CHECKING:
    from hackatime_lite.store.sqlite.store import SQLiteStore

    Store = SQLiteStore


def __getattr__(name: str) -> Any:
    # SQLiteStore (and its alias Store) load on first use: importing any store module (records, rules, the
    # interface) must not cost every CLI command sqlite-utils' import (`hackatime-lite --help` stays fast).
    if name in ("SQLiteStore", "Store"):
        from hackatime_lite.store.sqlite.store import SQLiteStore

        return SQLiteStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def store_exists(settings: Settings) -> bool:
    """Whether there is a store to open without creating one: the SQLite file exists, or a database URL is
    set (a PostgreSQL database is created by its operator, never by us)."""
    return bool(settings.database_url) or settings.paths.database.exists()


def open_store(settings: Settings, *, readonly: bool = False) -> StoreBackend:
    """The store the settings name: the SQLite file in the data dir, or the PostgreSQL database of
    `database_url` (chosen here and nowhere else). `readonly` opens it without migrating or writing."""
    settings.paths.ensure()
    if settings.database_url:
        # Imported only when chosen: a SQLite instance never loads the PostgreSQL driver.
        from hackatime_lite.store.postgres.store import PostgresStore

        return PostgresStore(settings.database_url, readonly=readonly)
    from hackatime_lite.store.sqlite.store import SQLiteStore

    return SQLiteStore(settings.paths.database, readonly=readonly)


__all__ = ["BackupCancelled", "BackupError", "SQLiteStore", "Store", "StoreBackend", "StoreClosed", "UserError",
           "open_store", "store_exists"]
