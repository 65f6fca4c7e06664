"""The C heap of a serving process: glibc's malloc arenas and free pages (issue 13, mixed load).

Measured under 60 s of mixed load on the 1M bench data (bench/mixed_load.py --trace: mallinfo2 every 5 s), the
bytes glibc held free inside its heaps grew from 17 to 39 MB while the bytes in use grew far less: each thread
that allocates gets an arena of its own (up to 8 per core), so a freed block can be reused only by its own
thread's later allocations, and free pages in the middle of a heap are kept until malloc_trim returns them.
The larger part was glibc's dynamic mmap threshold: a block of 128 kB or more is mmapped (and unmapped when
freed), but freeing one raises the threshold to its size, so from then on the per-user numpy columns
(analytics/user_rows.py: 1.6 MB for a user's 200k rows, a new array a little larger at every refresh) and their
temporaries came from the heaps, where each larger array fits in no hole the smaller ones left. With the threshold
fixed at MMAP_THRESHOLD (`limit_heaps`, unless MALLOC_MMAP_THRESHOLD_ is set) the same run's free-but-held bytes
stayed at 8-9 MB and RSS grew 21 MB after warm-up instead of 56-82 MB. Two arenas (unless MALLOC_ARENA_MAX is set)
and a trim every few seconds while syncs write (`trim`) keep the rest bounded. Python's own small objects
(pymalloc) and DuckDB (its own allocator) are not affected.

Everything here is a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading

log = logging.getLogger(__name__)

# mallopt's parameter numbers (glibc's malloc.h: M_MMAP_THRESHOLD, M_ARENA_MAX).
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Blocks from this size on are mmapped and returned to the system when freed (glibc's initial threshold; setting it
# turns off the dynamic raise). Costs page faults for large temporaries, a small price next to unbounded holes.
MMAP_THRESHOLD = 256 * 1024
_lock = threading.Lock()
_libc: ctypes.CDLL | None = None
_loaded = False


def _glibc() -> ctypes.CDLL | None:
    global _libc, _loaded
    with _lock:
        if not _loaded:
            _loaded = True
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                # Both exist only in glibc (musl, macOS: None, and nothing here does anything).
                libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
                libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
                _libc = libc
            except (OSError, AttributeError):
                _libc = None
        return _libc


def limit_heaps(arenas: int) -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD and cap its arenas at `arenas` for the threads that allocate
    from now on, each unless the operator set its environment variable (glibc read it at start; `arenas` 0: no
    cap); True if glibc took what was set."""
    libc = _glibc()
    if libc is None:
        return False
    done = True
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        done = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    if arenas > 0 and "MALLOC_ARENA_MAX" not in os.environ:
        done = libc.mallopt(_M_ARENA_MAX, arenas) == 1 and done
    return done


def trim() -> bool:
    """Give the free pages inside glibc's heaps back to the system; True if some were. Measured at 4-13 ms a call
    under the bench's mixed load (it walks every arena's free blocks), hence at most every few seconds."""
    libc = _glibc()
    return libc is not None and libc.malloc_trim(0) == 1
