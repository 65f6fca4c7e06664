"""Settings precedence: defaults < TOML file < HACKATIME_* environment < CLI flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hackatime_lite.config import ConfigError, load_settings
from tests.conftest import run_cli


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "hl.toml"
    config.write_text('port = 4000\nhost = "0.0.0.0"\ndefault_timeout = 300\nlog_level = "debug"\n')
    env = {"HACKATIME_PORT": "5000", "HACKATIME_DEFAULT_TIMEOUT": "600"}
    settings = load_settings(config_file=config, environ=env, overrides={"port": 6000})
    assert settings.port == 6000  # flag beats env and file
    assert settings.default_timeout == 600  # env beats file
    assert settings.host == "0.0.0.0" and settings.log_level == "debug"  # file beats defaults
    assert load_settings(environ={}).port == 3000


def test_data_dir_config_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("port = 4321\n")
    assert load_settings(overrides={"data_dir": str(tmp_path)}, environ={}).port == 4321


@pytest.mark.parametrize(
    "env",
    [
        {"HACKATIME_PORT": "nope"},
        {"HACKATIME_PORT": "70000"},
        {"HACKATIME_DEFAULT_TIMEOUT": "5"},
        {"HACKATIME_DEFAULT_MODE": "sometimes"},
    ],
)
def test_bad_values_are_config_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(environ=env)


def test_unknown_toml_key_and_broken_toml(tmp_path: Path) -> None:
    unknown = tmp_path / "a.toml"
    unknown.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError):
        load_settings(config_file=unknown, environ={})
    broken = tmp_path / "b.toml"
    broken.write_text("port = = 1\n")
    with pytest.raises(ConfigError):
        load_settings(config_file=broken, environ={})


def test_config_command_masks_secrets(tmp_path: Path) -> None:
    result = run_cli(
        "config", "--json", "--data-dir", str(tmp_path), env={"HACKATIME_SECRET": "s3cr3t-value"}
    )
    shown = json.loads(result.stdout)
    assert shown["secret"] == "********" and "s3cr3t-value" not in result.stdout
    assert shown["data_dir"] == str(tmp_path.resolve())
    bad = run_cli("config", "--data-dir", str(tmp_path), check=False, env={"HACKATIME_PORT": "x"})
    assert bad.returncode == 2 and "port" in bad.stderr
