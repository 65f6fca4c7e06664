"""Failed-login counting per username and per client address in a sliding window (transport-free)."""

from __future__ import annotations

import threading
from collections import deque


class LoginThrottle:
    """Counts failed logins per username and per client address in a sliding window.

    Litestar's rate-limit middleware counts every request per client; brute force is about *failures*,
    and per account as much as per address, so this small counter is kept here.
    """

    def __init__(
        self, *, per_user: int = 5, per_address: int = 20, window: float = 900.0, max_keys: int = 10_000
    ) -> None:
        self.per_user, self.per_address, self.window, self.max_keys = per_user, per_address, window, max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def retry_after(self, username: str, address: str, now: float) -> int:
        """Seconds until another attempt is allowed (0 = allowed now)."""
        with self._lock:
            waits = []
            for key, limit in (
                (("user", username.lower()), self.per_user),
                (("addr", address), self.per_address),
            ):
                stamps = self._recent(key, now)
                if len(stamps) >= limit:
                    waits.append(stamps[0] + self.window - now)
            return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, username: str, address: str, now: float) -> None:
        with self._lock:
            if len(self._failures) >= self.max_keys:
                # Forget the stalest counters rather than grow without bound under a spray of names.
                for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[: self.max_keys // 10]:
                    del self._failures[key]
            for key in (("user", username.lower()), ("addr", address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username.lower()), None)
