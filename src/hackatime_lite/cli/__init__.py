"""The command line: a Typer app whose commands call use cases (or the HTTP client), never `api/`."""

from __future__ import annotations


def main() -> None:
    # Imported here so `import hackatime_lite.cli.<module>` stays cheap for tests and tools.
    from hackatime_lite.cli.main import app

    app()
