"""A module the API imports on its first use rather than at start-up.

The read handlers call `reports`, which loads the analytics (numpy, DuckDB: ~0.1 s of CPU). `serve` opens the
replica in the background and answers meanwhile (app.create_app, replica_behind), so nothing the first answers
need may import them on the way: the modules that hold the read handlers name `reports` through a LazyModule,
and the replica's opener imports it beside the first requests.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name`: reading an attribute imports it (once; importlib's locks make a first import
    from two threads at once safe) and reads the attribute from it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:  # kept after the first import: renderers read attributes per entry
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)
