"""Google Play monthly install reports (``installs_<package>_<YYYYMM>_<dimension>.csv``). Pure.

Files are UTF-16 with a BOM (decoded by the BOM; UTF-8 is accepted too). Header names drift
between exports (``Package Name``/``Package name``, ``Country``/``Country / region``, events-only
column sets), so headers are normalised to lower-case letters and digits and looked up by
meaning. Field mapping (docs/downloads.md):

* downloads      <- Daily Device Installs   (devices; empty when the file lacks the column)
* updates        <- Daily Device Upgrades
* install_events <- Install events          (events: reinstalls count too; a different metric)
* update_events  <- Update events
* redownloads: Google has no such breakdown -> empty

Each column has one source: a file without it leaves the column empty and says so in
``GoogleDay.missing``, never substituting another metric.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import IO

from shared.errors import BadInputError

OBJECT_NAME = re.compile(r"^stats/installs/installs_(?P<package>.+)_(?P<month>\d{6})_(?P<dimension>[a-z_]+)\.csv$")
METRICS = (
    ("downloads", "dailydeviceinstalls"),
    ("updates", "dailydeviceupgrades"),
    ("install_events", "installevents"),
    ("update_events", "updateevents"),
)
COUNTRY = ("country", "countryregion")


@dataclass(frozen=True)
class GoogleDay:
    date: str
    rows: tuple[tuple[str, int | None, int | None, int | None, int | None], ...]  # country or "", METRICS
    missing: tuple[str, ...] = ()  # normalised columns this file has no source column for


def normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def text_stream(raw: IO[bytes]) -> IO[str]:
    head = raw.read(4)
    raw.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")


def parse_installs(raw: IO[bytes], *, package: str) -> list[GoogleDay]:
    """Rows of one package's monthly file, grouped by day (oldest first)."""
    reader = csv.reader(text_stream(raw))
    try:
        header = [normalise(h) for h in next(reader)]
    except StopIteration:
        raise BadInputError("google report: empty file") from None
    except UnicodeDecodeError:
        raise BadInputError("google report: not UTF-16/UTF-8 text") from None
    col = {name: i for i, name in enumerate(header)}
    if "date" not in col:
        raise BadInputError(f"google report: no Date column (got {header[:5]})")
    positions = [col.get(source) for _, source in METRICS]
    missing = tuple(name for (name, _), at in zip(METRICS, positions) if at is None)
    i_country = next((col[c] for c in COUNTRY if c in col), None)
    i_package = col.get("packagename")
    if len(missing) == len(METRICS):
        raise BadInputError(f"google report: no install or update column (got {header})")
    days: dict[str, dict[str, list[int | None]]] = defaultdict(dict)
    try:
        for number, cells in enumerate(reader, start=2):
            if not cells or not any(c.strip() for c in cells):
                continue
            if i_package is not None and len(cells) > i_package and cells[i_package].strip() not in ("", package):
                continue
            date = _date(cells[col["date"]] if len(cells) > col["date"] else "", number)
            country = cells[i_country].strip().upper() if i_country is not None and len(cells) > i_country else ""
            slot = days[date].setdefault(country, [None] * len(METRICS))
            for index, position in enumerate(positions):
                value = _count(cells, position, number)
                if value is not None:
                    slot[index] = (slot[index] or 0) + value
    except UnicodeDecodeError:
        raise BadInputError("google report: not UTF-16/UTF-8 text") from None
    except csv.Error as exc:
        raise BadInputError(f"google report: broken CSV ({exc})") from None
    return [
        GoogleDay(date=d, rows=tuple((c, *v) for c, v in sorted(days[d].items())), missing=missing)
        for d in sorted(days)
    ]


def _date(cell: str, number: int) -> str:
    text = cell.strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        raise BadInputError(f"google report line {number}: Date {text[:12]!r} is not YYYY-MM-DD")
    return text


def _count(cells: list[str], position: int | None, number: int) -> int | None:
    if position is None or position >= len(cells) or not cells[position].strip():
        return None  # blank is "not reported for this slice", not 0
    text = cells[position].strip().replace(",", "")
    if not re.match(r"^-?\d{1,12}$", text):
        raise BadInputError(f"google report line {number}: {text[:12]!r} is not a count")
    return int(text)
