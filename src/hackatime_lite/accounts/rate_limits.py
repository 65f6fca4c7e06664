"""Request-rate limits for the API (transport-free): token buckets per API key and per client address.

Litestar ships a RateLimitMiddleware, but it counts every request per client before authentication (so it
cannot tell a valid key from a guessed one, nor limit per key), reads the wall clock itself, keeps its state
in a Litestar store rather than on the AppContext, and answers 429 without `Retry-After`. A token bucket is
a few lines, so it lives here and the API calls it after looking the key up.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hackatime_lite.config import Settings

if TYPE_CHECKING:  # annotations only
    from hackatime_lite.store.interface import StoreBackend


def retry_after_seconds(wait: float) -> int:
    """A wait as the whole number of seconds `Retry-After` carries: rounded up, at least 1."""
    return max(1, math.ceil(wait))


class TokenBuckets:
    """`per_minute` requests per key per minute, in bursts of up to `per_minute` (a token bucket per key).

    A bucket starts full, so a client that was quiet may send a whole minute's worth at once (wakatime-cli
    flushing its offline queue), and refills steadily. `per_minute <= 0` turns the limit off. Buckets are
    kept for at most `max_keys` keys: full ones are dropped first (they are the same as no bucket), then
    the least recently used, so a spray of addresses cannot grow memory without bound.

    With a `store` whose `shares_state` is true (PostgreSQL: several app nodes) the buckets live in the store
    under `scope`, so a client gets one budget however the load balancer spreads its requests; otherwise
    they stay in this process. The store gets wall-clock times (the limiter's clock is monotonic).
    """

    def __init__(self, per_minute: int, *, max_keys: int = 10_000, store: StoreBackend | None = None,
                 scope: str = "api") -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_keys = max_keys
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()
        self.shared_store = store if store is not None and store.shares_state else None
        self.scope = scope
        self._wall_offset = time.time() - time.monotonic()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def _tokens(self, key: Hashable, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.capacity, now))
        # max(0, …): the limiter clock is monotonic, but a test's fake clock may step back.
        return min(self.capacity, tokens + max(0.0, now - at) * self.rate)

    def take(self, key: Hashable, now: float) -> float:
        """Spend one token for `key`: 0.0 if the request may go ahead, else the seconds until it may."""
        if not self.enabled:
            return 0.0
        if self.shared_store is not None:
            return self.shared_store.take_token(self.scope, repr(key), per_minute=int(self.capacity),
                                                now=now + self._wall_offset)
        with self._lock:
            tokens = self._tokens(key, now)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                self._buckets.move_to_end(key)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            self._buckets.move_to_end(key)
            if len(self._buckets) > self.max_keys:
                self._shrink(now)
            return 0.0

    def _shrink(self, now: float) -> None:
        for stale in [k for k in self._buckets if self._tokens(k, now) >= self.capacity]:
            del self._buckets[stale]
        while len(self._buckets) > self.max_keys * 9 // 10:
            self._buckets.popitem(last=False)


@dataclass
class RateLimits:
    """The API's limits for one running instance (held by `AppContext.rate_limits`)."""

    ingest: TokenBuckets  # per API key: heartbeats and every other write
    read: TokenBuckets  # per API key: every GET
    anonymous_read: TokenBuckets  # per client address: reads of publicly shared stats without a key
    bad_keys: TokenBuckets  # per client address: requests whose key matches no key (guessing)
    plugin_errors: TokenBuckets  # per client address: wakatime-cli's unauthenticated diagnostics

    @classmethod
    def from_settings(cls, settings: Settings, store: StoreBackend | None = None) -> RateLimits:
        """`store`: the instance's store; its buckets are used when several nodes share it."""
        return cls(
            ingest=TokenBuckets(settings.api_ingest_per_minute, store=store, scope="ingest"),
            read=TokenBuckets(settings.api_read_per_minute, store=store, scope="read"),
            anonymous_read=TokenBuckets(settings.api_read_per_minute, store=store, scope="anonymous_read"),
            bad_keys=TokenBuckets(settings.api_bad_keys_per_minute, store=store, scope="bad_keys"),
            plugin_errors=TokenBuckets(settings.plugin_errors_per_minute, store=store, scope="plugin_errors"),
        )
