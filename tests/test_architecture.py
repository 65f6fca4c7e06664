"""The shape of the package, as ARCHITECTURE.md draws it, checked on every run.

- Imports point down the layers only (an `if TYPE_CHECKING:` import is an annotation, not a dependency).
- The CLI never imports `api/`; nothing below `api/` and `web/` imports Litestar or uvicorn.
- SQL against the source of truth is written only in `store/`, DuckDB SQL only in `analytics/`.
- The package top stays small.
The checks read the source with `ast`, so they also run when an import would fail.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "hackatime_lite"

# Lower number = lower layer. A module may import its own layer and any lower one.
LAYERS: dict[str, int] = {
    # the bottom: shared types, pure tables and parsers, settings and on-disk names
    "__init__": 0, "models": 0, "text": 0, "config": 0, "paths": 0, "errors": 0, "runtime": 0,
    # the two engines: the source of truth and the analytics replica
    "store": 1, "analytics": 1,
    # use cases, and the typed context they share
    "context": 2, "ingest": 2, "reports": 2, "accounts": 2, "data": 2, "mirror": 2, "jobs": 2, "notify": 2,
    "goals": 2,  # goal definitions and progress (use cases, like reports)
    "webhooks": 2,  # outgoing webhooks: config, events, the signed delivery job
    "teams": 2,  # teams: membership rules, invites, the team dashboard (over reports)
    "insights": 2,  # AI-coding stats and focus (deep-work) sessions (use cases over reports)
    "aliases": 2,  # per-user aliases, labels, language mappings, exclusions (applied by reports)
    "events": 2,  # in-process fan-out of "this user's heartbeats changed" (live dashboards)
    "metrics": 2,  # Prometheus metrics of an instance (prometheus_client stays out of store/analytics)
    # transports
    "api": 3, "web": 3,
    # composition: the app, the uvicorn runner, the command line and its entry point
    "app": 4, "server": 4,
    "cli": 5, "__main__": 5,
}
WEB_FRAMEWORKS = ("litestar", "uvicorn")
SQL = re.compile(
    r"\b(SELECT\s+[A-Za-z_*(]|INSERT\s+(OR\s+[A-Z]+\s+)?INTO|UPDATE\s+[a-z_]+\s+SET|DELETE\s+FROM|PRAGMA\s+[a-z_]+"
    r"|CREATE\s+(TABLE|INDEX|VIEW)|BEGIN\s+IMMEDIATE)"
)
DRIVERS = ("sqlite3", "sqlite_utils", "duckdb", "psycopg", "psycopg_pool")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, e.g. hackatime_lite.api.auth
    target: str  # dotted module name imported
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_key(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def parse(path: Path) -> ast.Module:
    """The file's syntax tree, parsed once per version of the file (several guards here read every file)."""
    stat = path.stat()
    return _parse(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parse(path: Path, mtime_ns: int, size: int) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def imports_of(path: Path) -> list[Import]:
    stat = path.stat()
    return list(_imports_of(path, stat.st_mtime_ns, stat.st_size))


@functools.cache
def _imports_of(path: Path, mtime_ns: int, size: int) -> tuple[Import, ...]:
    tree = _parse(path, mtime_ns, size)
    skipped = _type_checking_lines(tree)
    me = module_name(path)
    found: list[Import] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [Import(me, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                package = me.split(".")[: len(me.split(".")) - node.level + (1 if path.name == "__init__.py" else 0)]
                base = ".".join([*package, base] if base else package)
            found.append(Import(me, base, node.lineno))
            # `from hackatime_lite import reports` imports the module hackatime_lite.reports
            if base == "hackatime_lite":
                found += [Import(me, f"hackatime_lite.{alias.name}", node.lineno) for alias in node.names
                          if (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()]
    return tuple(found)


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def upward_imports(files: list[Path]) -> list[str]:
    problems = []
    for path in files:
        for imp in imports_of(path):
            if not imp.target.startswith("hackatime_lite.") or imp.target == "hackatime_lite":
                continue
            source, target = layer_key(imp.importer), layer_key(imp.target)
            if source not in LAYERS or target not in LAYERS:
                problems.append(f"{imp.importer}:{imp.line} imports {imp.target}: a layer not in LAYERS")
            elif LAYERS[target] > LAYERS[source]:
                problems.append(f"{imp.importer}:{imp.line} imports {imp.target} (layer {LAYERS[target]} > "
                                f"{LAYERS[source]}): imports must point down")
            elif source == "cli" and target == "api":
                problems.append(f"{imp.importer}:{imp.line} imports {imp.target}: the CLI never imports api/")
    return problems


def test_every_top_level_name_has_a_layer() -> None:
    names = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert names - set(LAYERS) == set(), "add new top-level modules/packages to LAYERS (and ARCHITECTURE.md)"


def test_imports_point_down() -> None:
    assert upward_imports(package_files()) == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    # The guard itself can fail: a store module importing the API is reported.
    bad = PACKAGE / "store" / "_probe_upward.py"
    bad.write_text("from hackatime_lite.api.auth import authenticate\n")
    try:
        problems = upward_imports([bad])
    finally:
        bad.unlink()
    assert len(problems) == 1 and "imports must point down" in problems[0]


def test_web_frameworks_stay_in_the_transports() -> None:
    problems = []
    for path in package_files():
        name = module_name(path)
        if LAYERS.get(layer_key(name), 99) >= LAYERS["api"]:
            continue
        for imp in imports_of(path):
            if imp.target.split(".")[0] in WEB_FRAMEWORKS:
                problems.append(f"{name}:{imp.line} imports {imp.target}")
    assert problems == []


def _string_constants(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            found.append((node.lineno, text))
    return found


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sql_and_database_drivers_only_in_store_and_analytics(path: Path) -> None:
    name = module_name(path)
    if layer_key(name) in ("store", "analytics"):
        return
    tree = parse(path)
    sql = [f"line {line}: {text.strip()[:60]!r}" for line, text in _string_constants(tree)
           if SQL.search(text) and not _is_docstring_like(text)]
    drivers = [f"line {imp.line}: import {imp.target}" for imp in imports_of(path)
               if imp.target.split(".")[0] in DRIVERS]
    assert sql + drivers == [], f"{name} holds SQL or a database driver; move it into store/ or analytics/"


def _is_docstring_like(text: str) -> bool:
    # Prose that mentions a statement ("… then SELECT …") is not SQL; SQL has no sentence-ending period.
    return text.rstrip().endswith(".") and " the " in text


def test_sql_guard_catches_sql() -> None:
    assert SQL.search("SELECT id FROM heartbeats WHERE user_id = ?")
    assert SQL.search("UPDATE api_keys SET last_used_at = ?")
    assert not SQL.search("select a project to filter by")


def test_the_package_top_stays_small() -> None:
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 13, sorted(top)
