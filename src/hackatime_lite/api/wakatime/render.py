"""Report objects → WakaTime's JSON field names and formats (COMPAT.md, wakatime-cli fixtures, WakaTime docs)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from hackatime_lite.analytics.ranges import DateRange
from hackatime_lite.analytics.timezones import zone
from hackatime_lite.api.access import FULL, Visibility
from hackatime_lite.api.lazy import LazyModule
from hackatime_lite.models import DIMENSIONS, User, dimension_by_plural
from hackatime_lite.text import formatting
from hackatime_lite.text.formatting import Entry, Total

if TYPE_CHECKING:
    from hackatime_lite import reports
    from hackatime_lite.reports import (
        AllTimeReport,
        DailyAverage,
        DayReport,
        DurationsReport,
        MachineInfo,
        ProjectInfo,
        StatsReport,
        SummariesReport,
        UserAgentInfo,
    )
else:  # imported on first use (api/lazy.py)
    reports = LazyModule("hackatime_lite.reports")

STATUS_BAR_KEYS = tuple(sorted(d.plural for d in DIMENSIONS if d.summary == "always"))
_BROWSER_EDITORS = frozenset({"Chrome", "Firefox", "Safari", "Edge", "Brave", "Opera", "Vivaldi", "Arc"})


def _entries(key: str, items: list[Entry], user: User) -> list[Any]:
    """A breakdown's entries as the response encodes them. Entry structs encode to exactly the JSON object of
    their fields in order (msgspec), so they go into the response as they are — turning each into a dict first
    cost more than the rest of a stats answer's rendering; machines get their id added, so they become dicts."""
    if key != "machines":
        return items
    rendered = []
    for entry in items:
        item = msgspec.to_builtins(entry)
        item["machine_name_id"] = reports.stable_id(user.public_id, "machine", entry.name)
        rendered.append(item)
    return rendered


def grand_total(total: Total) -> Total:
    return total  # a struct encodes as its fields (see _entries)


@functools.lru_cache(maxsize=4096)
def _day_range(date: dt.date, start: float, end: float, tz: str) -> dict[str, str]:
    # WakaTime's day ranges end on the day's last second.
    return {"date": date.isoformat(), "start": formatting.iso_utc(start), "end": formatting.iso_utc(end - 1),
            "text": formatting.day_text(date), "timezone": tz}


def day_range(report: DayReport) -> dict[str, str]:
    # The same few days are rendered over and over (every status bar poll renders today): formatted once, and
    # copied so that no response shares a dict with another.
    return dict(_day_range(report.date, report.start, report.end, report.timezone))


@functools.lru_cache(maxsize=256)
def _iso_second(second: int) -> str:
    return formatting.iso_utc(second)


def iso_now(now: float) -> str:
    """formatting.iso_utc of the clock: many requests fall in the same second."""
    return _iso_second(int(now))


def day(report: DayReport, user: User, keys: tuple[str, ...] = STATUS_BAR_KEYS) -> dict[str, Any]:
    data: dict[str, Any] = {"grand_total": grand_total(report.grand_total)}
    for key in keys:
        data[key] = _entries(key, report.breakdowns.get(key, []), user)
    for extra in ("branches", "entities"):
        if extra in report.breakdowns:
            data[extra] = _entries(extra, report.breakdowns[extra], user)
    # The user's project labels (hackatime_lite.aliases; Wakapi's summaries list them): only beside the projects.
    if "labels" in report.breakdowns and "projects" in keys:
        data["labels"] = _entries("labels", report.breakdowns["labels"], user)
    data["range"] = day_range(report)
    return data


def status_bar(report: DayReport, user: User, now: float) -> dict[str, Any]:
    return {"cached_at": iso_now(now), "data": day(report, user), "has_team_features": False}


def status_bar_data(report: DayReport, user: User) -> bytes:
    """The status bar's `data` as JSON, the part of its answer that changes only with the report."""
    return msgspec.json.encode(day(report, user))


@functools.lru_cache(maxsize=256)
def _cached_at_json(second: int) -> bytes:
    return b'{"cached_at":' + msgspec.json.encode(_iso_second(second)) + b',"data":'


def status_bar_json(data: bytes, now: float) -> bytes:
    """status_bar()'s answer as JSON from its encoded `data` (status_bar_data): byte for byte what encoding
    status_bar()'s dict gives (msgspec keeps key order and writes no spaces), without encoding the report on
    every poll (tests/test_read_answers.py compares the two)."""
    return _cached_at_json(int(now)) + data + b',"has_team_features":false}'


def _daily_average(avg: DailyAverage) -> dict[str, Any]:
    return {"holidays": avg.holidays, "days_including_holidays": avg.days_including_holidays,
            "days_minus_holidays": avg.days_minus_holidays, "seconds": avg.seconds,
            "text": formatting.human_text(avg.seconds),
            "seconds_including_other_language": avg.seconds_including_other_language,
            "text_including_other_language": formatting.human_text(avg.seconds_including_other_language)}


@functools.lru_cache(maxsize=1024)
def _window_iso_of(start: float, end: float) -> tuple[str, str]:
    return formatting.iso_utc(start), formatting.iso_utc(end - 1)


def _window_iso(rng: DateRange) -> tuple[str, str]:
    # Memoised like _day_range: the same ranges (last 7 days …) are rendered on every poll.
    return _window_iso_of(*rng.window)


def summaries(report: SummariesReport, user: User) -> dict[str, Any]:
    start, end = _window_iso(report.range)
    total = report.cumulative_total
    return {
        "data": [day(d, user) for d in report.days],
        "cumulative_total": {"seconds": total.total_seconds, "text": total.text, "decimal": total.decimal,
                             "digital": total.digital},
        "daily_average": _daily_average(report.daily_average),
        "start": start,
        "end": end,
    }


def _visible_entries(report: StatsReport, key: str, visibility: Visibility, user: User) -> list[dict[str, Any]]:
    found = dimension_by_plural(key)
    if found is not None and found.share_flag is None:
        # Not shared on its own: categories come with the totals, dependencies only with the full view.
        shown = visibility.full or (found.name == "category" and visibility.totals)
    else:
        shown = visibility.shows(key)
    return _entries(key, report.breakdowns.get(key, []), user) if shown else []


def stats(report: StatsReport, user: User, visibility: Visibility = FULL, *, now: float) -> dict[str, Any]:
    """WakaTime's stats object. Parts a public viewer may not see are empty lists / null totals."""
    start, end = _window_iso_of(report.start, report.end)  # the report's range.window, converted already
    avg = report.daily_average
    totals = visibility.totals

    def hidden(value: Any) -> Any:
        return value if totals else None

    best = report.best_day
    data: dict[str, Any] = {
        "id": reports.stable_id(user.public_id, "stats", report.range.key),
        "user_id": user.public_id,
        "username": user.username,
        "status": "ok",
        "is_up_to_date": True,
        "is_up_to_date_pending_future": False,
        "is_already_updating": False,
        "is_stuck": False,
        "percent_calculated": 100,
        "is_including_today": report.is_including_today,
        "range": report.range.key,
        "human_readable_range": report.range.text,
        "start": start,
        "end": end,
        "timezone": report.range.tz,
        "timeout": report.timeout // 60 if report.timeout >= 60 else 1,
        "writes_only": False,
        "holidays": avg.holidays,
        "days_including_holidays": avg.days_including_holidays,
        "days_minus_holidays": avg.days_minus_holidays,
        "total_seconds": hidden(report.total_seconds),
        "total_seconds_including_other_language": hidden(report.total_seconds_including_other_language),
        "human_readable_total": hidden(formatting.human_text(report.total_seconds)),
        "human_readable_total_including_other_language":
            hidden(formatting.human_text(report.total_seconds_including_other_language)),
        "daily_average": hidden(avg.seconds),
        "daily_average_including_other_language": hidden(avg.seconds_including_other_language),
        "human_readable_daily_average": hidden(formatting.human_text(avg.seconds)),
        "human_readable_daily_average_including_other_language":
            hidden(formatting.human_text(avg.seconds_including_other_language)),
        "best_day": {"date": best.date.isoformat(), "text": formatting.human_text(best.total_seconds),
                     "total_seconds": best.total_seconds} if best and totals else None,
        "is_coding_activity_visible": totals,
        "is_other_usage_visible": visibility.other_usage,
        "is_language_usage_visible": visibility.shows("languages"),
        "is_editor_usage_visible": visibility.shows("editors"),
        "is_os_usage_visible": visibility.shows("operating_systems"),
        "is_category_usage_visible": visibility.full or totals,
        "created_at": iso_now(now),
        "modified_at": iso_now(now),
    }
    for key in STATUS_BAR_KEYS:
        data[key] = _visible_entries(report, key, visibility, user)
    return data


def all_time(report: AllTimeReport) -> dict[str, Any]:
    tz = zone(report.timezone)
    start = dt.datetime(report.start_date.year, report.start_date.month, report.start_date.day, tzinfo=tz)
    end_day = report.end_date + dt.timedelta(days=1)
    end = dt.datetime(end_day.year, end_day.month, end_day.day, tzinfo=tz)
    total = report.total
    return {"data": {
        "total_seconds": total.total_seconds, "text": total.text, "decimal": total.decimal, "digital": total.digital,
        "daily_average": report.daily_average, "is_up_to_date": True, "percent_calculated": 100,
        "timeout": max(1, report.timeout // 60),
        "range": {"start": formatting.iso_utc(start.timestamp()), "start_date": report.start_date.isoformat(),
                  "start_text": formatting.day_text(report.start_date),
                  "end": formatting.iso_utc(end.timestamp() - 1), "end_date": report.end_date.isoformat(),
                  "end_text": formatting.day_text(report.end_date), "timezone": report.timezone},
    }}


def durations(report: DurationsReport) -> dict[str, Any]:
    key = report.slice_by
    return {
        "data": [{key: d.name, "time": d.time, "duration": d.duration, "color": None} for d in report.durations],
        "branches": report.branches,
        "start": formatting.iso_utc(report.start),
        "end": formatting.iso_utc(report.end - 1),
        "timezone": report.timezone,
    }


def heartbeat(row: dict[str, Any], user: User) -> dict[str, Any]:
    data = dict(row)
    data["id"] = str(row["id"])
    data["user_id"] = user.public_id
    data["created_at"] = formatting.iso_utc(row["created_at"])
    data["machine_name_id"] = reports.stable_id(user.public_id, "machine", row["machine"]) if row["machine"] else None
    data["user_agent_id"] = reports.stable_id(user.public_id, "user_agent", row["user_agent"]) if row["user_agent"] else None
    return data


def project(info: ProjectInfo, now: float) -> dict[str, Any]:
    return {
        "id": info.id, "name": info.name, "urlencoded_name": quote(info.name, safe=""), "color": None,
        "repository": None, "badge": None, "clients": [], "has_public_url": False, "url": None,
        "created_at": formatting.iso_utc(info.first_heartbeat_at),
        "first_heartbeat_at": formatting.iso_utc(info.first_heartbeat_at),
        "human_readable_first_heartbeat_at": formatting.time_ago(now - info.first_heartbeat_at),
        "last_heartbeat_at": formatting.iso_utc(info.last_heartbeat_at),
        "human_readable_last_heartbeat_at": formatting.time_ago(now - info.last_heartbeat_at),
        "total_seconds": info.total_seconds,
    }


def machine(info: MachineInfo) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "value": info.name, "ip": None,
            "created_at": formatting.iso_utc(info.first_seen_at), "last_seen_at": formatting.iso_utc(info.last_seen_at)}


def _ua_version(value: str, editor: str | None) -> str | None:
    for token in value.split():
        name, _, version = token.partition("/")
        if version and editor and name.lower().replace("-", "") == editor.lower().replace(" ", ""):
            return version
    return None


def user_agent(info: UserAgentInfo) -> dict[str, Any]:
    return {"id": info.id, "value": info.value, "editor": info.editor, "os": info.os,
            "version": _ua_version(info.value, info.editor),
            "is_browser_extension": info.editor in _BROWSER_EDITORS, "is_desktop_app": False,
            "created_at": formatting.iso_utc(info.first_seen_at), "last_seen_at": formatting.iso_utc(info.last_seen_at)}


def user(target: User, last: dict[str, Any] | None, *, private: bool) -> dict[str, Any]:
    """WakaTime's user object; email only for the user themself and admins."""
    return {
        "id": target.public_id,
        "username": target.username,
        "display_name": target.display_name or target.username,
        "full_name": target.display_name or target.username,
        "email": target.email if private else None,
        "public_email": None,
        "is_email_public": False,
        "is_email_confirmed": False,
        "photo": None,
        "photo_public": False,
        "timezone": target.timezone,
        "timeout": max(1, (target.timeout or 0) // 60) if target.timeout else None,
        "writes_only": False,
        "last_heartbeat_at": formatting.iso_utc(last["time"]) if last else None,
        "last_plugin": last["user_agent"] if last else None,
        "last_plugin_name": last["editor"] if last else None,
        "last_project": last["project"] if last else None,
        "last_branch": last["branch"] if last else None,
        "is_hireable": False,
        "has_premium_features": False,
        "plan": "self-hosted",
        "location": None,
        "city": None,
        "bio": None,
        "website": None,
        "human_readable_website": None,
        "github_username": None,
        "twitter_username": None,
        "linkedin_username": None,
        "wonderfuldev_username": None,
        "logged_time_public": target.share_stats,
        "languages_used_public": target.share_languages,
        "editors_used_public": target.share_editors,
        "categories_used_public": target.share_stats,
        "os_used_public": target.share_operating_systems,
        "is_onboarding_finished": True,
        "created_at": formatting.iso_utc(target.created_at),
        "modified_at": formatting.iso_utc(target.updated_at),
    }
