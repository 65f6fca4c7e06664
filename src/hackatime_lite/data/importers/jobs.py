"""Background file imports for the API and dashboard: one thread per job, progress pollable by id."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackatime_lite.data.importers.common import ImportCancelled, ImportFailed, ImportProgress, ImportStats
from hackatime_lite.data.importers.files import import_file
from hackatime_lite.models import User
from hackatime_lite.store import StoreBackend

log = logging.getLogger(__name__)
MAX_FINISHED_JOBS = 100
# With a store shared by several nodes, a job's progress is published there at most this often (seconds).
PUBLISH_INTERVAL = 0.5


@dataclass
class ImportJob:
    id: str
    user_id: int
    format: str | None
    created_at: float
    state: str = "queued"  # queued, validating, importing, done, failed, cancelled
    bytes_done: int = 0
    bytes_total: int | None = None
    stats: ImportStats = field(default_factory=ImportStats)
    error: str | None = None
    finished_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "format": self.format, "created_at": self.created_at,
                "finished_at": self.finished_at, "bytes_done": self.bytes_done, "bytes_total": self.bytes_total,
                "error": self.error, **self.stats.to_dict()}


class ImportJobs:
    """Runs uploaded files through `import_file` in threads; the temp file is removed when the job ends."""

    def __init__(self, store: StoreBackend) -> None:
        self.store = store
        self._jobs: dict[str, ImportJob] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Several app nodes (PostgreSQL): the upload runs here, but its progress may be polled on any node.
        self._shared = store.shares_state
        self._published: dict[str, float] = {}

    def _publish(self, job: ImportJob, *, force: bool = False, finished_at: float | None = None) -> None:
        """With `finished_at` the final record (published before the job is finished here, so whoever sees
        it finished may read the final record on any node)."""
        if not self._shared:
            return
        now = time.time()
        if not force and now - self._published.get(job.id, 0.0) < PUBLISH_INTERVAL:
            return
        self._published[job.id] = now
        record = {**job.to_dict(), "user_id": job.user_id}
        if finished_at is not None:
            record["finished_at"] = finished_at
            self._published.pop(job.id, None)
        try:
            self.store.save_import_job(job.id, job.user_id, record, now)
        except Exception:  # the import goes on; other nodes see its progress a little later
            log.warning("could not publish the progress of import job %s", job.id, exc_info=True)

    def start(self, user: User, path: Path, fmt: str | None = None) -> ImportJob:
        job = ImportJob(id=str(uuid.uuid4()), user_id=user.id, format=fmt, created_at=time.time())
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        self._publish(job, force=True)
        threading.Thread(target=self._run, args=(job, user, path), name=f"import-{job.id[:8]}", daemon=True).start()
        return job

    def get(self, job_id: str, user_id: int) -> ImportJob | None:
        """The job if it belongs to user_id (someone else's job looks like no job)."""
        job = self._jobs.get(job_id)
        if job is None and self._shared:  # started on another node
            return _job_from_record(self.store.import_job(job_id, user_id))
        return job if job is not None and job.user_id == user_id else None

    def wait(self, job_id: str, timeout: float = 60.0) -> ImportJob | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self._jobs.get(job_id)
            if job is None or job.finished_at is not None:
                return job
            time.sleep(0.02)
        return self._jobs.get(job_id)

    def stop(self) -> None:
        self._stop.set()

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.finished_at), key=lambda j: j.finished_at or 0)
        for job in finished[:max(0, len(finished) - MAX_FINISHED_JOBS)]:
            del self._jobs[job.id]

    def _progress(self, job: ImportJob, progress: ImportProgress) -> None:
        job.state = "importing" if progress.phase == "done" else progress.phase
        job.bytes_done, job.bytes_total, job.stats = progress.done, progress.total, progress.stats
        self._publish(job)

    def _run(self, job: ImportJob, user: User, path: Path) -> None:
        try:
            job.stats = import_file(self.store, user, path, job.format,
                                    on_progress=lambda p: self._progress(job, p), should_stop=self._stop.is_set)
            job.state = "done"
        except ImportFailed as exc:
            job.state, job.error = "failed", str(exc)
        except ImportCancelled:
            job.state, job.error = "cancelled", "the server stopped during the import; upload again to finish"
        except Exception:  # a job thread must record its failure, never die silently
            log.exception("import job %s failed", job.id)
            job.state, job.error = "failed", "internal error during import"
        finally:
            finished_at = time.time()
            path.unlink(missing_ok=True)
            self._publish(job, force=True, finished_at=finished_at)
            job.finished_at = finished_at


def _job_from_record(record: dict[str, Any] | None) -> ImportJob | None:
    """An ImportJob from its published record (another node runs it), or None."""
    if record is None:
        return None
    stats = ImportStats(read=record.get("read", 0), inserted=record.get("inserted", 0),
                        duplicates=record.get("duplicates", 0), rejected=record.get("rejected", 0),
                        error_samples=list(record.get("error_samples") or []))
    return ImportJob(id=record["id"], user_id=record["user_id"], format=record.get("format"),
                     created_at=record["created_at"], state=record.get("state", "queued"),
                     bytes_done=record.get("bytes_done", 0), bytes_total=record.get("bytes_total"), stats=stats,
                     error=record.get("error"), finished_at=record.get("finished_at"))
