"""`hackatime-lite conformance URL --key K`: check any WakaTime-compatible server against the wire contract.

It posts a seeded set of heartbeats shaped like wakatime-cli's own request bodies (a fresh project name per
run, so it never mixes with real data), then checks what clients depend on (COMPAT.md): statuses, one
per-item response per input item in order, 400 for an invalid item without failing its neighbours,
duplicates as successes, the status-bar key set, the stats field set, and that coding time adds up (days to
the range, groups to the total, the seeded project to the time the heartbeats imply). Use a test account:
the seeded heartbeats stay on the server.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hackatime_lite.cli.common import (
    ConfigOption,
    DataDirOption,
    JsonOption,
    console,
    fail,
    print_json,
    settings_for,
)

if TYPE_CHECKING:  # httpx and rich's tables load when the command runs, not with the CLI
    import httpx

# Key sets of wakatime-cli's status-bar fixture (pkg_api__api_statusbar_today_response.json).
STATUS_BAR_KEYS = {"cached_at", "data", "has_team_features"}
STATUS_BAR_DATA_KEYS = {"categories", "dependencies", "editors", "grand_total", "languages", "machines",
                        "operating_systems", "projects", "range"}
GRAND_TOTAL_KEYS = {"decimal", "digital", "hours", "minutes", "text", "total_seconds"}
RANGE_KEYS = {"date", "end", "start", "text", "timezone"}
ENTRY_KEYS = {"decimal", "digital", "hours", "minutes", "name", "percent", "seconds", "text", "total_seconds"}
# Fields of WakaTime's stats response that README tools (github-readme-stats, waka-readme) read.
STATS_KEYS = {"total_seconds", "daily_average", "languages", "projects", "editors", "operating_systems",
              "categories", "human_readable_total", "human_readable_daily_average", "range", "start", "end",
              "timezone", "status", "is_up_to_date", "is_coding_activity_visible", "is_other_usage_visible"}
BREAKDOWNS = ("projects", "languages", "editors", "operating_systems", "categories")
SEED_COUNT = 20
SEED_SPACING = 30.0  # seconds: under every server's timeout, so each gap counts in full
USER_AGENT = "wakatime/v1.102.1 (linux-6.1-x86_64) go1.22.5 vim/9.0 vim-wakatime/11.0.0"
TOLERANCE = 1.0  # seconds: servers round totals differently


def httpx_errors() -> type[Exception]:
    import httpx

    return httpx.HTTPError


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class Conformance:
    """Runs the checks over an httpx client whose base URL is the server's API base (…/api/v1)."""

    client: httpx.Client
    key: str
    now: Callable[[], float] = time.time
    checks: list[Check] = field(default_factory=list)
    project: str = field(default_factory=lambda: f"conformance-{secrets.token_hex(4)}")
    # The seeded heartbeats sit in a random quarter hour 30–365 days ago: never in the account's current
    # day, and two runs (or real heartbeats) almost never share the window and cut each other's intervals.
    seed_start: float = 0.0

    def __post_init__(self) -> None:
        if not self.seed_start:
            today = int(self.now() // 86400) * 86400
            self.seed_start = today - secrets.choice(range(30, 366)) * 86400 + secrets.choice(range(96)) * 900

    # -- plumbing ---------------------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        import base64

        return {"Authorization": "Basic " + base64.b64encode(self.key.encode()).decode(),
                "User-Agent": USER_AGENT}

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._auth(), **kwargs.pop("headers", {})}
        return self.client.request(method, path.lstrip("/"), headers=headers, **kwargs)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(name, bool(passed), detail))
        return bool(passed)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def seed(self) -> list[dict[str, Any]]:
        start = self.seed_start
        items = [{
            "entity": f"/home/dev/{self.project}/src/main.go" if i % 2 == 0 else f"/home/dev/{self.project}/app.py",
            "type": "file", "category": "coding" if i % 3 else "debugging", "time": start + i * SEED_SPACING,
            "project": self.project, "branch": "main", "language": "Go" if i % 2 == 0 else "Python",
            "dependencies": ["dep1", "dep2"], "lines": 100 + i, "lineno": 42, "cursorpos": 12, "is_write": i % 4 == 0,
            "user_agent": USER_AGENT,
        } for i in range(SEED_COUNT)]
        # A last heartbeat in another project closes the seeded project's final interval, so its time does
        # not depend on the server's timeout or rule (the last heartbeat of a stream covers up to a timeout).
        end = dict(items[-1], project=self.project + "-end", entity=f"/home/dev/{self.project}-end/x.go",
                   time=start + SEED_COUNT * SEED_SPACING)
        return [*items, end]

    # -- the checks -------------------------------------------------------------------------------------
    def run(self) -> list[Check]:
        for step in (self.auth_is_required, self.ingest, self.reads):
            try:
                step()
            except httpx_errors() as exc:
                self.check(step.__name__.replace("_", " "), False, f"request failed: {exc}")
                break
        return self.checks

    def auth_is_required(self) -> None:
        response = self.client.get("users/current/statusbar/today")
        body = self._json(response)
        self.check("no key → 401 with a JSON error", response.status_code == 401 and isinstance(body, dict)
                   and "error" in body, f"status {response.status_code}")

    def ingest(self) -> None:
        seeded = self.seed()
        invalid = {"type": "file", "category": "coding"}  # no entity, no time
        batch = [*seeded[:10], invalid, *seeded[10:]]
        response = self._request("POST", "users/current/heartbeats.bulk", json=batch)
        body = self._json(response)
        self.check("bulk → 201 or 202", response.status_code in (201, 202), f"status {response.status_code}")
        responses = body.get("responses") if isinstance(body, dict) else None
        if not self.check("one per-item response per input item", isinstance(responses, list)
                          and len(responses) == len(batch),
                          f"{len(responses) if isinstance(responses, list) else 'no'} responses for {len(batch)}"):
            return
        assert isinstance(responses, list)  # checked just above
        statuses = [item[1] if isinstance(item, list) and len(item) == 2 else None for item in responses]
        self.check("valid items → per-item 201/202", all(s in (201, 202) for i, s in enumerate(statuses) if i != 10),
                   f"statuses {sorted(set(statuses), key=str)}")
        self.check("an invalid item → its own 400, neighbours kept", statuses[10] == 400,
                   f"invalid item got {statuses[10]}")
        again = self._request("POST", "users/current/heartbeats.bulk", json=seeded)
        again_body = self._json(again)
        again_statuses = [i[1] for i in again_body.get("responses", [])] if isinstance(again_body, dict) else []
        self.check("a resent batch (duplicates) is a success", again.status_code in (201, 202)
                   and len(again_statuses) == len(seeded) and all(200 <= s < 300 for s in again_statuses),
                   f"status {again.status_code}, per-item {sorted(set(again_statuses))}")
        last = seeded[SEED_COUNT - 1]
        single = dict(last, time=last["time"] + 0.5, entity=last["entity"] + ".single")
        response = self._request("POST", "users/current/heartbeats", json=single)
        data = (self._json(response) or {}).get("data") if isinstance(self._json(response), dict) else None
        self.check("single heartbeat → 201 with data.id/entity/type/time", response.status_code in (201, 202)
                   and isinstance(data, dict) and {"id", "entity", "type", "time"} <= set(data),
                   f"status {response.status_code}")
        bad = self._request("POST", "users/current/heartbeats.bulk", content=b"[{not json",
                            headers={"Content-Type": "application/json"})
        self.check("unparsable JSON → 400", bad.status_code == 400, f"status {bad.status_code}")

    def reads(self) -> None:
        # Every seeded heartbeat of the project covers SEED_SPACING (the single one splits one interval in two).
        expected = SEED_COUNT * SEED_SPACING
        response = self._request("GET", "users/current/statusbar/today")
        body = self._json(response)
        ok = response.status_code == 200 and isinstance(body, dict)
        self.check("status bar → 200", ok, f"status {response.status_code}")
        if ok:
            data = body.get("data") or {}
            problems = _key_problems(body, STATUS_BAR_KEYS, "") + _key_problems(data, STATUS_BAR_DATA_KEYS, "data.")
            problems += _key_problems(data.get("grand_total") or {}, GRAND_TOTAL_KEYS, "data.grand_total.")
            problems += _key_problems(data.get("range") or {}, RANGE_KEYS, "data.range.")
            for name in ("categories", "projects", "languages"):
                for entry in data.get(name) or []:
                    problems += _key_problems(entry, ENTRY_KEYS, f"data.{name}[].")
            self.check("status bar key set = wakatime-cli's", not problems, "; ".join(problems[:4]))
            total = data.get("grand_total") or {}
            self.check("grand_total hours/minutes are integers",
                       isinstance(total.get("hours"), int) and isinstance(total.get("minutes"), int), str(total)[:80])
        stats = self._request("GET", "users/current/stats/last_7_days")
        stats_body = self._json(stats)
        stats_data = stats_body.get("data") if isinstance(stats_body, dict) else None
        self.check("stats/last_7_days → 200 (not 202)", stats.status_code == 200, f"status {stats.status_code}")
        if isinstance(stats_data, dict):
            missing = sorted(STATS_KEYS - set(stats_data))
            self.check("stats field set", not missing, f"missing {missing}" if missing else "")
        self._summaries(expected)

    def _summaries(self, expected: float) -> None:
        seeded_day = dt.datetime.fromtimestamp(self.seed_start, dt.UTC).date()
        # A day either side of the seeded one, so the check holds whatever the account's time zone is.
        start = (seeded_day - dt.timedelta(days=1)).isoformat()
        end = (seeded_day + dt.timedelta(days=1)).isoformat()
        response = self._request("GET", "users/current/summaries", params={"start": start, "end": end})
        body = self._json(response)
        if not self.check("summaries → 200", response.status_code == 200 and isinstance(body, dict),
                          f"status {response.status_code}"):
            return
        days = body.get("data") or []
        day_sum = sum(_seconds(d.get("grand_total")) for d in days)
        cumulative = _seconds(body.get("cumulative_total"), key="seconds")  # WakaTime names it `seconds` here
        self.check("days add up to the range (cumulative_total)", abs(day_sum - cumulative) <= TOLERANCE * len(days),
                   f"days {day_sum:.1f} s vs cumulative {cumulative:.1f} s")
        worst = max(((abs(sum(_seconds(e) for e in d.get(group) or []) - _seconds(d.get("grand_total"))), group)
                     for d in days for group in BREAKDOWNS if d.get(group)), default=(0.0, ""))
        self.check("groups add up to each day's total", worst[0] <= TOLERANCE * 2,
                   f"largest gap {worst[0]:.1f} s in {worst[1]}" if worst[1] else "")
        project = sum(_seconds(e) for d in days for e in d.get("projects") or [] if e.get("name") == self.project)
        self.check("seeded heartbeats give the expected time", abs(project - expected) <= TOLERANCE * 2,
                   f"{self.project}: {project:.1f} s, expected {expected:.1f} s")


def _seconds(entry: Any, key: str = "total_seconds") -> float:
    value = entry.get(key, entry.get("total_seconds")) if isinstance(entry, dict) else None
    return float(value) if isinstance(value, int | float) else 0.0


def _key_problems(obj: Any, expected: set[str], prefix: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{prefix or 'body'} is not an object"]
    missing = sorted(expected - set(obj))
    return [f"{prefix}{name} missing" for name in missing]


def api_base(url: str) -> str:
    """Accept the server root, an api_url (…/api/v1) or a heartbeats URL; return the API base with a slash."""
    url = url.rstrip("/")
    for suffix in ("/users/current/heartbeats.bulk", "/users/current/heartbeats"):
        url = url.removesuffix(suffix)
    if "/api" not in url.split("://", 1)[-1]:
        url += "/api/v1"
    return url + "/"


def conformance(
    key: Annotated[str, typer.Option("--key", help="An API key of a test account (data is posted).")],
    url: Annotated[str | None, typer.Argument(
        help="The server's api_url (e.g. http://127.0.0.1:3000/api/v1) or root; default: the server running "
             "on the data dir.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 15.0,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a WakaTime-compatible server against the wire contract real clients depend on; exit 1 on any failure."""
    if url is None:
        from hackatime_lite.cli.client import running_server_url

        url = running_server_url(settings_for(data_dir, config))
        if url is None:
            raise fail("no URL given and no server is running on the data dir")
    import httpx

    with httpx.Client(base_url=api_base(url), timeout=timeout, follow_redirects=False) as client:
        checks = Conformance(client, key).run()
    report(checks, as_json)


def report(checks: list[Check], as_json: bool) -> None:
    if as_json:
        print_json([{"check": c.name, "passed": c.passed, "detail": c.detail} for c in checks])
    else:
        from rich.table import Table

        table = Table("check", "result", "detail", title="WakaTime wire-contract conformance")
        for c in checks:
            table.add_row(c.name, "[green]pass[/green]" if c.passed else "[red]FAIL[/red]", c.detail)
        console.print(table)
        failed = sum(not c.passed for c in checks)
        console.print(f"conformance: {len(checks) - failed} of {len(checks)} checks passed")
    if not checks or any(not c.passed for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("conformance")(conformance)
