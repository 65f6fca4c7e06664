"""The one table of dimensions keeps every wire name as it was; the one DurationRule validates for everyone;
the CLI's global options belong to one invocation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hackatime_lite import reports
from hackatime_lite.api import access, params
from hackatime_lite.api.wakatime import reads, render
from hackatime_lite.cli import report_sources
from hackatime_lite.cli import reports as cli_reports
from hackatime_lite.cli.main import app
from hackatime_lite.config import ConfigError, load_settings
from hackatime_lite.errors import InputError
from hackatime_lite.models import (
    DIMENSIONS,
    SHARE_FLAG_FIELDS,
    DurationRule,
    RuleError,
    check_mode,
    check_timeout,
    dimension,
)
from hackatime_lite.web import dashboard


def test_every_layer_keeps_its_wire_names() -> None:
    assert params.FILTER_PARAMS == {
        "project": "project", "projects": "project", "filter_by_project": "project", "branches": "branch",
        "branch": "branch", "language": "language", "languages": "language", "editor": "editor",
        "editors": "editor", "operating_system": "operating_system", "os": "operating_system",
        "machine": "machine", "machines": "machine", "category": "category", "categories": "category",
        "filter_by_category": "category", "entity": "entity", "entities": "entity", "label": "label",
    }
    assert set(reads.SUMMARY_FILTERS) == {"project", "branches", "language", "editor", "operating_system",
                                          "machine", "category", "entity", "label"}
    assert render.STATUS_BAR_KEYS == ("categories", "dependencies", "editors", "languages", "machines",
                                      "operating_systems", "projects")
    assert reports.SLICE_BY == {"project": "project", "entity": "entity", "language": "language",
                                "dependencies": "dependency", "os": "operating_system",
                                "operating_system": "operating_system", "editor": "editor",
                                "category": "category", "machine": "machine", "branch": "branch"}
    assert set(reports.SUMMARY_DIMENSIONS) == {"category", "project", "language", "editor", "operating_system",
                                               "machine", "dependency"}
    assert reports.PROJECT_DIMENSIONS == ("branch", "entity")
    assert access.SHARE_FLAGS == {"languages": "share_languages", "projects": "share_projects",
                                  "editors": "share_editors", "operating_systems": "share_operating_systems",
                                  "machines": "share_machines"}
    assert set(SHARE_FLAG_FIELDS) == {"share_stats", *access.SHARE_FLAGS.values()}
    assert dashboard.FILTER_PARAMS == {"project": "project", "language": "language", "editor": "editor",
                                       "os": "operating_system", "machine": "machine", "category": "category"}
    assert dashboard.BREAKDOWNS[3] == ("operating_systems", "os", "Operating systems")
    assert report_sources.FILTER_PARAMS == {"project": "project", "branch": "branches", "language": "language",
                                            "editor": "editor", "os": "operating_system", "machine": "machine",
                                            "category": "category", "entity": "entity"}
    assert {"project", "os", "branch", "dependency", "day"} <= set(cli_reports.BREAKDOWNS)
    assert reports.display_name("project", None) == "Unknown Project"
    assert reports.display_name("language", "") == "Other"
    assert reports.display_name("machine", None) == "Unknown"
    assert len({d.name for d in DIMENSIONS}) == len({d.plural for d in DIMENSIONS}) == len(DIMENSIONS)
    assert dimension("type") is not None and dimension("nope") is None


def test_the_duration_rule_validates_in_one_place() -> None:
    assert DurationRule() == DurationRule(mode="capped", timeout=120)
    assert DurationRule.parse("keystroke", " 300 ") == DurationRule(mode="keystroke", timeout=300)
    server = DurationRule(mode="keystroke", timeout=600)
    assert DurationRule.parse("default", "", default=server) == server
    assert DurationRule.parse(None, None, default=server) == server
    for bad in ({"mode": "sometimes"}, {"timeout": 29}, {"timeout": 3601}, {"timeout": True}):
        with pytest.raises(RuleError):
            DurationRule(**bad)  # type: ignore[arg-type]
    with pytest.raises(RuleError, match="whole number"):
        check_timeout("two minutes")
    assert check_timeout(30) == 30 and check_mode("capped") == "capped"
    assert issubclass(RuleError, InputError)
    assert load_settings(environ={"HACKATIME_DEFAULT_MODE": "keystroke"}).default_rule.mode == "keystroke"
    with pytest.raises(ConfigError):
        load_settings(environ={"HACKATIME_DEFAULT_TIMEOUT": "3601"})


def test_global_options_belong_to_one_invocation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HACKATIME_DATA_DIR", raising=False)
    runner = CliRunner()

    def data_dir(*before: str, after: tuple[str, ...] = ()) -> str:
        result = runner.invoke(app, [*before, "config", "--json", *after])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["data_dir"]

    first, second = tmp_path / "first", tmp_path / "second"
    assert data_dir("--data-dir", str(first)) == str(first)
    assert data_dir() != str(first)  # the previous invocation's --data-dir is gone
    assert data_dir("--data-dir", str(first), after=("--data-dir", str(second))) == str(second)
