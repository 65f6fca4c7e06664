"""What request handlers and jobs share: settings, the store, the clock (and later the replica)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hackatime_lite.config import Settings
from hackatime_lite.store import Store

Clock = Callable[[], float]


@dataclass
class AppContext:
    settings: Settings
    store: Store
    clock: Clock = time.time
    started_at: float = field(default_factory=time.time)
    # Filled in by later layers (analytics replica, scheduler, mirror) when the app starts.
    extras: dict[str, Any] = field(default_factory=dict)
