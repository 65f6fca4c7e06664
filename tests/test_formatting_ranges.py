"""WakaTime's number formats (checked against wakatime-cli's status-bar fixture) and range resolution."""

from __future__ import annotations

import datetime as dt

import pytest

from hackatime_lite.analytics.ranges import MAX_RANGE_DAYS, RangeError, explicit_range, named_range, resolve
from hackatime_lite.text import formatting
from tests.conftest import load_fixture


def fixture_entries() -> list[dict]:
    data = load_fixture("pkg_api__api_statusbar_today_response.json")["data"]  # type: ignore[index]
    return [entry for key, value in data.items() if isinstance(value, list) for entry in value]


def test_entry_fields_reproduce_every_fixture_entry() -> None:
    for expected in fixture_entries():
        (entry,) = formatting.entries([(expected["name"], expected["total_seconds"])])
        assert entry.text == expected["text"]
        assert entry.digital == expected["digital"]
        assert entry.decimal == expected["decimal"]
        assert (entry.hours, entry.minutes, entry.seconds) == (expected["hours"], expected["minutes"],
                                                                expected["seconds"])


def test_grand_total_matches_the_fixture() -> None:
    data = load_fixture("pkg_api__api_statusbar_today_response.json")["data"]  # type: ignore[index]
    expected = data["grand_total"]
    total = formatting.total(expected["total_seconds"])
    assert (total.text, total.digital, total.decimal, total.hours, total.minutes) == (
        expected["text"], expected["digital"], expected["decimal"], expected["hours"], expected["minutes"])


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 secs"), (1, "1 sec"), (7.1, "7 secs"), (60, "1 min"),
                                               (2940, "49 mins"), (3600, "1 hr"), (4544, "1 hr 15 mins"),
                                               (7200, "2 hrs"), (8256.6, "2 hrs 17 mins"), (-5, "0 secs")])
def test_human_text(seconds: float, text: str) -> None:
    assert formatting.human_text(seconds) == text


def test_percentages_sum_to_100_and_follow_the_values() -> None:
    for values in ([1, 1, 1], [8256.598, 7.1], [1] * 37, [5, 0, 3.3333, 1e-9], [1]):
        shares = formatting.percentages(values)
        assert abs(sum(shares) - 100) < 1e-6
        assert all(round(s, 2) == s for s in shares)
    assert formatting.percentages([]) == [] and formatting.percentages([0, 0]) == [0.0, 0.0]
    entries = formatting.entries([("b", 10.0), ("a", 30.0), ("c", 10.0)])
    assert [e.name for e in entries] == ["a", "b", "c"]


def test_day_text_and_time_ago() -> None:
    assert formatting.day_text(dt.date(2023, 1, 29)) == "Sun Jan 29th 2023"
    assert [formatting.ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd"]
    assert formatting.time_ago(5) == "just now" and formatting.time_ago(7200) == "2 hours ago"
    assert formatting.time_ago(86400 * 400) == "1 year ago"


TODAY = dt.date(2024, 3, 20)  # a Wednesday


@pytest.mark.parametrize(("name", "start", "end"), [
    ("today", TODAY, TODAY),
    ("Today", TODAY, TODAY),
    ("yesterday", dt.date(2024, 3, 19), dt.date(2024, 3, 19)),
    ("week", dt.date(2024, 3, 18), TODAY),
    ("This Week", dt.date(2024, 3, 18), TODAY),
    ("last_week", dt.date(2024, 3, 11), dt.date(2024, 3, 17)),
    ("month", dt.date(2024, 3, 1), TODAY),
    ("Last Month", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
    ("last_7_days", dt.date(2024, 3, 14), TODAY),
    ("Last 7 Days from Yesterday", dt.date(2024, 3, 13), dt.date(2024, 3, 19)),
    ("Last 14 Days", dt.date(2024, 3, 7), TODAY),
    ("last_30_days", dt.date(2024, 2, 20), TODAY),
    ("last_6_months", dt.date(2023, 9, 21), TODAY),
    ("last_year", dt.date(2023, 3, 21), TODAY),
    ("12_months", dt.date(2023, 3, 21), TODAY),
    ("2023", dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
    ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
])
def test_named_ranges(name: str, start: dt.date, end: dt.date) -> None:
    rng = named_range(name, today=TODAY, tz="Europe/Berlin")
    assert (rng.start, rng.end) == (start, end)
    window = rng.window
    assert window[1] - window[0] == pytest.approx(rng.days * 86400, abs=3600)  # DST days are 23/25 h


def test_all_time_starts_at_the_first_day() -> None:
    rng = named_range("all_time", today=TODAY, tz="UTC", first_day=dt.date(2020, 5, 1))
    assert (rng.start, rng.end, rng.text) == (dt.date(2020, 5, 1), TODAY, "All Time")
    assert named_range("all_time", today=TODAY, tz="UTC").start == TODAY


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"range_name": "fortnight"}, "unknown range"),
    ({"range_name": "2024-13"}, "unknown range"),
    ({"range_name": "1900"}, "unknown range"),
    ({"start": "2024-02-30", "end": "2024-03-01"}, "invalid start"),
    ({"start": "2024-03-10", "end": "2024-03-01"}, "before start"),
    ({"start": "2010-01-01", "end": "2024-03-01"}, "10 years"),
    ({"start": "9999-12-31", "end": "9999-12-31"}, "invalid start"),
    ({"range_name": "today", "tz": "Mars/Olympus"}, "time zone"),
    ({"range_name": "today", "tz": "../../etc/passwd"}, "time zone"),
])
def test_range_errors_are_clear(kwargs: dict, message: str) -> None:
    tz = kwargs.pop("tz", "UTC")
    with pytest.raises(RangeError, match=message):
        resolve(today=TODAY, tz=tz, **kwargs)


def test_explicit_ranges() -> None:
    rng = explicit_range("2024-03-01", "2024-03-03", tz="America/New_York")
    assert (rng.key, rng.days) == ("custom", 3)
    longest = explicit_range("2014-03-21", "2024-03-19", tz="UTC")
    assert longest.days <= MAX_RANGE_DAYS
    assert resolve(start="2024-03-05", today=TODAY, tz="UTC").days == 1
    assert resolve(today=TODAY, tz="UTC", default="yesterday").start == dt.date(2024, 3, 19)
