"""One small exception hierarchy, decided at the edge where a failure is first seen.

Callers branch on the class, never on message text:

* ``RetriableError``: the same call may succeed later (timeouts, 429, 5xx, Redis unreachable).
  Timer runs record it and wait for the next tick; the Event Hub function raises it so the
  host's retry policy redelivers the batch. ``StorageError``, one of them: Blob Storage failed.
* ``ConfigError``: a setting is missing or wrong; retrying cannot help until someone fixes it.
* ``BadInputError``: a source sent something we cannot use (garbage XML, an invalid event).
  The input is recorded (status, dead letter) and the rest of the work goes on.

Messages never contain secrets: they are built from redacted URLs and setting *names*.
"""

from __future__ import annotations


class FabrikError(Exception):
    """Base of every error this app raises on purpose."""


class RetriableError(FabrikError):
    """A transient failure: the same request may succeed later."""


class StorageError(RetriableError):
    """Blob Storage could not be read or written (the message names endpoint and cause).
    Retriable, but a run that cannot save its work stops rather than goes on."""


class ConfigError(FabrikError):
    """One or more settings are missing or malformed.

    ``problems`` maps each bad setting name to what is wrong with it, so one error names
    every bad key at once instead of making the operator fix them one deploy at a time.
    """

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        listed = "; ".join(f"{name}: {why}" for name, why in sorted(self.problems.items()))
        super().__init__(f"invalid settings ({len(self.problems)}): {listed}")


class BadInputError(FabrikError):
    """A source answered with data that cannot be used; retrying the same data will not help."""
