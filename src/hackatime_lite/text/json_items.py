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
# A string from its opening quote (escapes skipped; possessive, so an unclosed one fails in linear time).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
# Inside a container: skip text and whole strings (in C), stop at the next run of opening or closing brackets.
_TO_BRACKETS = re.compile(rb'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+([\[{]++|[\]}]++)', re.DOTALL)
# A top-level scalar (number, true, NaN, ...): everything up to the next separator.
_SCALAR = re.compile(rb'[^\s,\[\]{}"]+')
_OPEN = frozenset(b"[{")
# Bracket runs one body may take to scan. A real batch needs a few per heartbeat (a thousand heartbeats:
# ~5,000); this bounds the time a hostile body ("[1,[1,[1,..." a million deep) can take, to well under a second.
MAX_STEPS = 100_000


class _TooComplex(Exception):
    pass


def _skip_space(raw: bytes, pos: int) -> int:
    match = _SPACE.match(raw, pos)
    return match.end() if match else pos


def _container_end(raw: bytes, pos: int, budget: list[int]) -> tuple[int, int] | None:
    """(end, deepest nesting) of the array/object opening at `pos`; None when it is never closed."""
    depth = deepest = 0
    while True:
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooComplex
        match = _TO_BRACKETS.match(raw, pos)
        if match is None:
            return None
        run = match.group(1)
        if run[0] in _OPEN:
            depth += len(run)
            deepest = max(deepest, depth)
        elif len(run) >= depth:  # this run closes the item (and maybe what contains it)
            return match.start(1) + depth, deepest
        else:
            depth -= len(run)
        pos = match.end()


def split_array(raw: bytes, max_items: int | None = None) -> list[tuple[bytes, int]] | None:
    """The top-level items of the JSON array `raw`, each as (its bytes, its nesting depth).

    None when `raw` is not an array, its top level is malformed (an unclosed string or bracket, a missing
    comma, trailing text), or it is too intricate to scan (MAX_STEPS). Stops after `max_items` + 1 items, so
    the caller can refuse a batch that is too large without scanning all of it.
    """
    budget = [MAX_STEPS]
    pos = _skip_space(raw, 0)
    if raw[pos : pos + 1] != b"[":
        return None
    pos = _skip_space(raw, pos + 1)
    items: list[tuple[bytes, int]] = []
    if raw[pos : pos + 1] == b"]":
        return items if _skip_space(raw, pos + 1) == len(raw) else None
    while True:
        first = raw[pos : pos + 1]
        depth = 0
        end: int | None = None
        if first == b'"':
            string = _STRING.match(raw, pos)
            end = string.end() if string else None
        elif first in (b"[", b"{"):
            try:
                found = _container_end(raw, pos, budget)
            except _TooComplex:
                return None
            if found is not None:
                end, depth = found
        else:
            scalar = _SCALAR.match(raw, pos)
            end = scalar.end() if scalar else None
        if end is None:
            return None
        items.append((raw[pos:end], depth))
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
