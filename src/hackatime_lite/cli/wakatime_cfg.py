"""~/.wakatime.cfg, where editor plugins read `api_url` and `api_key`: read it, and update those two keys in
place, keeping every other key, section and comment, with a timestamped backup of the previous file."""

from __future__ import annotations

import configparser
import os
import time
from collections.abc import Mapping
from pathlib import Path

from hackatime_lite.errors import InputError

SECTION = "settings"
BACKUP_SUFFIX = ".bak-"


class CfgError(InputError):
    """The file cannot be read or updated; the message names the file and the problem."""


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """wakatime-cli and the legacy client look in $WAKATIME_HOME first, then the home directory."""
    environ = os.environ if environ is None else environ
    home = environ.get("WAKATIME_HOME")
    return (Path(home).expanduser() if home else Path.home()) / ".wakatime.cfg"


def read_settings(path: Path) -> dict[str, str] | None:
    """The [settings] keys, or None when the file does not exist."""
    if not path.exists():
        return None
    # No interpolation: plugins store regexes with `%` and `$` (ignore patterns) that it would misread.
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (configparser.Error, UnicodeDecodeError, OSError) as exc:
        raise CfgError(f"{path} cannot be read: {exc}") from exc
    return dict(parser[SECTION]) if parser.has_section(SECTION) else {}


def updated_text(current: str, values: Mapping[str, str]) -> str:
    """`current` with the [settings] keys in `values` set (added after the section's last key if new)."""
    from configupdater import ConfigUpdater
    from configupdater.parser import ParsingError

    updater = ConfigUpdater(strict=False)
    try:
        updater.read_string(current)
    except (ParsingError, configparser.Error) as exc:
        raise CfgError(f"the existing file cannot be parsed: {exc}") from exc
    if not updater.has_section(SECTION):
        # Plugins read [settings] wherever it is; first is where people look for it.
        if updater.sections():
            updater[updater.sections()[0]].add_before.section(SECTION).space()
        else:
            updater.add_section(SECTION)
    section = updater[SECTION]
    for key, value in values.items():
        if key in section:
            section[key].value = value
        elif section.options():
            section[section.options()[-1]].add_after.option(key, value)
        else:
            section[key] = value
    return str(updater)


def backup_path(path: Path, now: float | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    candidate = path.with_name(f"{path.name}{BACKUP_SUFFIX}{stamp}")
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}{BACKUP_SUFFIX}{stamp}-{counter}")
        counter += 1
    return candidate


def write_settings(path: Path, values: Mapping[str, str]) -> tuple[str, Path | None]:
    """Set `values` in [settings]; returns the new text and the backup of the old file (None if new)."""
    try:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise CfgError(f"{path} cannot be read: {exc}") from exc
    # Imported here: reading the key (cli.fast's `report today`) must not pay for shutil and tempfile.
    import shutil
    import tempfile

    text = updated_text(current, values)
    backup = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            backup = backup_path(path)
            shutil.copy2(path, backup)
        # Write beside it and rename: an editor reading the file never sees half of it.
        fd, tmp_name = tempfile.mkstemp(prefix=".wakatime.cfg.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        # The file holds an API key: keep an existing file's mode, else readable by the owner only.
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o600)
        os.replace(tmp_name, path)
    except OSError as exc:
        raise CfgError(f"{path} cannot be written: {exc}") from exc
    return text, backup
