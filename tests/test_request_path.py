"""The read handlers' request path (issue 13): the worker-thread hop of api/params.in_thread and the memoised
pieces of the WakaTime rendering behave exactly like the plain code they replace."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import threading

import pytest

from hackatime_lite.api import params
from hackatime_lite.api.wakatime import render
from hackatime_lite.models import DayReport
from hackatime_lite.text import formatting

_WHO = contextvars.ContextVar("who", default="nobody")


def test_in_thread_runs_off_the_loop_with_the_callers_context() -> None:
    def blocking(a: int, *, b: int) -> tuple[int, str, int]:
        return threading.get_ident(), _WHO.get(), a + b

    async def main() -> tuple[int, tuple[int, str, int]]:
        _WHO.set("caller")
        return threading.get_ident(), await params.in_thread(blocking)(2, b=3)

    loop_thread, (worker_thread, seen, total) = asyncio.run(main())
    assert worker_thread != loop_thread
    assert (seen, total) == ("caller", 5)


def test_in_thread_raises_the_handlers_exception() -> None:
    def failing() -> None:
        raise params.BadRequest("no")

    with pytest.raises(params.BadRequest, match="no"):
        asyncio.run(params.in_thread(failing)())


def test_day_range_is_formatted_like_the_report_and_never_shared() -> None:
    day = dt.date(2024, 3, 31)  # a DST change in Berlin: 23 hours
    start, end = 1711839600.0, 1711922400.0
    report = DayReport(date=day, start=start, end=end, timezone="Europe/Berlin", grand_total=formatting.total(0),
                       breakdowns={})
    first = render.day_range(report)
    assert first == {"date": "2024-03-31", "start": formatting.iso_utc(start), "end": formatting.iso_utc(end - 1),
                     "text": formatting.day_text(day), "timezone": "Europe/Berlin"}
    first["text"] = "changed by one response"
    assert render.day_range(report)["text"] == formatting.day_text(day)


def test_iso_now_is_iso_utc_of_the_whole_second() -> None:
    for now in (0.0, 1711839600.25, 1711839600.999, 1711839601.0):
        assert render.iso_now(now) == formatting.iso_utc(now)


def test_stable_id_is_the_uuid5_of_the_joined_parts() -> None:
    import uuid

    from hackatime_lite import reports

    for parts in (("u1", "machine", "laptop"), ("u1", "stats", "last_7_days"), ("u2", "machine", "laptop")):
        expected = str(uuid.uuid5(uuid.UUID("6f1d3c52-52b1-4d8e-9d0a-3e7a51f0c0de"), "\x1f".join(parts)))
        assert reports.stable_id(*parts) == reports.stable_id(*parts) == expected
