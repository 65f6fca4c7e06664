"""A user's own settings (time zone, duration rule, sharing, leaderboard) — read and changed by the API,
the dashboard and the CLI alike. Transport-free."""

from __future__ import annotations

import time
from email.errors import HeaderParseError
from email.headerregistry import Address
from typing import Any

import msgspec

from hackatime_lite.config import Settings
from hackatime_lite.models import SHARE_FLAG_FIELDS, User, check_mode, check_timeout
from hackatime_lite.store import StoreBackend, UserError


class SettingsChange(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields a user may change about themselves; absent fields stay as they are, null resets to the default."""

    timezone: str | msgspec.UnsetType = msgspec.UNSET
    timeout: int | msgspec.UnsetType | None = msgspec.UNSET
    duration_mode: str | msgspec.UnsetType | None = msgspec.UNSET
    leaderboard_opt_out: bool | msgspec.UnsetType = msgspec.UNSET
    share_stats: bool | msgspec.UnsetType = msgspec.UNSET
    share_languages: bool | msgspec.UnsetType = msgspec.UNSET
    share_projects: bool | msgspec.UnsetType = msgspec.UNSET
    share_editors: bool | msgspec.UnsetType = msgspec.UNSET
    share_operating_systems: bool | msgspec.UnsetType = msgspec.UNSET
    share_machines: bool | msgspec.UnsetType = msgspec.UNSET
    share_max_days: int | msgspec.UnsetType | None = msgspec.UNSET
    email: str | msgspec.UnsetType | None = msgspec.UNSET
    weekly_report: bool | msgspec.UnsetType = msgspec.UNSET
    """The weekly report e-mail (notify/); needs an e-mail address."""


def settings_view(user: User, settings: Settings, store: StoreBackend | None = None) -> dict[str, Any]:
    """The caller's settings, with the effective duration rule (their override or the server default);
    with the store, also whether they get the weekly report e-mail."""
    extra = {"weekly_report": store.weekly_report_opt_in(user.id)} if store is not None else {}
    return {
        "username": user.username,
        "timezone": user.timezone,
        "timeout": user.timeout,
        "duration_mode": user.duration_mode,
        "effective_timeout": user.rule(settings.default_rule).timeout,
        "effective_duration_mode": user.rule(settings.default_rule).mode,
        "leaderboard_opt_out": user.leaderboard_opt_out,
        **{flag: getattr(user, flag) for flag in SHARE_FLAG_FIELDS},
        "share_max_days": user.share_max_days,
        "email": user.email,
        **extra,
    }


def parse_change(raw: bytes | dict[str, Any]) -> SettingsChange:
    """A change from JSON bytes or a dict; raises UserError with a readable message."""
    try:
        if isinstance(raw, bytes | bytearray):
            return msgspec.json.decode(raw or b"{}", type=SettingsChange)
        return msgspec.convert(raw, SettingsChange)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise UserError(f"invalid settings: {exc}") from exc


def update_settings(store: StoreBackend, user: User, change: SettingsChange) -> User:
    """Apply a change through the single writer; validation errors raise UserError (RuleError for the
    duration rule: DurationRule's checks)."""
    fields = {name: value for name in change.__struct_fields__
              if (value := getattr(change, name)) is not msgspec.UNSET}
    if fields.get("timeout") is not None:
        check_timeout(fields["timeout"])
    if fields.get("duration_mode") is not None:
        check_mode(fields["duration_mode"])
    if "share_max_days" in fields and fields["share_max_days"] is not None and fields["share_max_days"] < 1:
        raise UserError("share_max_days must be at least 1 (or null for no limit)")
    if fields.get("email") is not None:
        fields["email"] = check_email(fields["email"])
    weekly = fields.pop("weekly_report", None)
    if weekly and not fields.get("email", user.email):
        raise UserError("set an e-mail address to get the weekly report")
    if fields:
        user = store.update_user(user.id, **fields)
    if weekly is not None:
        store.set_weekly_report_opt_in(user.id, weekly, time.time())
    return user


def check_email(value: str) -> str | None:
    """A single address (`name@example.org`), stripped; blank means none. UserError otherwise."""
    text = value.strip()
    if not text:
        return None
    try:
        address = Address(addr_spec=text)
    except (HeaderParseError, ValueError, IndexError):
        raise UserError(f"not an e-mail address: {text[:80]!r}") from None
    if len(text) > 254 or not address.domain or "." not in address.domain or address.addr_spec != text:
        raise UserError(f"not an e-mail address: {text[:80]!r}")
    return text
