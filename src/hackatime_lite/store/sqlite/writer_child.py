"""The heartbeat writer process: the child side of writer_process.py.

It owns one write connection and does one thing: insert the heartbeat requests `serve` sends it
(writer_frames.py), each group of requests waiting on the socket in one transaction (heartbeats.insert_requests,
the same function and the same SQL as the in-process writer), and answer after COMMIT. It holds no lock on the
data dir and no state besides the connection: it ends when the parent closes its end of the socket (also when
the parent dies), after answering every request it received.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

import sqlite_utils

from hackatime_lite.store.sqlite import heartbeats, recent
from hackatime_lite.store.sqlite.db import MAX_JOBS_PER_COMMIT, connect, storage_fault
from hackatime_lite.store.sqlite.writer_frames import FrameReader, encode

# The argument that makes `hackatime-lite` (or `python -m hackatime_lite`) run this instead of a command.
ARGUMENT = "--sqlite-writer"


def main(argv: list[str]) -> int:
    """`<program> --sqlite-writer FD PATH`: serve the writer socket inherited as FD for the database at PATH."""
    # The parent decides when this process ends (by closing the socket): a terminal's Ctrl-C or a service
    # manager's SIGTERM to the whole group must not cut a transaction short under requests not yet answered.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd, path = int(argv[0]), Path(argv[1])
    sock = socket.socket(fileno=fd)
    conn = connect(path, autocheckpoint=False)  # the parent's checkpointer thread checkpoints the WAL
    try:
        serve(sock, conn)
    finally:
        conn.close()
        sock.close()
    return 0


def serve(sock: socket.socket, conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn)
    sock.sendall(encode(["ready"]))
    reader = FrameReader(sock)
    while (frames := reader.read(MAX_JOBS_PER_COMMIT)) is not None:
        replies = b"".join(encode(reply) for reply in commit(conn, db, frames))
        try:
            sock.sendall(replies)
        except OSError:  # the parent is gone: nobody waits for an answer
            return


def commit(conn: sqlite3.Connection, db: sqlite_utils.Database, frames: list[Any]) -> list[list[Any]]:
    """Insert the requests of `frames` in one transaction; the replies. When it fails for a reason of one
    request rather than of the storage, each request is tried again in a transaction of its own, so a bad
    request fails alone (as the in-process writer's savepoints do)."""
    requests = [heartbeats.InsertRequest(rows, user_id, source, tuple(origins), when)
                for _, user_id, source, origins, when, rows in frames]
    try:
        conn.execute("BEGIN IMMEDIATE")
        anchor, outcomes, last_seq = recent.insert_requests_marked(db, requests, anchor=True, last_seq=True)
        conn.execute("COMMIT")
    except Exception as exc:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if len(frames) > 1 and storage_fault(exc) is None:
            return [reply for frame in frames for reply in commit(conn, db, [frame])]
        code = exc.sqlite_errorcode if isinstance(exc, sqlite3.Error) else None
        return [["failed", frame[0], type(exc).__name__, str(exc), code] for frame in frames]
    return [["group", anchor, last_seq, [[frame[0], got] for frame, got in zip(frames, outcomes, strict=True)]]]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
