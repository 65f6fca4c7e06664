"""Per-user aliases, labels, language mappings and exclusions: checked here, stored in the store
(`alias_rules`), compiled (aliases.rules) and applied by reports.py when coding time is read — stored heartbeats
are never rewritten, and rules are read from the store on every read, so a change shows in the next one.

Transports (API, dashboard, CLI) call add_rule / list_rules / remove_rule; reports.py calls rules_for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import msgspec

from hackatime_lite.aliases.rules import RULE_DIMENSIONS, CompiledRules, compile_rules, is_wildcard
from hackatime_lite.errors import InputError, NotFoundError
from hackatime_lite.store.interface import StoreBackend
from hackatime_lite.store.records import ALIAS_KINDS, AliasRule, AliasRuleSpec

__all__ = ["ALIAS_KINDS", "RULE_DIMENSIONS", "CompiledRules", "RuleView", "add_rule", "compile_rules",
           "excluded_by_user", "list_rules", "remove_rule", "rule_spec", "rules_for"]

MAX_TEXT = 200  # characters in a pattern or display value (project names are capped at ingest similarly)
MAX_RULES = 500  # per user: every read compiles them
_EXTENSION = re.compile(r"[a-z0-9_+\-]{1,32}")
# Control characters never occur in names a plugin sends; a pattern with them is a mistake.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RuleView(msgspec.Struct, kw_only=True):
    """A rule as the API, the dashboard and the CLI show it."""

    id: int
    kind: str
    dimension: str
    pattern: str
    value: str
    created_at: float


def _view(rule: AliasRule) -> RuleView:
    s = rule.spec
    return RuleView(id=rule.id, kind=s.kind, dimension=s.dimension, pattern=s.pattern, value=s.value,
                    created_at=rule.created_at)


def _text(name: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string")
    text = value.strip()
    if not text and not empty:
        raise InputError(f"{name} must not be empty")
    if len(text) > MAX_TEXT:
        raise InputError(f"{name} is longer than {MAX_TEXT} characters")
    if _CONTROL.search(text):
        raise InputError(f"{name} must not contain control characters")
    return text


def rule_spec(kind: str, *, dimension: str | None = None, pattern: object = None,
              value: object = None) -> AliasRuleSpec:
    """A checked rule (InputError, HTTP 400, for anything malformed). `pattern`/`value` by kind:
    alias: original value (exact or with * / ?) -> display value; label: project -> label name;
    language: file extension -> language; exclude / hide: project (hide "": the unknown project)."""
    if kind not in ALIAS_KINDS:
        raise InputError(f"unknown rule kind {kind!r} (use one of {', '.join(ALIAS_KINDS)})")
    if kind == "alias":
        dim = dimension or "project"
        if dim not in RULE_DIMENSIONS:
            raise InputError(f"unknown dimension {dim!r} (use one of {', '.join(RULE_DIMENSIONS)})")
        original = _text("pattern", pattern)
        if original.replace("*", "") == "" and "?" not in original:
            # "*" alone would show every value as one: almost surely a slip, and it hides all other rules.
            raise InputError("pattern must name something besides wildcards")
        return AliasRuleSpec(kind=kind, dimension=dim, pattern=original, value=_text("value", value))
    if dimension not in (None, "", "project", "language"):
        raise InputError(f"a {kind} rule has no dimension to choose")
    if kind == "label":
        return AliasRuleSpec(kind=kind, dimension="project", pattern=_text("project", pattern),
                             value=_text("label", value))
    if kind == "language":
        ext = _text("extension", pattern).lower().lstrip(".")
        if not _EXTENSION.fullmatch(ext):
            raise InputError("extension must be 1-32 letters, digits, _, + or - (like 'py' or '.tsx')")
        return AliasRuleSpec(kind=kind, dimension="language", pattern=ext, value=_text("language", value))
    project = _text("project", pattern, empty=(kind == "hide"))
    if kind == "exclude" and is_wildcard(project) and project.replace("*", "") == "":
        raise InputError("excluding every project would leave nothing to count")
    return AliasRuleSpec(kind=kind, dimension="project", pattern=project, value="")


def add_rule(store: StoreBackend, user_id: int, spec: AliasRuleSpec) -> RuleView:
    if len(store.list_alias_rules(user_id)) >= MAX_RULES:
        raise InputError(f"at most {MAX_RULES} rules per user")
    return _view(store.add_alias_rule(user_id, spec))


def list_rules(store: StoreBackend, user_id: int, *, kinds: tuple[str, ...] = ALIAS_KINDS) -> list[RuleView]:
    return [_view(rule) for rule in store.list_alias_rules(user_id) if rule.spec.kind in kinds]


def remove_rule(store: StoreBackend, user_id: int, rule_id: int, *, kinds: tuple[str, ...] = ALIAS_KINDS) -> None:
    """Delete the user's rule (NotFoundError, HTTP 404, when it is not theirs or not of `kinds`)."""
    found = next((r for r in store.list_alias_rules(user_id) if r.id == rule_id), None)
    if found is None or found.spec.kind not in kinds or not store.delete_alias_rule(user_id, rule_id):
        raise NotFoundError("no such rule")


def rules_for(store: StoreBackend, user_id: int) -> CompiledRules:
    """The user's rules as they are now (read on every call: no cache to go stale)."""
    return compile_rules(store.list_alias_rules(user_id))


def excluded_by_user(store: StoreBackend,
                     known: Callable[[int, str], Sequence[str | None]]) -> dict[int, list[str]]:
    """{user id: stored project values excluded from their totals}, for the leaderboard build; `known(user id,
    dimension)` lists a user's stored values when wildcard rules need them."""
    result: dict[int, list[str]] = {}
    for user_id in store.excluded_projects():
        values = [v for v in rules_for(store, user_id).excluded_values(functools.partial(known, user_id)) if v]
        if values:
            result[user_id] = values
    return result
