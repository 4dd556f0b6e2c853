"""The normalised CSV contract: ``date,store,tenant,app_id,country,downloads,redownloads,updates,
install_events,update_events`` (the last two added later, at the end: read columns by name).

UTF-8, a header row, ISO dates, ISO 3166-1 alpha-2 countries (empty where the source has no
country breakdown, or sent something that is not a country code), whole numbers (empty where
the source has no such breakdown). Cells that come from source text never start with ``=``,
``+``, ``-`` or ``@`` (spreadsheet formula injection): such text gets a leading apostrophe.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from typing import Iterable

COLUMNS = ("date", "store", "tenant", "app_id", "country", "downloads", "redownloads", "updates",
           "install_events", "update_events")
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


def render(rows: Iterable[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in sorted(rows, key=lambda r: (r.date, r.app_id, r.country)):
        writer.writerow([r.date, r.store, safe_text(r.tenant), safe_text(r.app_id), country(r.country),
                         _num(r.downloads), _num(r.redownloads), _num(r.updates),
                         _num(r.install_events), _num(r.update_events)])
    return out.getvalue().encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _num(value: int | None) -> str:
    return "" if value is None else str(int(value))
