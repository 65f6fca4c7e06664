"""One cleaning rule for every client-supplied text we store: heartbeat fields and request headers alike.

Stored text ends up in terminals (`report`), CSV exports, log lines and the dashboard, so characters that
move a cursor, break a line or reorder text must not get in: C0/C1 control characters (tab, newline, ESC,
CSI), DEL, the Unicode line/paragraph separators and the bidirectional overrides ("Trojan Source").
Whitespace-like ones become one space so that words stay apart; the rest are removed.
"""

from __future__ import annotations

import re

# \x85 is NEL, U+2028/U+2029 the line and paragraph separators.
_BREAKING_SPACE = re.compile(r"[\t\n\x0b\x0c\r\x1c-\x1f\x85\u2028\u2029]+")
# The remaining C0 and C1 controls, DEL, and the bidi embedding/override/isolate controls.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(value: str) -> str:
    """`value` without control characters (see the module doc); printable text is returned as is."""
    # isprintable() is a fast C check that is true for nearly every real value; the regexes are the slow path.
    if value.isprintable():
        return value
    return _BREAKING_SPACE.sub(" ", _CONTROL.sub("", value))


def clean_text(value: str | None, cap: int) -> str | None:
    """`value` without control characters, trimmed and capped at `cap` characters; None when nothing is left."""
    if value is None:
        return None
    cleaned = strip_controls(value).strip()
    return cleaned[:cap] if cleaned else None
