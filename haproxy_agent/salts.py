"""Daily salts: what makes a shipped client hash unlinkable once its day is over.

Why: with only a long-lived key, whoever holds it can hash all 2^32 IPv4 addresses (about 25
CPU-minutes) and re-identify every stored hash of every day, and link a listener's days. So each
UTC day has its own random salt, shared by every edge through a small blob
(``<LOGS_SALT_CONTAINER>/<YYYY-MM-DD>.salt``) so that within a day the same client hashes the
same on every edge, and deleted ``GRACE_SECONDS`` (3 h) after its day ends: at most 27 hours
after it was made. Then nobody, holding every key and setting, can recompute or link that day's
hashes (docs/logs.md).

The first edge that needs a day's salt creates it (``overwrite=False``: of two edges racing,
one wins and the other reads the winner's). A salt is used and created only for today, and for
yesterday within the grace (the hourly timer ships the day's last rotation after midnight).
Records of any other day (an edge that was down, a clock far off) get a salt of this run only,
made in memory and never stored: their clients stay apart within the run and link to nothing.
Every run deletes the salts past their grace, and the container's lifecycle rule deletes what a
stopped fleet left.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from typing import Any, Callable

from shared.core.errors import StorageError
from shared.privacy.identity import IdentityHasher

log = logging.getLogger("haproxy_agent.ship_logs")
SALT_BYTES = 32
DAY = 86400
GRACE_SECONDS = 3 * 3600
LABEL = b"fabrik-daily-salt-v1\x00"
EPOCH = dt.date(1970, 1, 1)


class SaltUnavailable(StorageError):
    """The salt container could not be read or written: nothing is shipped without a salt."""


class DailySalts:
    """The hashers of one run, one per UTC day of the records; salts kept in memory only."""

    def __init__(self, container: Any, key: bytes, *, now: float, describe: Callable[[Exception, str], str]):
        """``now``: the run's time (epoch seconds), which says which days' salts are shared."""
        self.container = container
        self.key = key
        self.now = now
        self.today = int(now // DAY)
        self.describe = describe
        self._hashers: dict[int, IdentityHasher] = {}
        self.late_days: set[int] = set()

    def hasher(self, day: int) -> IdentityHasher:
        """The hasher of the UTC day ``day`` (days since 1970-01-01)."""
        found = self._hashers.get(day)
        if found is None:
            if not self._expired(day) and day <= self.today:
                salt = self._shared_salt(day)
            else:  # too old (its salt is gone, or must go) or ahead: a salt of this run only
                salt = secrets.token_bytes(SALT_BYTES)
                self.late_days.add(day)
            found = self._hashers[day] = IdentityHasher(hmac.new(self.key, LABEL + salt, hashlib.sha256).digest())
        return found

    def _shared_salt(self, day: int) -> bytes:
        from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError

        name = salt_name(day)
        try:
            try:  # the common case: an edge (or an earlier run) made it; else make it
                text = self.container.download_blob(name).readall().decode("ascii").strip()
            except ResourceNotFoundError:
                try:
                    self.container.upload_blob(name, secrets.token_hex(SALT_BYTES).encode(), overwrite=False)
                    log.info("daily salt %s created", name)
                except ResourceExistsError:
                    pass  # another edge made it in between: read theirs
                text = self.container.download_blob(name).readall().decode("ascii").strip()
        except AzureError as exc:  # the container missing, rights refused, storage down
            raise SaltUnavailable(self.describe(exc, f"daily salt {name}")) from None
        try:
            salt = bytes.fromhex(text)
        except ValueError:
            salt = b""
        if len(salt) != SALT_BYTES:
            raise SaltUnavailable(f"daily salt {name} is not {SALT_BYTES} bytes of hex: delete it for a new one")
        return salt

    def _expired(self, day: int) -> bool:
        return self.now >= (day + 1) * DAY + GRACE_SECONDS

    def prune(self) -> list[str]:
        """Delete the salts past their grace (and anything else in the container); their names."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        gone = []
        try:
            for blob in self.container.list_blobs():
                day = _day_of(blob.name)
                if day is not None and not self._expired(day):
                    continue
                try:
                    self.container.delete_blob(blob.name)
                except ResourceNotFoundError:
                    pass  # another edge deleted it first
                gone.append(blob.name)
        except AzureError as exc:
            raise SaltUnavailable(self.describe(exc, "deletion of old daily salts")) from None
        for name in gone:
            log.info("daily salt %s deleted: its day is over", name)
        return gone


def salt_name(day: int) -> str:
    return f"{(EPOCH + dt.timedelta(days=day)).isoformat()}.salt"


def _day_of(name: str) -> int | None:
    """The day a salt blob is for; None for anything else in the container (deleted too)."""
    if not name.endswith(".salt"):
        return None
    try:
        return (dt.date.fromisoformat(name[: -len(".salt")]) - EPOCH).days
    except ValueError:
        return None
