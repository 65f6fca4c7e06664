"""Split a JSON array into its top-level items without decoding them, so each can be decoded on its own.

A bulk body whose one item a JSON decoder refuses (invalid UTF-8 in a string, NaN, nesting thousands of
levels deep) is still a list of 24 good heartbeats and one bad one; decoding the items one by one lets the
bad one get its per-item 400 while the others are stored. No JSON library offers that (they fail the whole
document at the first error), hence this small scanner. It checks the top level strictly (brackets, commas,
strings) and leaves everything inside an item to the real decoder. It never recurses: depth is a counter.
"""

from __future__ import annotations

import re

_SPACE = re.compile(rb"[ \t\r\n]*")
# The rest of a string after its opening quote (escapes skipped, unrolled so long strings stay linear).
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# Inside a container, the next thing that matters: a string, or a run of opening or closing brackets.
_STRUCTURE = re.compile(rb'"|[\[{]+|[\]}]+')
# A top-level scalar (number, true, NaN, ...): everything up to the next separator.
_SCALAR = re.compile(rb'[^\s,\[\]{}"]+')
_OPEN = frozenset(b"[{")


def _skip_space(raw: bytes, pos: int) -> int:
    match = _SPACE.match(raw, pos)
    return match.end() if match else pos


def _string_end(raw: bytes, pos: int) -> int | None:
    """End of the string whose opening quote is at `pos - 1`."""
    match = _STRING_REST.match(raw, pos)
    return match.end() if match else None


def _container_end(raw: bytes, pos: int) -> tuple[int, int] | None:
    """(end, deepest nesting) of the array/object opening at `pos`; None when it is never closed."""
    depth = deepest = 0
    while True:
        match = _STRUCTURE.search(raw, pos)
        if match is None:
            return None
        token = match.group()
        if token == b'"':
            end = _string_end(raw, match.end())
            if end is None:
                return None
            pos = end
        elif token[0] in _OPEN:
            depth += len(token)
            deepest = max(deepest, depth)
            pos = match.end()
        elif len(token) >= depth:  # this run closes the item (and maybe what contains it)
            return match.start() + depth, deepest
        else:
            depth -= len(token)
            pos = match.end()


def split_array(raw: bytes, max_items: int | None = None) -> list[tuple[bytes, int]] | None:
    """The top-level items of the JSON array `raw`, each as (its bytes, its nesting depth).

    None when `raw` is not an array, or its top level is malformed (an unclosed string or bracket, a
    missing comma, trailing text). Stops after `max_items` + 1 items, so the caller can refuse a batch that
    is too large without scanning all of it.
    """
    pos = _skip_space(raw, 0)
    if raw[pos : pos + 1] != b"[":
        return None
    pos = _skip_space(raw, pos + 1)
    items: list[tuple[bytes, int]] = []
    if raw[pos : pos + 1] == b"]":
        return items if _skip_space(raw, pos + 1) == len(raw) else None
    while True:
        start, first = pos, raw[pos : pos + 1]
        depth = 0
        end: int | None
        if first == b'"':
            end = _string_end(raw, pos + 1)
        elif first in (b"[", b"{"):
            found = _container_end(raw, pos)
            end, depth = found if found is not None else (None, 0)
        else:
            scalar = _SCALAR.match(raw, pos)
            end = scalar.end() if scalar else None
        if end is None:
            return None
        items.append((raw[start:end], depth))
        if max_items is not None and len(items) > max_items:
            return items
        pos = _skip_space(raw, end)
        separator = raw[pos : pos + 1]
        if separator == b",":
            pos = _skip_space(raw, pos + 1)
        elif separator == b"]":
            return items if _skip_space(raw, pos + 1) == len(raw) else None
        else:
            return None
