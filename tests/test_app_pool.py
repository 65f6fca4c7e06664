"""The test app pool (tests/app_pool.py) reuses an app for any settings equal in BUILD_SETTINGS: this checks, from
the source, that building an app reads no other setting, so a reused app is the one create_app would build."""

from __future__ import annotations

import inspect
import re

from hackatime_lite import app as app_module
from hackatime_lite import web
from tests.app_pool import BUILD_SETTINGS

# The functions that receive the settings while an app is built, and what each may pass them on to.
BUILDERS = {app_module.build_app: {"route_handlers"}, app_module.route_handlers: {"web_handlers"},
            web.web_handlers: {"csrf_secret"}}


def test_building_an_app_reads_only_the_pooled_settings() -> None:
    for builder, callees in BUILDERS.items():
        source = inspect.getsource(builder)
        read = set(re.findall(r"\bsettings\.(\w+)", source))
        assert read <= set(BUILD_SETTINGS), (builder.__name__, read - set(BUILD_SETTINGS))
        passed_to = set(re.findall(r"(\w+)\(settings\b", source)) - {builder.__name__}
        assert passed_to == callees, (builder.__name__, passed_to)
