"""The import sink: ingest's normalisation and dedup hash, written in chunks, with counts and progress."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hackatime_lite.errors import InputError
from hackatime_lite.ingest import IngestContext, ItemRejected, Normaliser, dedup_hash
from hackatime_lite.models import User
from hackatime_lite.store import StoreBackend
from hackatime_lite.store.records import HeartbeatRow, heartbeat_row

IMPORT_SOURCE = "import"
TEST_SOURCE = "test"
CHUNK_ROWS = 2000
MAX_ERROR_SAMPLES = 20


class ImportFailed(InputError):
    """The input cannot be imported as a whole (malformed file, unreachable upstream…); safe to show."""


class ImportCancelled(RuntimeError):
    """The import was asked to stop."""


@dataclass
class ImportStats:
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    error_samples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "inserted": self.inserted, "duplicates": self.duplicates,
                "rejected": self.rejected, "error_samples": list(self.error_samples)}


@dataclass
class ImportProgress:
    phase: str  # "validating", "importing" or "done"
    done: int
    total: int | None
    stats: ImportStats


ProgressFn = Callable[[ImportProgress], None]


def no_progress(_: ImportProgress) -> None:
    return None


class ImportSink:
    """Normalises items exactly like ingest and inserts them in chunks; duplicates are skipped by hash."""

    def __init__(self, store: StoreBackend, user: User, *, chunk_rows: int = CHUNK_ROWS, now: float | None = None,
                 should_stop: Callable[[], bool] | None = None, keep_test_source: bool = False) -> None:
        self.store = store
        # An item marked source `test` (our own exports carry the column) stays `test`, so `doctor`'s probe
        # heartbeats stay out of every figure after a move; everything else becomes `import`.
        self._keep_test_source = keep_test_source
        self.stats = ImportStats()
        self._ctx = IngestContext(user=user, source=IMPORT_SOURCE, now=now if now is not None else time.time())
        self._normaliser = Normaliser(self._ctx, lambda: store.latest_heartbeat_fields(user.id))
        self._rows: list[HeartbeatRow] = []
        self._chunk_rows = chunk_rows
        self._should_stop = should_stop or (lambda: False)

    def add(self, item: Any) -> None:
        self.stats.read += 1
        try:
            hb = self._normaliser.normalise(item)
        except ItemRejected as exc:
            self.stats.rejected += 1
            if len(self.stats.error_samples) < MAX_ERROR_SAMPLES:
                self.stats.error_samples.append(f"item {self.stats.read}: {exc}")
            return
        if self._keep_test_source and isinstance(item, dict) and item.get("source") == TEST_SOURCE:
            hb.source = TEST_SOURCE
        self._rows.append(heartbeat_row(hb, dedup_hash(hb), self._ctx.now))
        if len(self._rows) >= self._chunk_rows:
            self.flush()

    def flush(self) -> None:
        if self._should_stop():
            raise ImportCancelled("import cancelled")
        if not self._rows:
            return
        rows, self._rows = self._rows, []
        inserted = self.store.import_heartbeats(rows)
        self.stats.inserted += inserted
        self.stats.duplicates += len(rows) - inserted


class CountingReader(io.RawIOBase):
    """A binary file wrapper counting the bytes read, for progress bars over streamed parsers."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data
