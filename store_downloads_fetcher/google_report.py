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
from typing import IO, Iterator, NamedTuple

from shared.core.errors import BadInputError

OBJECT_NAME = re.compile(r"^stats/installs/installs_(?P<package>.+)_(?P<month>\d{6})_(?P<dimension>[a-z_]+)\.csv$")
METRICS = (
    ("downloads", "dailydeviceinstalls"),
    ("updates", "dailydeviceupgrades"),
    ("install_events", "installevents"),
    ("update_events", "updateevents"),
)
COUNTRY = ("country", "countryregion")


class InstallCounts(NamedTuple):
    """One country's counts of one day; None where the file has no such column or a blank cell."""

    country: str  # ISO code, or "" in a file without countries
    downloads: int | None
    updates: int | None
    install_events: int | None
    update_events: int | None


@dataclass(frozen=True)
class GoogleDay:
    date: str
    rows: tuple[InstallCounts, ...]
    missing: tuple[str, ...] = ()  # normalised columns this file has no source column for


@dataclass(frozen=True)
class _Columns:
    """Where a file keeps what we read: positions of Date, each of METRICS, country and package."""

    date: int
    metrics: tuple[int | None, ...]
    country: int | None
    package: int | None

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for (name, _), at in zip(METRICS, self.metrics) if at is None)


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
        columns = _columns([normalise(h) for h in next(reader)])
        days: dict[str, dict[str, list[int | None]]] = defaultdict(dict)
        for date, country, counts in _rows(reader, columns, package):
            slot = days[date].setdefault(country, [None] * len(METRICS))
            for index, value in enumerate(counts):
                if value is not None:
                    slot[index] = (slot[index] or 0) + value
    except StopIteration:
        raise BadInputError("google report: empty file") from None
    except UnicodeDecodeError:
        raise BadInputError("google report: not UTF-16/UTF-8 text") from None
    except csv.Error as exc:
        raise BadInputError(f"google report: broken CSV ({exc})") from None
    return [
        GoogleDay(
            date=d,
            rows=tuple(InstallCounts(c, *v) for c, v in sorted(days[d].items())),
            missing=columns.missing,
        )
        for d in sorted(days)
    ]


def _columns(header: list[str]) -> _Columns:
    """The header's columns by meaning; a file with no date or no count column is refused."""
    col = {name: i for i, name in enumerate(header)}
    if "date" not in col:
        raise BadInputError(f"google report: no Date column (got {header[:5]})")
    columns = _Columns(
        date=col["date"],
        metrics=tuple(col.get(source) for _, source in METRICS),
        country=next((col[c] for c in COUNTRY if c in col), None),
        package=col.get("packagename"),
    )
    if len(columns.missing) == len(METRICS):
        raise BadInputError(f"google report: no install or update column (got {header})")
    return columns


def _rows(reader: Iterator[list[str]], columns: _Columns, package: str) -> Iterator[tuple[str, str, list[int | None]]]:
    """``(date, country, counts)`` of each row of ``package`` (blank lines skipped)."""
    for number, cells in enumerate(reader, start=2):
        if not cells or not any(c.strip() for c in cells):
            continue
        if columns.package is not None and len(cells) > columns.package:
            if cells[columns.package].strip() not in ("", package):
                continue
        date = _date(cells[columns.date] if len(cells) > columns.date else "", number)
        at = columns.country
        country = cells[at].strip().upper() if at is not None and len(cells) > at else ""
        yield date, country, [_count(cells, position, number) for position in columns.metrics]


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
