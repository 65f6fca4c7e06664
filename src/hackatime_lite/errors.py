"""The one base for everything a caller did wrong.

Use cases raise an `InputError` subclass with a message that is safe to show; each transport maps it once:
the API to HTTP 4xx JSON `{"error": …}` (api/errors.py), the dashboard to an error page or JSON
(web/errors.py), the CLI to the message on stderr and exit status 1 (cli/common.py).

The other kind, `TemporarilyUnavailable`, is our fault and passes by itself (disk full, replica rebuilding):
mapped once per transport too, to HTTP 503 with `Retry-After`.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: an unreadable value, an impossible range, a setting we refuse. Maps to HTTP 400."""

    status_code = 400


class NotFoundError(InputError):
    """The thing asked for does not exist (or is not the caller's to see). Maps to HTTP 404."""

    status_code = 404


class ForbiddenError(InputError):
    """The caller is known but may not do this (a viewer changing a level, a non-member on a team). Maps to
    HTTP 403."""

    status_code = 403


class ConflictError(InputError):
    """The request clashes with what is stored (a name taken, a state that forbids it). Maps to HTTP 409."""

    status_code = 409


class TemporarilyUnavailable(RuntimeError):
    """A fault on our side that passes without the caller changing anything (the disk is full, the data dir
    is read-only, the analytics replica is being rebuilt): nothing was done, try again later. Maps to HTTP 503
    with `Retry-After: retry_after` (seconds). The message is safe to show."""

    retry_after = 30

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        if retry_after is not None:
            self.retry_after = retry_after
