"""One small exception hierarchy, decided at the edge where a failure is first seen.

Callers branch on the class and its fields, never on message text (as httpx does):

* ``RetriableError``: the same call may succeed later (timeouts, 429, 5xx, Redis unreachable).
  Timer runs record it and wait for the next tick; the Event Hub function raises it so the
  host's retry policy redelivers the batch. ``StorageError``, one of them: Blob Storage failed.
* ``ConfigError``: a setting is missing or wrong; retrying cannot help until someone fixes it.
  ``RefusedError``, one of them: a source refused the credentials (HTTP 401/403).
* ``BadInputError``: a source sent something we cannot use (garbage XML, an invalid event, an
  HTTP status that is neither success nor transient). The input is recorded (status, dead
  letter) and the rest of the work goes on.
* ``RequestError``: a caller of the app's own HTTP API asked for something wrong (400), or for
  what is not there (``NotFoundError``, 404).

Every error carries what a handler needs, as fields: ``source`` (what was being read, e.g.
"google reports list"), ``status`` (the HTTP status a server answered, or the one to answer),
``setting`` (the setting to fix) and ``retriable``. Messages never contain secrets: they are
built from redacted URLs and setting *names*.
"""

from __future__ import annotations

EXIT_FAILED, EXIT_SETTINGS, EXIT_UNAVAILABLE = 1, 2, 3  # the commands' exit codes (docs/cli.md)


def exit_code(exc: "FabrikError") -> int:
    """A command's exit code for an error, from its fields: a setting to fix (2), a failure
    that may pass if tried again later (3), anything else (1). The CLI and the edge agree."""
    if exc.setting is not None:
        return EXIT_SETTINGS
    return EXIT_UNAVAILABLE if exc.retriable else EXIT_FAILED


class FabrikError(Exception):
    """Base of every error this app raises on purpose."""

    retriable = False

    def __init__(self, message: str = "", *, source: str | None = None, status: int | None = None):
        super().__init__(message)
        self.source = source
        self.status = status

    @property
    def setting(self) -> str | None:
        return None


class RetriableError(FabrikError):
    """A transient failure: the same request may succeed later."""

    retriable = True


class StorageError(RetriableError):
    """Blob Storage could not be read or written (the message names endpoint and cause).
    Retriable, but a run that cannot save its work stops rather than goes on."""


class ConfigError(FabrikError):
    """One or more settings are missing or malformed.

    ``problems`` maps each bad setting name to what is wrong with it, so one error names
    every bad key at once instead of making the operator fix them one deploy at a time.
    """

    def __init__(self, problems: dict[str, str], *, source: str | None = None, status: int | None = None):
        self.problems = dict(problems)
        listed = "; ".join(f"{name}: {why}" for name, why in sorted(self.problems.items()))
        super().__init__(f"invalid settings ({len(self.problems)}): {listed}", source=source, status=status)

    @property
    def setting(self) -> str | None:
        return min(self.problems) if self.problems else None


class RefusedError(ConfigError):
    """A source refused the credentials of ``setting`` (``status`` 401 or 403)."""


class BadInputError(FabrikError):
    """A source answered with data that cannot be used; retrying the same data will not help."""


class RequestError(FabrikError):
    """A request to the app's own HTTP API is wrong: answered with ``status`` (400 by default)."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message, status=status)


class NotFoundError(RequestError):
    """What a request names is not there (404)."""

    def __init__(self, message: str):
        super().__init__(message, status=404)
