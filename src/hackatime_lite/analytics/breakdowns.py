"""Breakdowns by several dimensions in one pass: the SQL that turns intervals aggregated by every asked-for
dimension together into the total and one breakdown per dimension (GROUPING SETS), and the order breakdowns
are listed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hackatime_lite.analytics.durations import dimension_column

Breakdown = list[tuple[str | None, float]]


def sorted_breakdown(pairs: Iterable[tuple[str | None, float]]) -> Breakdown:
    # Seconds descending, then name; a missing name sorts after every named entry with the same seconds.
    return sorted(((name, float(seconds)) for name, seconds in pairs),
                  key=lambda item: (-item[1], item[0] is None, item[0] or ""))


def breakdown_columns(dims: Sequence[str]) -> tuple[list[tuple[int, str]], int | None]:
    """([(k, column)] for the scalar dimensions, k of "dependency" or None); k = position in dims + 1."""
    scalar = [(k, dimension_column(dim)) for k, dim in enumerate(dims, start=1) if dim != "dependency"]
    return scalar, (dims.index("dependency") + 1 if "dependency" in dims else None)


def combos_sql(source: str, columns: Sequence[tuple[int, str]], sums: str, key: str | None = None) -> str:
    """SELECT [key,] the columns, `sums` from `source`, grouped by all of them together (few rows)."""
    group = [*([key] if key else []), *(c for _, c in columns)]
    select = ", ".join([*group, sums])
    return f"SELECT {select} FROM {source}" + (f" GROUP BY {', '.join(group)}" if group else "")


def rollup_sql(source: str, columns: Sequence[tuple[int, str]], key: str | None = None) -> str:
    """SELECT (k, [key,] name, seconds) from `source` ([key,] the columns, seconds): k = 0 is the total
    [per key], k > 0 the breakdown by that column. `source` is already aggregated by every column together
    (combos_sql), so one GROUPING SETS pass over it replaces one hash aggregation per dimension over every
    interval (measured ≈ 3× faster for six dimensions)."""
    keyed = f"{key}, " if key else ""
    if not columns:
        return (f"SELECT 0 AS k, {keyed}NULL::VARCHAR AS name, SUM(seconds) FROM {source}"
                + (f" GROUP BY {key}" if key else ""))
    k = "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN {i}" for i, c in columns) + " ELSE 0 END"
    name = "CASE " + " ".join(f"WHEN GROUPING({c}) = 0 THEN {c}" for _, c in columns) + " END"
    sets = ", ".join([f"({key or ''})"] + [f"({keyed}{c})" for _, c in columns])
    return f"SELECT {k} AS k, {keyed}{name} AS name, SUM(seconds) FROM {source} GROUP BY GROUPING SETS ({sets})"
