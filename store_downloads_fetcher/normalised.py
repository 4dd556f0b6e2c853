"""The normalised CSV contract (docs/downloads.md): one file per version of a store, tenant and
day, written as a change log so that summing every file ever written gives the newest truth.

Columns: ``date,store,tenant,app_id,country,downloads,redownloads,updates,install_events,
update_events,revision,change``. A file of revision R holds the rows of the version it replaces
with their counts negated (``change=retract``), then the rows of version R (``change=add``).
Why: a streaming reader (Spark's file source) reads each new file once and cannot un-read an
old one; with the retractions in the new file, a row that was dropped, a day that became zero
and a changed value all sum right, in any order (docs/decisions.md).

UTF-8, a header row, ISO dates, ISO 3166-1 alpha-2 countries (empty where the source has no
country breakdown), whole numbers (empty where the source has no such breakdown). Cells that
come from source text never start with ``=``, ``+``, ``-`` or ``@`` (spreadsheet formula
injection): such text gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, replace
from typing import Iterable

COLUMNS = (
    "date",
    "store",
    "tenant",
    "app_id",
    "country",
    "downloads",
    "redownloads",
    "updates",
    "install_events",
    "update_events",
    "revision",
    "change",
)
COUNTS = ("downloads", "redownloads", "updates", "install_events", "update_events")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Row:
    date: str
    store: str
    tenant: str
    app_id: str
    country: str
    downloads: int | None
    redownloads: int | None
    updates: int | None
    install_events: int | None = None  # Google only: a different metric from downloads (reinstalls too)
    update_events: int | None = None


def safe_text(value: str) -> str:
    value = value.replace("\r", " ").replace("\n", " ")
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t") else value


def country(value: str) -> str:
    value = value.strip().upper()
    return value if _COUNTRY.match(value) else ""


def clean(rows: Iterable[Row]) -> list[Row]:
    """The rows as they are written (safe text, valid countries), in file order."""
    return [
        replace(r, tenant=safe_text(r.tenant), app_id=safe_text(r.app_id), country=country(r.country))
        for r in sorted(rows, key=lambda r: (r.date, r.app_id, r.country))
    ]


def version_digest(rows: Iterable[Row]) -> str:
    """SHA-256 of a version's content (its rows, not its revision): equal content, equal digest."""
    sha = hashlib.sha256()
    for r in clean(rows):
        sha.update(
            repr(
                (
                    r.date,
                    r.store,
                    r.tenant,
                    r.app_id,
                    r.country,
                    r.downloads,
                    r.redownloads,
                    r.updates,
                    r.install_events,
                    r.update_events,
                )
            ).encode()
        )
    return sha.hexdigest()


def render(rows: Iterable[Row], *, revision: str, retracted: Iterable[Row] = ()) -> bytes:
    """The file of version ``revision``: the replaced version's rows negated, then the new rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for change, sign, group in (("retract", -1, clean(retracted)), ("add", 1, clean(rows))):
        for r in group:
            writer.writerow(
                [
                    r.date,
                    r.store,
                    r.tenant,
                    r.app_id,
                    r.country,
                    *(_num(getattr(r, name), sign) for name in COUNTS),
                    revision,
                    change,
                ]
            )
    return out.getvalue().encode("utf-8")


def added_rows(data: bytes) -> list[Row]:
    """The rows a written file adds (its version of the day), as written: what the next version retracts."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    return [
        Row(
            date=r["date"],
            store=r["store"],
            tenant=r["tenant"],
            app_id=r["app_id"],
            country=r["country"],
            **{name: int(r[name]) if r.get(name) else None for name in COUNTS},
        )
        for r in reader
        if r.get("change") == "add"
    ]


def _num(value: int | None, sign: int) -> str:
    return "" if value is None else str(sign * int(value))
