"""Finished answers of polled reads, kept between requests and checked on the event loop.

Editor plugins poll the status bar every few seconds, and between two polls nothing has usually changed. An
answer is kept under a key (route, user, day, parameters) with what it was computed from — the user's
record and a `reports.ReadStamp` read before the computation (the store's change marks and the user's
rules) — and served again while a fresh stamp and record equal those: `reports.ReadStamp` says why that is
exactly the answer a fresh computation would give. So a repeated poll costs two small store reads on the
event loop instead of a hop to a worker thread, a replica sync check and the report's cache look-up.

Only for local stores (`params.local_reads`), and only after the caller was authenticated and rate-limited
as on every request: the cache holds answers, never the decision who may see them. The entries live on the
instance's AppContext and are touched only from its event loop.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, TypeVar

from hackatime_lite.context import AppContext

T = TypeVar("T")

# Entries kept (oldest dropped first). An entry is one user's answer (a status bar is ~0.5-3 kB of JSON).
MAX_ANSWERS = 2048


def get(ctx: AppContext, key: Hashable, valid_for: object) -> Any:
    """The answer kept under `key` if it was computed for `valid_for` (equal), else None."""
    entry = ctx.answers.get(key)
    if entry is None or entry[0] != valid_for:
        return None
    return entry[1]


def put(ctx: AppContext, key: Hashable, valid_for: object, answer: T) -> T:
    """Keep `answer` under `key` for `valid_for` (replacing an older one); returns it."""
    answers = ctx.answers
    answers.pop(key, None)  # re-inserted last: the oldest entries are the ones dropped
    answers[key] = (valid_for, answer)
    if len(answers) > MAX_ANSWERS:
        del answers[next(iter(answers))]
    return answer
