"""The SQLite backend (default, embedded): sqlite-utils over the standard library's sqlite3."""
