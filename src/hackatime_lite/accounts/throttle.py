"""Failed-login throttling per (client address, username) and per client address, with exponential backoff
(transport-free)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hackatime_lite.config import Settings

if TYPE_CHECKING:  # annotations only
    from hackatime_lite.store.interface import StoreBackend

# The scope of the login counters in a shared store.
SHARED_SCOPE = "login"


@dataclass
class _Failures:
    count: int
    last: float  # time of the newest failure
    until: float  # no attempt is answered before this time


class LoginThrottle:
    """Counts failed logins per (address, username) and per address; makes a failing address wait.

    Every counter includes the client address, so nobody can lock an account for others: the right password
    from an address that has not failed always gets in, however hard another address is guessing. An
    address may fail `free_per_user` times for one username, and `free_per_address` times over all
    usernames (a spray), before it has to wait: 1 s after the next failure, then 2 s, 4 s … up to
    `backoff_max`. Failures are forgotten `window` seconds after the newest one. A successful login clears
    that address's count for that username but not its address-wide count, so an attacker who owns one
    account cannot reset a spray by logging into it.

    Litestar's rate-limit middleware counts every request per client; brute force is about *failures*, so
    this small counter is kept here.

    With a `store` whose `shares_state` is true (PostgreSQL: several app nodes), the counters live in the
    store, so a guesser cannot spread attempts over the nodes; otherwise they stay in this process (no
    database round trip). The limiter's monotonic `now` is turned into wall-clock time for the store: the
    one clock every node shares.
    """

    def __init__(
        self,
        *,
        free_per_user: int = 3,
        free_per_address: int = 20,
        backoff_max: float = 900.0,
        window: float = 3600.0,
        max_keys: int = 10_000,
        store: StoreBackend | None = None,
    ) -> None:
        self.free_per_user, self.free_per_address = free_per_user, free_per_address
        self.backoff_max, self.window, self.max_keys = backoff_max, max(window, backoff_max), max_keys
        self._failures: OrderedDict[tuple[str, ...], _Failures] = OrderedDict()
        self._lock = threading.Lock()
        self.shared_store = store if store is not None and store.shares_state else None
        self._wall_offset = time.time() - time.monotonic()

    @classmethod
    def from_settings(cls, settings: Settings, store: StoreBackend | None = None) -> LoginThrottle:
        return cls(
            free_per_user=settings.login_free_failures,
            free_per_address=settings.login_free_failures_per_address,
            backoff_max=settings.login_backoff_max,
            window=settings.login_failure_window,
            store=store,
        )

    @staticmethod
    def _shared_keys(username: str, address: str) -> tuple[tuple[str, str], ...]:
        return (f"pair:{address}:{username.lower()}", "user"), (f"addr:{address}", "address")

    @staticmethod
    def _keys(username: str, address: str) -> tuple[tuple[tuple[str, ...], str], ...]:
        return (("pair", address, username.lower()), "user"), (("addr", address), "address")

    def _limit(self, kind: str) -> int:
        return self.free_per_user if kind == "user" else self.free_per_address

    def _current(self, key: tuple[str, ...], now: float) -> _Failures | None:
        found = self._failures.get(key)
        if found is not None and now - found.last > self.window:
            del self._failures[key]
            return None
        return found

    def retry_after(self, username: str, address: str, now: float) -> float:
        """Seconds until this address may try this username again (0 = now)."""
        if self.shared_store is not None:
            shared_keys = [shared_key for shared_key, _ in self._shared_keys(username, address)]
            return self.shared_store.failure_wait(SHARED_SCOPE, shared_keys, window=self.window,
                                                  now=now + self._wall_offset)
        with self._lock:
            waits = [f.until - now for key, _ in self._keys(username, address) if (f := self._current(key, now))]
            return max([0.0, *waits])

    def failed(self, username: str, address: str, now: float) -> None:
        if self.shared_store is not None:
            for shared_key, shared_kind in self._shared_keys(username, address):
                self.shared_store.count_failure(SHARED_SCOPE, shared_key, free=self._limit(shared_kind),
                                                backoff_max=self.backoff_max, window=self.window,
                                                now=now + self._wall_offset)
            return
        with self._lock:
            for key, kind in self._keys(username, address):
                found = self._current(key, now) or _Failures(count=0, last=now, until=now)
                found.count += 1
                found.last = now
                over = found.count - self._limit(kind)
                if over > 0:
                    found.until = now + min(self.backoff_max, 2.0 ** min(over - 1, 64))
                self._failures[key] = found
                self._failures.move_to_end(key)
            if len(self._failures) > self.max_keys:
                self._shrink(now)

    def succeeded(self, username: str, address: str) -> None:
        if self.shared_store is not None:
            self.shared_store.clear_failures(SHARED_SCOPE, self._shared_keys(username, address)[0][0])
            return
        with self._lock:
            self._failures.pop(("pair", address, username.lower()), None)

    def _shrink(self, now: float) -> None:
        # Forget what has expired, then the records failed longest ago (the front of the ordered dict), so a
        # spray of names or addresses cannot grow memory without bound.
        for key in [k for k, f in self._failures.items() if now - f.last > self.window]:
            del self._failures[key]
        while len(self._failures) > self.max_keys * 9 // 10:
            self._failures.popitem(last=False)
