"""`hackatime-lite alias|label|mapping|exclude add|list|rm`: a user's read-time rules (hackatime_lite.aliases).

Like `goal`, these talk to a running server (the one on the data dir, or --server) over the native rules API, or,
when no server holds the data dir, call the same use cases on the data dir's store. Either way the rules arrive
as the same objects and are printed by one code path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from hackatime_lite.cli.common import ConfigOption, DataDirOption, console, fail, print_json, settings_for
from hackatime_lite.cli.reports import JsonOption, KeyOption, ServerOption, Target, UserOption

alias_app = typer.Typer(help="Show stored values under other names, or merge several into one (read time).",
                        no_args_is_help=True)
label_app = typer.Typer(help="Labels: several projects under one name (a filter and a breakdown).",
                        no_args_is_help=True)
mapping_app = typer.Typer(help="Count files with an extension as a language.", no_args_is_help=True)
exclude_app = typer.Typer(help="Exclude projects from totals and leaderboards, or hide them from lists.",
                          no_args_is_help=True)


class RuleClient:
    """One user's rules of one collection (`aliases`, `labels`, …), over HTTP (`api`) or on a store."""

    def __init__(self, collection: str, *, api: Any = None, user_ref: str = "current", store: Any = None,
                 user_id: int | None = None) -> None:
        self.collection, self.api, self.user_ref, self.store, self.user_id = collection, api, user_ref, store, user_id

    def _user(self) -> int:
        assert self.user_id is not None  # set with the store
        return self.user_id

    def _call(self, method: str, suffix: str = "", body: Any = None) -> Any:
        from hackatime_lite.cli.client import error_message

        response = self.api.request(method, f"/api/native/v1/users/{self.user_ref}/{self.collection}{suffix}",
                                    json=body)
        if response.status_code >= 400:
            raise fail(f"{response.status_code}: {error_message(response)}")
        return response.json()

    def list(self) -> list[dict[str, Any]]:
        import msgspec

        from hackatime_lite import aliases

        if self.api is not None:
            return list(self._call("GET")["data"])
        return list(msgspec.to_builtins(aliases.list_rules(self.store, self._user(), kinds=KINDS[self.collection])))

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        import msgspec

        from hackatime_lite import aliases

        if self.api is not None:
            return dict(self._call("POST", body=body)["data"])
        spec = PARSE[self.collection](body)
        return dict(msgspec.to_builtins(aliases.add_rule(self.store, self._user(), spec)))

    def remove(self, rule_id: int) -> None:
        from hackatime_lite import aliases

        if self.api is not None:
            self._call("DELETE", f"/{rule_id}")
        else:
            aliases.remove_rule(self.store, self._user(), rule_id, kinds=KINDS[self.collection])


def _spec(kind: str, body: dict[str, Any]) -> Any:
    from hackatime_lite import aliases

    if kind == "alias":
        return aliases.rule_spec("alias", dimension=body.get("dimension", "project"), pattern=body.get("pattern"),
                                 value=body.get("value"))
    if kind == "label":
        return aliases.rule_spec("label", pattern=body.get("project"), value=body.get("label"))
    if kind == "language":
        return aliases.rule_spec("language", pattern=body.get("extension"), value=body.get("language"))
    if body.get("hide_unknown") is True:
        return aliases.rule_spec("hide", pattern="")
    return aliases.rule_spec(body.get("mode", "exclude"), pattern=body.get("project"))


# The API's collections (api/native/aliases.py COLLECTIONS), restated: the CLI never imports api/.
KINDS: dict[str, tuple[str, ...]] = {"aliases": ("alias",), "labels": ("label",), "language_mappings": ("language",),
                                     "exclusions": ("exclude", "hide")}
PARSE = {"aliases": lambda b: _spec("alias", b), "labels": lambda b: _spec("label", b),
         "language_mappings": lambda b: _spec("language", b), "exclusions": lambda b: _spec("exclude", b)}


@contextlib.contextmanager
def _client(collection: str, target: Target) -> Iterator[RuleClient]:
    """The server when there is one, else the data dir's store (rules need no analytics replica)."""
    from hackatime_lite.cli.client import ApiClient
    from hackatime_lite.cli.report_sources import SourceError, api_or_store

    settings = settings_for(target.data_dir, target.config)
    try:
        with api_or_store(settings, server=target.server, key=target.key, user=target.user) as where:
            if isinstance(where, ApiClient):
                yield RuleClient(collection, api=where, user_ref=target.user or "current")
            else:
                yield RuleClient(collection, store=where.store, user_id=where.user.id)
    except SourceError as exc:
        raise fail(str(exc), 2 if exc.usage else 1) from exc


def _added(rule: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(rule)
    else:
        console.print(f"added rule {rule['id']}: {_describe(rule)}", highlight=False)


def _describe(rule: dict[str, Any]) -> str:
    kind, pattern, value = rule["kind"], rule["pattern"], rule["value"]
    if kind == "alias":
        return f"{rule['dimension']} {pattern!r} shown as {value!r}"
    if kind == "label":
        return f"project {pattern!r} labelled {value!r}"
    if kind == "language":
        return f"*.{pattern} counted as {value!r}"
    if kind == "hide":
        return f"project {pattern!r} hidden from lists" if pattern else "the unknown project hidden from lists"
    return f"project {pattern!r} excluded from totals and leaderboards"


def _list(collection: str, target: Target, as_json: bool) -> None:
    with _client(collection, target) as rules:
        found = rules.list()
    if as_json:
        print_json(found)
        return
    if not found:
        console.print(f"no {collection.replace('_', ' ')}", highlight=False)
    for rule in found:
        console.print(f"{rule['id']:>6}  {_describe(rule)}", highlight=False)


def _remove(collection: str, target: Target, rule_id: int) -> None:
    with _client(collection, target) as rules:
        rules.remove(rule_id)
    console.print(f"deleted rule {rule_id}", highlight=False)


# -- commands ---------------------------------------------------------------------------------------------------
@alias_app.command("add")
def alias_add(
    pattern: Annotated[str, typer.Argument(help="The stored value: exact, or with * and ? wildcards.")],
    value: Annotated[str, typer.Argument(help="The value shown instead (the same for several merges them).")],
    dimension: Annotated[str, typer.Option("--dimension", "-d", help="project, language, editor, "
                                           "operating_system, machine or category.")] = "project",
    server: ServerOption = None, key: KeyOption = None, user: UserOption = None, data_dir: DataDirOption = None,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Show a value under another name: [bold]hackatime-lite alias add 'api-*' API[/bold]"""
    target = Target(data_dir, config, server, key, user, False)
    with _client("aliases", target) as rules:
        added = rules.add({"dimension": dimension, "pattern": pattern, "value": value})
    _added(added, as_json)


@label_app.command("add")
def label_add(
    label: Annotated[str, typer.Argument(help="The label.")],
    projects: Annotated[list[str], typer.Argument(help="Projects under it (stored or shown names; * and ?).")],
    server: ServerOption = None, key: KeyOption = None, user: UserOption = None, data_dir: DataDirOption = None,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Put projects under a label: [bold]hackatime-lite label add work api web[/bold]"""
    target = Target(data_dir, config, server, key, user, False)
    with _client("labels", target) as rules:
        added = [rules.add({"project": project, "label": label}) for project in projects]
    if as_json:
        print_json(added)
    else:
        for rule in added:
            _added(rule, False)


@mapping_app.command("add")
def mapping_add(
    extension: Annotated[str, typer.Argument(help="A file extension: py, .tsx.")],
    language: Annotated[str, typer.Argument(help="The language those files count as.")],
    server: ServerOption = None, key: KeyOption = None, user: UserOption = None, data_dir: DataDirOption = None,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Count files with an extension as a language: [bold]hackatime-lite mapping add vue JavaScript[/bold]"""
    target = Target(data_dir, config, server, key, user, False)
    with _client("language_mappings", target) as rules:
        added = rules.add({"extension": extension, "language": language})
    _added(added, as_json)


@exclude_app.command("add")
def exclude_add(
    project: Annotated[str, typer.Argument(help="The project (stored or shown name; * and ?). '' with --hide: "
                                           "the unknown project.")],
    hide: Annotated[bool, typer.Option("--hide", help="Still count it, only leave it out of lists.")] = False,
    server: ServerOption = None, key: KeyOption = None, user: UserOption = None, data_dir: DataDirOption = None,
    config: ConfigOption = None, as_json: JsonOption = False,
) -> None:
    """Exclude a project from totals and leaderboards (or --hide it from lists)."""
    target = Target(data_dir, config, server, key, user, False)
    body: dict[str, Any] = {"hide_unknown": True} if hide and not project.strip() else \
        {"project": project, "mode": "hide" if hide else "exclude"}
    with _client("exclusions", target) as rules:
        added = rules.add(body)
    _added(added, as_json)


def _register(app: typer.Typer, collection: str) -> None:
    @app.command("list")
    def list_command(server: ServerOption = None, key: KeyOption = None, user: UserOption = None,
                     data_dir: DataDirOption = None, config: ConfigOption = None,
                     as_json: JsonOption = False) -> None:
        """The rules, oldest first (wildcard rules are tried in this order)."""
        _list(collection, Target(data_dir, config, server, key, user, False), as_json)

    @app.command("rm")
    def remove_command(rule_id: Annotated[int, typer.Argument(help="The rule's id (see `list`).")],
                       server: ServerOption = None, key: KeyOption = None, user: UserOption = None,
                       data_dir: DataDirOption = None, config: ConfigOption = None) -> None:
        """Delete a rule."""
        _remove(collection, Target(data_dir, config, server, key, user, False), rule_id)


for _app, _collection in ((alias_app, "aliases"), (label_app, "labels"), (mapping_app, "language_mappings"),
                          (exclude_app, "exclusions")):
    _register(_app, _collection)


def register(app: typer.Typer) -> None:
    app.add_typer(alias_app, name="alias")
    app.add_typer(label_app, name="label")
    app.add_typer(mapping_app, name="mapping")
    app.add_typer(exclude_app, name="exclude")
