"""Helpers every benchmark script uses: a free local port for a server process, and latency percentiles.

Imported as `from measure import ...`: the scripts run as `.venv/bin/python bench/<name>.py`, which puts
this folder first on sys.path."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank: the value at index q*n of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
