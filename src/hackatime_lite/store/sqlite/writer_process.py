"""Heartbeat inserts in a process of their own (issue 13: ingest).

In one process the request handling (the event loop) and the SQLite writer thread take turns holding the GIL:
a commit's statements wait for the loop, the loop's next requests wait for the commit, and a server on two cores
used little more than one. `serve` therefore starts a child process (writer_child.py) that owns a second write
connection and inserts the heartbeats, group by group, while the loop goes on reading requests; everything else
(users, keys, deletions, imports, jobs) still goes through the in-process writer, and SQLite's own lock orders
the two writers.

What stays the same: a request is answered only after its heartbeats are committed, with the same outcomes
(one transaction per group, the same heartbeats.insert_requests); a storage fault fails the request with
StoreUnavailable (503) and shows in health exactly as on the in-process path; the replica's feed of recent rows
(recent.py) gets each committed group with what it needs to stay exact.

If the child cannot start or stops, inserts go back to the in-process writer: the requests it was holding fail
with StoreUnavailable (their heartbeats may or may not be stored; clients send them again, and duplicates are
recognised), and the rest of the server's life uses the in-process path.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from hackatime_lite.store.interface import StoreUnavailable
from hackatime_lite.store.records import InsertOutcome
from hackatime_lite.store.sqlite.heartbeats import InsertRequest
from hackatime_lite.store.sqlite.writer_child import ARGUMENT
from hackatime_lite.store.sqlite.writer_frames import FrameReader, encode

log = logging.getLogger(__name__)

# Seconds a close waits for the child to answer what it holds and exit, before it is killed.
CLOSE_TIMEOUT = 30.0
# What a client is told to wait before sending again the heartbeats of a request the stopped child held.
RETRY_AFTER_SECONDS = 5
# A committed group for the replica's feed: (tombstone anchor, last id sequence or None, [(rows, outcomes)]).
GroupCallback = Callable[[int, "int | None", list[tuple[InsertRequest, list[InsertOutcome]]]], None]


def child_command() -> list[str]:
    """How to start the child: the one-file executable runs itself; otherwise this interpreter runs the package."""
    if getattr(sys, "frozen", False):
        return [sys.executable, ARGUMENT]
    return [sys.executable, "-m", "hackatime_lite", ARGUMENT]


class WriterProcess:
    """The parent's side: sends requests, resolves their futures from the child's answers."""

    def __init__(self, path: Path, *, on_group: GroupCallback, failure: Callable[[BaseException], BaseException],
                 on_success: Callable[[], None]) -> None:
        self.path = path
        self._on_group = on_group
        self._failure = failure
        self._on_success = on_success
        self._lock = threading.Lock()  # the pending table
        self._idle = threading.Condition(self._lock)
        # Sending has a lock of its own: the receiver never waits behind a send that waits for the child.
        self._send_lock = threading.Lock()
        self._pending: dict[int, tuple[InsertRequest, Future[list[InsertOutcome]]]] = {}
        self._next_seq = 0
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._receiver: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._settled = threading.Event()  # ready or stopped, whichever came first
        self._closing = False

    @property
    def running(self) -> bool:
        """Whether inserts go to the child (it answered ready and has not stopped)."""
        return self._ready.is_set() and not self._stopped.is_set()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 30.0) -> bool:
        """Start the child and wait until it is ready; False (logged) when it could not start."""
        parent, child = socket.socketpair()
        # Room for many requests in flight, so a send from the event loop does not wait for the child.
        parent.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        try:
            self._process = subprocess.Popen([*child_command(), str(child.fileno()), str(self.path)],
                                             pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
                                             start_new_session=True)
        except OSError as exc:
            log.warning("the heartbeat writer process could not start (%s); the server writes in-process", exc)
            parent.close()
            return False
        finally:
            child.close()
        self._sock = parent
        self._receiver = threading.Thread(target=self._receive, name="sqlite-writer-process", daemon=True)
        self._receiver.start()
        if not self._settled.wait(timeout) or not self.running:
            log.warning("the heartbeat writer process did not start; the server writes in-process")
            self._closing = True
            parent.shutdown(socket.SHUT_RDWR)  # the child (if it runs at all) reads the end and exits
            self._stop_child(timeout=5.0)
            return False
        return True

    def submit(self, request: InsertRequest) -> Future[list[InsertOutcome]] | None:
        """Send the request to the child; its future resolves after COMMIT. None when the child is not running
        (the caller uses the in-process writer)."""
        future: Future[list[InsertOutcome]] = Future()
        with self._lock:
            if not self.running or self._closing or self._sock is None:
                return None
            seq = self._next_seq = self._next_seq + 1
            frame = encode([seq, request.user_id, request.source, list(request.origins), request.when,
                            request.rows])
            self._pending[seq] = (request, future)
            sock = self._sock
        try:
            with self._send_lock:
                sock.sendall(frame)
        except OSError:
            with self._lock:
                taken = self._pending.pop(seq, None)
            # The child is gone. Unless the receiver failed it already, this request was never stored: the
            # caller's in-process writer takes it.
            return None if taken is not None else future
        return future

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every request sent so far is answered; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        """Let the child answer what it holds, then end it."""
        with self._lock:
            self._closing = True
            sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):  # the child reads to the end, answers, and exits
                sock.shutdown(socket.SHUT_WR)
        if self._receiver is not None:
            self._receiver.join(CLOSE_TIMEOUT)
        self._stop_child()

    # -- the receiver thread ----------------------------------------------------------------------------
    def _receive(self) -> None:
        assert self._sock is not None
        reader = FrameReader(self._sock)
        try:
            while (frames := reader.read()) is not None:
                for frame in frames:
                    self._answer(frame)
        except OSError:
            pass
        finally:
            self._stopped.set()
            self._settled.set()
            self._fail_pending()

    def _answer(self, frame: list[Any]) -> None:
        kind = frame[0]
        if kind == "ready":
            self._ready.set()
            self._settled.set()
            return
        if kind == "group":
            _, anchor, last_seq, answered = frame
            with self._lock:
                done = [(self._pending.pop(seq), [(row_id, created) for row_id, created in got])
                        for seq, got in answered]
            self._on_success()
            self._on_group(anchor, last_seq, [(request, outcomes) for (request, _), outcomes in done])
            for (_, future), outcomes in done:
                future.set_result(outcomes)
        else:  # "failed"
            _, seq, name, message, code = frame
            with self._lock:
                _, future = self._pending.pop(seq)
            future.set_exception(self._failure(_rebuilt_error(name, message, code)))
        with self._idle:
            if not self._pending:
                self._idle.notify_all()

    def _fail_pending(self) -> None:
        with self._lock:
            held = list(self._pending.values())
            self._pending.clear()
            self._idle.notify_all()
        if self._ready.is_set() and (held or not self._closing):
            log.warning("the heartbeat writer process stopped (%d requests unanswered); the server writes "
                        "in-process from now on", len(held))
        for _, future in held:
            future.set_exception(StoreUnavailable(
                "the server's heartbeat writer stopped; send these heartbeats again", retry_after=RETRY_AFTER_SECONDS))

    def _stop_child(self, timeout: float = CLOSE_TIMEOUT) -> None:
        process = self._process
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("the heartbeat writer process did not exit; killing it")
                process.kill()
                process.wait()
        if self._sock is not None:
            self._sock.close()


def _rebuilt_error(name: str, message: str, code: int | None) -> BaseException:
    """The child's exception as the in-process writer would have raised it: the sqlite3 class of that name
    with its error code (so storage faults map to StoreUnavailable the same way), else a RuntimeError."""
    kind = getattr(sqlite3, name, None)
    if isinstance(kind, type) and issubclass(kind, sqlite3.Error):
        error = kind(message)
        if code is not None:  # what storage_fault() reads
            error.sqlite_errorcode = code
        return error
    return RuntimeError(f"{name}: {message}")
