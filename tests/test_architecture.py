"""The shape of the package, as ARCHITECTURE.md draws it, checked on every run.

- Imports point down the layers only (an `if TYPE_CHECKING:` import is an annotation, not a dependency).
- The CLI never imports `api/`; nothing below `api/` and `web/` imports Litestar or uvicorn.
- SQL against the source of truth is written only in `store/`, DuckDB SQL only in `analytics/`.
- The package top stays small.
The checks read the source with `ast`, so they also run when an import would fail.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "hackatime_lite"
# On one xdist worker: the guards share the parsed files (_gather), which cost ~1 s of CPU per process to build.
pytestmark = pytest.mark.xdist_group("architecture")

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


@dataclass(frozen=True)
class _Facts:
    """What the guards read from one file, gathered in one pass over its syntax tree (once per version of
    the file: several guards here read every file)."""

    imports: tuple[Import, ...]  # outside `if TYPE_CHECKING:` blocks
    strings: tuple[tuple[int, str], ...]  # every string constant, and each f-string's constant text


def _facts(path: Path) -> _Facts:
    stat = path.stat()
    return _gather(path, stat.st_mtime_ns, stat.st_size)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


# Facts gathered by earlier runs, in pytest's cache directory (.pytest_cache), by digest of everything they
# depend on: the file's path and bytes, the package's file list (`from hackatime_lite import x` is resolved
# against it) and the code below that gathers them. Parsing the whole package costs ~1.3 s of CPU per run; an
# unchanged file is read, hashed and taken from the cache instead (pytest --cache-clear starts afresh).
_CACHE_KEY = "hackatime-lite/architecture-facts"
_stored: dict[str, list[list[list[Any]]]] = {}
_used: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def _facts_across_runs(request: pytest.FixtureRequest) -> Iterator[None]:
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        _stored.update(cache.get(_CACHE_KEY, {}))
    yield
    if cache is not None:
        with contextlib.suppress(OSError, TypeError, ValueError):  # a cache that cannot be written is no failure
            cache.set(_CACHE_KEY, {digest: facts for digest, facts in _stored.items() if digest in _used})


@functools.cache
def _fingerprint() -> bytes:
    """The package's file list and the source of the code that gathers facts."""
    files = "\n".join(sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*")))
    code = "".join(inspect.getsource(fn) for fn in (_parse, _from_import, _is_type_checking, module_name))
    return hashlib.sha256(f"{files}\0{code}".encode()).digest()


@functools.cache
def _gather(path: Path, mtime_ns: int, size: int) -> _Facts:
    source = path.read_bytes()
    digest = hashlib.sha256(_fingerprint() + str(path).encode() + b"\0" + source).hexdigest()
    _used.add(digest)
    stored = _stored.get(digest)
    if stored is not None:
        imports, strings = stored
        return _Facts(tuple(Import(*imp) for imp in imports), tuple((line, text) for line, text in strings))
    facts = _parse(path, source)
    _stored[digest] = [[[imp.importer, imp.target, imp.line] for imp in facts.imports],
                       [[line, text] for line, text in facts.strings]]
    return facts


def _parse(path: Path, source: bytes) -> _Facts:
    # One explicit-stack walk instead of three ast.walk()s (ast.walk's generic child iteration was ~90 % of
    # this module's CPU); what is collected is the same as walking the tree once per question.
    tree = ast.parse(source.decode(), filename=str(path))
    me = module_name(path)
    imports: list[Import] = []
    strings: list[tuple[int, str]] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]  # (node, inside an `if TYPE_CHECKING:` body)
    while stack:
        node, annotation_only = stack.pop()
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                strings.append((node.lineno, node.value))
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            strings.append((node.lineno, text))
        elif not annotation_only and isinstance(node, ast.Import):
            imports += [Import(me, alias.name, node.lineno) for alias in node.names]
        elif not annotation_only and isinstance(node, ast.ImportFrom):
            imports += _from_import(node, me, path)
        if _is_type_checking(node):  # its body is annotations only; its `else:` is real code
            assert isinstance(node, ast.If)
            stack += [(child, True) for child in node.body]
            stack += [(child, annotation_only) for child in (node.test, *node.orelse)]
            continue
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                stack += [(child, annotation_only) for child in value if isinstance(child, ast.AST)]
            elif isinstance(value, ast.AST):
                stack.append((value, annotation_only))
    # Source order, as ast.walk's callers reported them (stable for the messages).
    imports.sort(key=lambda imp: imp.line)
    strings.sort(key=lambda found: found[0])
    return _Facts(tuple(imports), tuple(strings))


def _from_import(node: ast.ImportFrom, me: str, path: Path) -> list[Import]:
    base = node.module or ""
    if node.level:  # relative import: resolve against this module's package
        package = me.split(".")[: len(me.split(".")) - node.level + (1 if path.name == "__init__.py" else 0)]
        base = ".".join([*package, base] if base else package)
    found = [Import(me, base, node.lineno)]
    # `from hackatime_lite import reports` imports the module hackatime_lite.reports
    if base == "hackatime_lite":
        found += [Import(me, f"hackatime_lite.{alias.name}", node.lineno) for alias in node.names
                  if (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()]
    return found


def imports_of(path: Path) -> list[Import]:
    return list(_facts(path).imports)


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


def sql_and_drivers_outside_the_engines(files: list[Path]) -> list[str]:
    """Each file outside store/ and analytics/ that holds SQL or imports a database driver, with the lines."""
    problems = []
    for path in files:
        name = module_name(path)
        if layer_key(name) in ("store", "analytics"):
            continue
        facts = _facts(path)
        sql = [f"line {line}: {text.strip()[:60]!r}" for line, text in facts.strings
               if SQL.search(text) and not _is_docstring_like(text)]
        drivers = [f"line {imp.line}: import {imp.target}" for imp in facts.imports
                   if imp.target.split(".")[0] in DRIVERS]
        if sql + drivers:
            problems.append(f"{name} holds SQL or a database driver; move it into store/ or analytics/: "
                            f"{sql + drivers}")
    return problems


def test_sql_and_database_drivers_only_in_store_and_analytics() -> None:
    # One test over every file (it was one test per file: ~220 tests whose per-test cost outweighed the check).
    files = package_files()
    assert len(files) > 100  # it does look at the package
    assert sql_and_drivers_outside_the_engines(files) == []


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
