"""Compatibility shim for the legacy ``wakatime==13.1.0`` Python client.

Only ever put this directory on ``PYTHONPATH`` of the *subprocess* that runs
the legacy client (see ``tests/support/legacy_client.py``); it is imported
automatically at interpreter start-up because it is named ``sitecustomize``.

Why: the client vendors an old ``requests``/``urllib3`` that does
``from collections import Mapping`` (and ``MutableMapping``, ``Callable``...).
Those aliases were removed from ``collections`` in Python 3.10, so without
this shim the client dies with an ImportError (exit code 1) before doing
anything.  We re-export the ABCs from ``collections.abc``.
"""

import collections
import collections.abc

for _name in collections.abc.__all__:
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

del _name
