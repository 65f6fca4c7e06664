"""The frames `serve` and its heartbeat writer process exchange over one stream socket (writer_process.py).

A frame is a 4-byte big-endian length and a msgpack body. The parent sends one frame per request:
`[seq, user_id, source, origins, when, rows]` (rows in HEARTBEAT_COLUMNS order: str, int, float, None and the
dedup hash as bytes, all of which msgpack carries exactly). The child answers:

- `["ready"]` once its connection is open;
- `["group", anchor, last_seq, [[seq, [[id, created], ...]], ...]]` per committed transaction: the tombstone
  sequence read inside it before the insert, the heartbeat id sequence after it when a row was skipped as a
  duplicate (else None), and each request's outcomes (recent.py needs all three to keep its memory exact);
- `["failed", seq, error class name, message, SQLite error code or None]` per request that was not stored.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import msgspec

_LENGTH = struct.Struct(">I")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()
# Bytes asked of the socket per receive: a frame of 25 heartbeats is ~8 KB.
_RECEIVE_BYTES = 1 << 18


def encode(message: Any) -> bytes:
    body = _encoder.encode(message)
    return _LENGTH.pack(len(body)) + body


class FrameReader:
    """Whole frames from a stream socket, read in large pieces."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._closed = False

    def read(self, limit: int = 1 << 30) -> list[Any] | None:
        """Wait for at least one frame, then take as well those already received, at most `limit` in all;
        None once the peer has closed its end and every whole frame was returned."""
        frames = self._take(limit)
        while not frames:
            if not self._receive(block=True):
                return None
            frames = self._take(limit)
        while len(frames) < limit and self._receive(block=False):
            frames += self._take(limit - len(frames))
        return frames

    def _receive(self, *, block: bool) -> bool:
        """Append what the socket holds (waiting for something when `block`); False at the end of the stream
        or when nothing is there to take without waiting."""
        if self._closed:
            return False
        try:
            chunk = self._sock.recv(_RECEIVE_BYTES, 0 if block else socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        if not chunk:
            self._closed = True
            return False
        self._buffer += chunk
        return True

    def _take(self, limit: int) -> list[Any]:
        frames: list[Any] = []
        buffer = self._buffer
        offset = 0
        while len(frames) < limit and len(buffer) - offset >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, offset)
            end = offset + _LENGTH.size + length
            if len(buffer) < end:
                break
            with memoryview(buffer) as view:  # released before the buffer is cut below
                frames.append(_decoder.decode(view[offset + _LENGTH.size:end]))
            offset = end
        if offset:
            del buffer[:offset]
        return frames
