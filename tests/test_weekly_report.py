"""The weekly report (notify/): `report weekly --json` against the analytics oracle, and the e-mail job
against a local SMTP sink (aiosmtpd on 127.0.0.1): one mail per opted-in user and week however often the job
runs, the mail's numbers are the CLI's, the unsubscribe link works (confirm page, then POST), users who did
not opt in get nothing, and the SMTP password never reaches the logs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from litestar.testing import TestClient

from hackatime_lite.analytics import oracle
from hackatime_lite.analytics.replica import Replica
from hackatime_lite.config import Settings
from hackatime_lite.context import AppContext
from hackatime_lite.notify import job as weekly_job
from hackatime_lite.notify.weekly import FOCUS_MIN_MINUTES, WeeklyReport, parse_week
from hackatime_lite.store import Store
from hackatime_lite.store.records import GoalSpec
from hackatime_lite.text.formatting import human_text
from tests.app_pool import pooled_app
from tests.conftest import Account, ServerProcess, free_port, make_account, run_cli
from tests.read_api_helpers import FIXED, post
from tests.web_helpers import coding_session

# Real SMTP round trips, a replica opened per job run and the CLI in-process: seconds of CPU, so these run in
# test.sh's `slow` step; one worker holds the module's world.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("weekly_report")]
# FIXED is Wednesday 2024-03-20: the last complete week is 2024-W11 (Mar 11-17), the one before 2024-W10.
WEEK = "2024-W11"
PASSWORD = "smtp-pa55word-never-logged"


class Sink:
    """aiosmtpd's handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@dataclass
class World:
    settings: Settings
    store: Store
    sink: Sink
    accounts: dict[str, Account] = field(default_factory=dict)

    def ctx(self, settings: Settings | None = None) -> Iterator[AppContext]:
        replica = Replica(self.store, self.settings)
        try:
            yield AppContext(settings=settings or self.settings, store=self.store, replica=replica,
                             clock=lambda: FIXED)
        finally:
            replica.close()

    def reset(self) -> None:
        """Nothing sent yet: ada, bo and di opted in, cy not (tests run in any order on this one world)."""
        for name in ("ada", "bo", "cy", "di"):
            user_id = self.accounts[name].user.id
            self.store.release_weekly_report(user_id, WEEK)
            self.store.set_weekly_report_opt_in(user_id, name != "cy", FIXED)
        with self.sink.lock:
            self.sink.messages.clear()

    def send(self, settings: Settings | None = None) -> dict[str, Any] | None:
        for ctx in self.ctx(settings):
            return weekly_job.send_weekly_reports(ctx)
        raise AssertionError("unreachable")


def local(tz: str, day: dt.date, hour: int, minute: int = 0) -> float:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(tz)).timestamp()


def seed(store: Store, account: Account, tz: str, shift: int) -> None:
    """Sessions in 2024-W10 and W11 (local days): long ones (focus), short ones, two projects, two languages."""
    monday = parse_week(WEEK)
    items: list[dict[str, Any]] = []
    for back in (0, 7):  # this week and the week before
        for offset, hour, minutes, project, language in ((0, 9, 40, "alpha", "Python"), (0, 14, 12, "beta", "Go"),
                                                         (2, 10, 26 + shift, "beta", "Python"),
                                                         (4, 22, 8, "alpha", "Go"), (6, 11, 55 - back, "alpha", "Rust")):
            day = monday - dt.timedelta(days=back) + dt.timedelta(days=offset)
            items += coding_session(local(tz, day, hour, shift), minutes, project=project, language=language)
    post(store, account.user, items)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    sink = Sink()
    from aiosmtpd.controller import Controller  # imported by the tests that use it (~0.1 s of CPU)

    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()  # returns once the server answers (aiosmtpd's own readiness check, with the timeout)
    root: Path = tmp_path_factory.mktemp("weekly")
    settings = Settings(data_dir=str(root / "data"), smtp_host="127.0.0.1", smtp_port=controller.port,
                        smtp_starttls=False, smtp_from="reports@hackatime.test", public_url="http://hackatime.test/")
    settings.paths.ensure()
    try:
        with Store(settings.paths.database) as store:
            found = World(settings=settings, store=store, sink=sink)
            for name, tz in (("root", "UTC"), ("ada", "UTC"), ("bo", "Europe/Berlin"), ("cy", "UTC"),
                             ("di", "UTC")):
                found.accounts[name] = make_account(store, name, timezone=tz)
                store.update_user(found.accounts[name].user.id, email=f"{name}@example.org")
            for shift, name in enumerate(("ada", "bo", "cy")):
                seed(store, found.accounts[name], found.accounts[name].user.timezone, shift)
            # ada's goals: 20 min a day on alpha, at most 1 h a week in all, and one switched off.
            ada_id = found.accounts["ada"].user.id
            for spec in (GoalSpec(delta="day", seconds=1200, projects=("alpha",)),
                         GoalSpec(delta="week", seconds=3600, is_inverse=True),
                         GoalSpec(delta="day", seconds=60, is_enabled=False)):
                store.create_goal(ada_id, spec, now=FIXED)
            # cy does not opt in; di has no coding time at all (reset())
            yield found
    finally:
        controller.stop()


def oracle_intervals(store: Store, user_id: int, settings: Settings) -> list[oracle.Interval]:
    conn = store.reader()
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM heartbeats WHERE user_id = ? ORDER BY time, id", (user_id,)).fetchall()
    beats = [oracle.Beat(id=r["id"], user_id=r["user_id"], time=r["time"], dependencies=(), source=r["source"],
                         **{name: r[name] for name in ("project", "language", "editor", "operating_system",
                                                       "machine", "branch", "category", "entity", "type")})
             for r in rows]
    return oracle.intervals(beats, {user_id: oracle.Rule(timeout=settings.default_timeout,
                                                         mode=settings.default_mode)})


def cli_report(world: World, name: str) -> dict[str, Any]:
    done = run_cli("report", "weekly", "--week", WEEK, "--json", "--data-dir", world.settings.data_dir,
                   "--user", name)
    return json.loads(done.stdout)


def test_report_weekly_json_equals_the_oracle(world: World) -> None:
    for name in ("ada", "bo"):
        user = world.store.get_user(world.accounts[name].user.id)
        assert user is not None
        report = cli_report(world, name)
        tz, monday = user.timezone, parse_week(WEEK)
        ivs = oracle_intervals(world.store, user.id, world.settings)
        days = oracle.daily(ivs, user.id, tz, monday, monday + dt.timedelta(days=6))
        assert report["week"] == WEEK and report["timezone"] == tz
        assert [d["date"] for d in report["days"]] == [day.isoformat() for day in days]
        for got, want in zip(report["days"], days.values(), strict=True):
            assert got["total_seconds"] == pytest.approx(want, abs=1e-6)
        total = sum(days.values())
        assert total > 0 and report["total_seconds"] == pytest.approx(total, abs=1e-6)
        start, end = oracle.day_bounds(tz, monday)[0], oracle.day_bounds(tz, monday + dt.timedelta(days=6))[1]
        before = oracle.total(ivs, user.id, start - 7 * 86400, start)  # no DST change in these weeks
        assert report["previous_total_seconds"] == pytest.approx(before, abs=1e-6)
        assert report["change_percent"] == pytest.approx(round((total - before) * 100 / before, 1))
        best = max(days.items(), key=lambda item: (item[1], -item[0].toordinal()))
        assert report["best_day"]["date"] == best[0].isoformat()
        for key, dimension in (("projects", "project"), ("languages", "language")):
            want = oracle.breakdown(ivs, user.id, start, end, dimension, None)
            assert {e["name"]: e["total_seconds"] for e in report[key]} == pytest.approx(want, abs=1e-3)
        spans = [b - a for a, b in oracle.merged_spans(ivs, user.id, start, end)]
        focused = [s for s in spans if s >= FOCUS_MIN_MINUTES * 60]
        assert report["focus"]["sessions"] == len(focused) > 0
        assert report["focus"]["total_seconds"] == pytest.approx(sum(focused), abs=1e-6)
        assert report["focus"]["longest_seconds"] == pytest.approx(max(focused), abs=1e-6)
        goals = {(g["delta"], g["is_inverse"]): g for g in report["goals"]}
        if name != "ada":
            assert goals == {}
            continue
        assert set(goals) == {("day", False), ("week", True)}  # the disabled goal is left out
        alpha = oracle.daily(ivs, user.id, tz, monday, monday + dt.timedelta(days=6), {"project": ["alpha"]})
        daily = goals[("day", False)]
        assert daily["periods_counted"] == 7 and daily["goal_seconds"] == 7 * 1200
        assert daily["periods_met"] == sum(1 for seconds in alpha.values() if seconds >= 1200)
        assert daily["met"] == all(seconds >= 1200 for seconds in alpha.values())
        assert daily["actual_seconds"] == pytest.approx(sum(alpha.values()), abs=1e-6)
        weekly = goals[("week", True)]
        assert weekly["actual_seconds"] == pytest.approx(total, abs=1e-6) and weekly["met"] == (total <= 3600)


def test_bad_week_is_a_usage_error(world: World) -> None:
    done = run_cli("report", "weekly", "--week", "2024-W60", "--data-dir", world.settings.data_dir,
                   "--user", "ada", check=False)
    assert done.returncode == 2 and "2024 has no week 60" in done.stderr


def _text_part(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def test_the_job_mails_each_opted_in_user_once_with_the_cli_numbers(world: World) -> None:
    world.reset()
    first = world.send()
    second = world.send()  # the same week again: nothing new
    assert first is not None and first["sent"] == 2 and first["no_coding"] == 1
    assert second is None
    assert sorted(m["To"] for m in world.sink.messages) == ["ada@example.org", "bo@example.org"]
    assert world.sink.to("cy@example.org") == [] and world.sink.to("di@example.org") == []
    for name in ("ada", "bo"):
        assert world.store.weekly_reports_sent(world.accounts[name].user.id) == [WEEK]
        (message,) = world.sink.to(f"{name}@example.org")
        report = cli_report(world, name)
        assert message["Subject"] == f"Your coding week {WEEK}: {report['total_text']}"
        text = _text_part(message)
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"Total: {report['total_text']}" in text and f'id="total">{report["total_text"]}<' in html
        for day in report["days"]:
            assert f"{dt.date.fromisoformat(day['date']):%a} {day['date']}  {day['text']}" in text
        for entry in report["projects"] + report["languages"]:
            assert f"  {entry['name']}  {entry['text']} ({entry['percent']} %)" in text
        focus = report["focus"]
        assert f"Focus: {focus['sessions']} deep-work session" in text
        assert human_text(focus["total_seconds"]) in text
        assert f"{report['change_percent']:+.1f} % against the week before" in text


def test_the_unsubscribe_link_confirms_then_unsubscribes(world: World) -> None:
    ada = world.accounts["ada"].user
    world.reset()
    world.send()
    (message,) = world.sink.to("ada@example.org")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    assert link.startswith("http://hackatime.test/unsubscribe/weekly-report/") and link in _text_part(message)
    path = link.removeprefix("http://hackatime.test")
    with pooled_app(world.settings, store=world.store, clock=lambda: FIXED, start_scheduler=False) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        page = client.get(path)
        assert page.status_code == 200 and 'id="unsubscribe-form"' in page.text
        assert world.store.weekly_report_opt_in(ada.id)  # a GET (link scanners, previews) changes nothing
        tampered = client.post(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
        assert tampered.status_code == 404 and world.store.weekly_report_opt_in(ada.id)
        # A mail client's one-click POST (RFC 8058): no session, no CSRF token.
        done = client.post(path, content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and 'id="unsubscribe-done"' in done.text
        assert not world.store.weekly_report_opt_in(ada.id)
        again = client.get(path)
        assert again.status_code == 200 and 'id="unsubscribe-already"' in again.text
    assert ada.id not in world.store.weekly_report_subscribers()


def test_settings_api_opt_in_needs_an_address(world: World) -> None:
    cy = world.accounts["cy"]
    with pooled_app(world.settings, store=world.store, clock=lambda: FIXED, start_scheduler=False) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        refused = client.patch("/api/native/v1/settings", headers=cy.headers,
                               json={"email": None, "weekly_report": True})
        assert refused.status_code == 400 and "e-mail address" in refused.json()["error"]
        bad = client.patch("/api/native/v1/settings", headers=cy.headers, json={"email": "not-an-address"})
        assert bad.status_code == 400
        done = client.patch("/api/native/v1/settings", headers=cy.headers,
                            json={"email": "cy@example.org", "weekly_report": True})
        assert done.status_code == 200 and done.json()["data"]["weekly_report"] is True
        assert client.get("/api/native/v1/settings", headers=cy.headers).json()["data"]["weekly_report"] is True
        off = client.patch("/api/native/v1/settings", headers=cy.headers, json={"weekly_report": False})
        assert off.json()["data"]["weekly_report"] is False
        assert not world.store.weekly_report_opt_in(cy.user.id)


def test_a_refused_login_sends_nothing_retries_later_and_logs_no_password(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    """The sink offers no AUTH: the login fails, the week stays unclaimed, the warning names no password."""
    world.reset()
    with_login = msgspec.structs.replace(world.settings, smtp_user="reports", smtp_password=PASSWORD)
    with caplog.at_level(logging.WARNING, logger="hackatime_lite"):
        result = world.send(with_login)
    assert result is not None and result["failed"] == 1 and result["sent"] == 0
    assert world.sink.messages == []
    for name in ("ada", "bo"):
        assert world.store.weekly_reports_sent(world.accounts[name].user.id) == []
    assert "weekly report e-mail not sent" in caplog.text and PASSWORD not in caplog.text
    assert PASSWORD not in str(with_login.public_view())
    # With the login gone the next run sends.
    assert (world.send() or {}).get("sent") == 2


def test_the_api_answers_the_cli_report(world: World) -> None:
    """`report weekly` against a server decodes this answer into the same typed report (cli.weekly)."""
    ada = world.accounts["ada"]
    with pooled_app(world.settings, store=world.store, clock=lambda: FIXED, start_scheduler=False) as app, \
            TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get(f"/api/native/v1/users/current/reports/weekly?week={WEEK}", headers=ada.headers)
        assert answer.status_code == 200, answer.text
        default = client.get("/api/native/v1/users/current/reports/weekly", headers=ada.headers).json()
        assert client.get("/api/native/v1/users/current/reports/weekly?week=2024-W99",
                          headers=ada.headers).status_code == 400
        assert client.get("/api/native/v1/users/ada/reports/weekly",
                          headers=world.accounts["bo"].headers).status_code == 403
    decoded = msgspec.convert(answer.json(), WeeklyReport)
    assert msgspec.to_builtins(decoded) == cli_report(world, "ada") == answer.json()
    assert default["week"] == WEEK  # the last complete week by the app's clock


def test_report_weekly_reads_a_running_server_with_the_same_numbers(world: World) -> None:
    """The CLI against a real server process (--server URL --key): the API's answer decoded into the same
    report the data dir gives in-process (read first: the server then holds the replica)."""
    local = cli_report(world, "ada")
    server = ServerProcess(Path(world.settings.data_dir)).start()
    try:
        done = run_cli("report", "weekly", "--week", WEEK, "--json", "--server", server.url,
                       "--key", world.accounts["ada"].key)
        assert json.loads(done.stdout) == local
        table = run_cli("report", "weekly", "--week", WEEK, "--server", server.url,
                        "--key", world.accounts["ada"].key)
        assert f"week {WEEK}" in table.stdout and local["total_text"] in table.stdout
        bad = run_cli("report", "weekly", "--week", "soon", "--server", server.url,
                      "--key", world.accounts["ada"].key, check=False)
        assert bad.returncode == 2 and "invalid week" in bad.stderr
    finally:
        assert server.stop() == 0
