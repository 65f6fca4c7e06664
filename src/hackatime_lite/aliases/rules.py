"""A user's read-time rules compiled for one read (pure: no store, no SQL).

- aliases: per dimension, original value -> display value. Exact patterns are tried first, then wildcard
  patterns (`*` any run, `?` one character; nothing else is special) in the order they were added; the first
  match wins. A value no rule matches is shown as it is, except languages, which fall back to the server-wide
  canonical names (text/languages.py: "py", "python3" and "Python" are one language). A missing value (None,
  "") is never renamed: it stays the dimension's "Unknown".
- labels: label -> project patterns; a pattern matches a project's stored or displayed name.
- exclude / hide: project patterns (matched the same way); "" in hide is the unknown project.

Everything here maps (value, seconds) pairs and re-sums them, so it is exact and additive whatever path (raw
rows or rollups) computed the pairs: the rules compose with any read strategy below them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from hackatime_lite.store.records import AliasRule
from hackatime_lite.text.languages import canonical_language

RULE_DIMENSIONS = ("project", "language", "editor", "operating_system", "machine", "category")
Pairs = Iterable[tuple[str | None, float]]
# dimension -> every stored value of the user's (asked only when a wildcard rule makes it necessary)
KnownValues = Callable[[str], Sequence[str | None]]


def is_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


@lru_cache(maxsize=4096)
def _matcher(pattern: str) -> re.Pattern[str]:
    # Only * and ? are special (fnmatch would also read [..] as a set, which project names do contain).
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL)


def matches(pattern: str, value: str) -> bool:
    return _matcher(pattern).fullmatch(value) is not None if is_wildcard(pattern) else pattern == value


@dataclass
class _DimensionRules:
    exact: dict[str, str] = field(default_factory=dict)
    wildcards: list[tuple[str, str]] = field(default_factory=list)

    def display(self, value: str) -> str | None:
        found = self.exact.get(value)
        if found is not None:
            return found
        for pattern, display in self.wildcards:
            if matches(pattern, value):
                return display
        return None


@dataclass
class CompiledRules:
    dimensions: dict[str, _DimensionRules] = field(default_factory=dict)
    labels: dict[str, list[str]] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)

    # -- display values ---------------------------------------------------------------------------------
    def display(self, dimension: str, value: str | None) -> str | None:
        if value in (None, ""):
            return value
        assert value is not None  # narrowed above
        rules = self.dimensions.get(dimension)
        found = rules.display(value) if rules else None
        if found is not None:
            return found
        return canonical_language(value) if dimension == "language" else value

    def map_pairs(self, dimension: str, pairs: Pairs) -> list[tuple[str | None, float]]:
        """The pairs under their display values, re-summed, seconds descending then name (missing last)."""
        merged: dict[str | None, float] = {}
        for value, seconds in pairs:
            shown = self.display(dimension, value)
            merged[shown] = merged.get(shown, 0.0) + seconds
        return sorted(merged.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))

    def map_breakdowns(self, breakdowns: Mapping[str, Pairs]) -> dict[str, list[tuple[str | None, float]]]:
        """Every breakdown under display values; hidden projects left out of the project list; with labels,
        a "label" breakdown (a project in two labels counts in both; time in no label is not listed)."""
        mapped = {dim: (self.map_pairs(dim, pairs) if dim in RULE_DIMENSIONS else list(pairs))
                  for dim, pairs in breakdowns.items()}
        if self.labels and "project" in breakdowns:
            mapped["label"] = self.label_pairs(breakdowns["project"])
        if "project" in mapped and self.hidden:
            mapped["project"] = [(v, s) for v, s in mapped["project"] if not self.is_hidden(v)]
        return mapped

    # -- projects: labels, exclusions, hiding ------------------------------------------------------------------
    def _project_matches(self, patterns: Sequence[str], value: str | None) -> bool:
        if value in (None, ""):
            return "" in patterns
        assert value is not None  # narrowed above
        shown = self.display("project", value) or ""
        return any(p != "" and (matches(p, value) or matches(p, shown)) for p in patterns)

    def is_hidden(self, project: str | None) -> bool:
        return self._project_matches(self.hidden, project)

    def is_excluded(self, project: str | None) -> bool:
        return self._project_matches(self.excluded, project)

    def label_pairs(self, project_pairs: Pairs) -> list[tuple[str | None, float]]:
        sums: dict[str | None, float] = {}
        for value, seconds in project_pairs:
            for label, patterns in self.labels.items():
                if self._project_matches(patterns, value):
                    sums[label] = sums.get(label, 0.0) + seconds
        return sorted(sums.items(), key=lambda item: (-item[1], item[0] or ""))

    def labels_of(self, project: str | None) -> list[str]:
        return [label for label, patterns in self.labels.items() if self._project_matches(patterns, project)]

    def _needs_known_projects(self, patterns: Iterable[str]) -> bool:
        """Whether matching `patterns` against stored projects needs the list of them: a wildcard, or a name some
        rule shows other projects as."""
        rules = self.dimensions.get("project")
        shown = set(rules.exact.values()) | {d for _, d in rules.wildcards} if rules else set()
        return any(is_wildcard(p) or p in shown for p in patterns)

    def excluded_values(self, known: KnownValues) -> list[str | None]:
        """The stored project values excluded from every total (what the analytics query leaves out)."""
        if not self.excluded:
            return []
        if not self._needs_known_projects(self.excluded):
            # Plain names no rule shows anything else as: the stored value is the name itself.
            return [p for p in self.excluded if p != ""]
        return [v for v in known("project") if v not in (None, "") and self.is_excluded(v)]

    # -- filters ------------------------------------------------------------------------------------------------
    def originals(self, dimension: str, wanted: Iterable[str | None], known: KnownValues) -> list[str | None]:
        """The stored values shown as one of `wanted` (display values; None / "" the missing value)."""
        wanted = list(wanted)
        rules = self.dimensions.get(dimension)
        if dimension != "language" and not rules:
            return wanted
        targets = set(wanted)
        needs_known = dimension == "language" or any(display in targets for _, display in rules.wildcards) \
            if rules else dimension == "language"
        if needs_known:
            values = list(known(dimension))
            candidates = {*values, *(w for w in wanted if w not in (None, ""))}
        else:
            assert rules is not None  # needs_known is True without rules
            candidates = {*(w for w in wanted if w not in (None, "")), *rules.exact}
        found: list[str | None] = [w for w in wanted if w in (None, "")]
        found += sorted(v for v in candidates if v not in (None, "") and self.display(dimension, v) in targets)
        return found

    def label_projects(self, labels: Iterable[str], known: KnownValues) -> list[str | None]:
        """The stored projects under any of `labels` (an unknown label: none)."""
        patterns = [p for label in labels for p in self.labels.get(label, [])]
        if not patterns:
            return []
        return [v for v in known("project") if self._project_matches(patterns, v)]

    def query_filters(self, filters: Mapping[str, Iterable[str | None]] | None,
                      known: KnownValues) -> dict[str, list[str | None]] | None:
        """Filters on display values (and "label") turned into filters on stored values for the analytics query;
        excluded projects become the "!project" filter (left out of every total)."""
        result: dict[str, list[str | None]] = {}
        label_projects: list[str | None] | None = None
        for dim, values in (filters or {}).items():
            if dim == "label":
                label_projects = self.label_projects([v for v in values if v], known)
            elif dim in RULE_DIMENSIONS:
                result[dim] = self.originals(dim, values, known)
            else:
                result[dim] = list(values)
        if label_projects is not None:
            result["project"] = ([v for v in result["project"] if v in set(label_projects)]
                                 if "project" in result else label_projects)
        excluded = self.excluded_values(known)
        if excluded:
            result["!project"] = list(excluded)
        return result or None

    @property
    def is_empty(self) -> bool:
        return not (self.dimensions or self.labels or self.extensions or self.excluded or self.hidden)


def compile_rules(rules: Iterable[AliasRule]) -> CompiledRules:
    """Rules in the order they were added (the store lists them oldest first)."""
    compiled = CompiledRules()
    for rule in rules:
        spec = rule.spec
        if spec.kind == "alias":
            target = compiled.dimensions.setdefault(spec.dimension, _DimensionRules())
            if is_wildcard(spec.pattern):
                target.wildcards.append((spec.pattern, spec.value))
            else:
                target.exact.setdefault(spec.pattern, spec.value)  # the first rule for a name wins
        elif spec.kind == "label":
            compiled.labels.setdefault(spec.value, []).append(spec.pattern)
        elif spec.kind == "language":
            compiled.extensions.setdefault(spec.pattern, spec.value)
        elif spec.kind == "exclude":
            compiled.excluded.append(spec.pattern)
        elif spec.kind == "hide":
            compiled.hidden.append(spec.pattern)
    return compiled
