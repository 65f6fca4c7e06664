"""The command line: a Typer app whose commands call use cases (or the HTTP client), never `api/`."""

from __future__ import annotations


def main() -> None:
    # The fast front answers `--help` and `report today` through a server with the standard library alone and
    # hands everything else to the Typer app (cli.main), imported only then.
    from hackatime_lite.cli.fast import main as fast_main

    fast_main()
