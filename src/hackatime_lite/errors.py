"""The one base for everything a caller did wrong.

Use cases raise an `InputError` subclass with a message that is safe to show; each transport maps it once:
the API to HTTP 4xx JSON `{"error": …}` (api/errors.py), the dashboard to an error page or JSON
(web/errors.py), the CLI to the message on stderr and exit status 1 (cli/common.py).
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: an unreadable value, an impossible range, a setting we refuse. Maps to HTTP 400."""

    status_code = 400


class NotFoundError(InputError):
    """The thing asked for does not exist (or is not the caller's to see). Maps to HTTP 404."""

    status_code = 404


class ConflictError(InputError):
    """The request clashes with what is stored (a name taken, a state that forbids it). Maps to HTTP 409."""

    status_code = 409
