"""App Store Sales and Trends (SALES / SUMMARY / DAILY) reports: gzip TSV in, counts out. Pure.

Streams: the TSV is read line by line from the (gzip) file object, and only the totals per
(app, country) are kept, so memory does not grow with the report. Columns are mapped by
header name (Apple appends columns over the years). Product Type Identifiers, from Apple's
"Product Type Identifiers" reference as mirrored by several report tools (docs/downloads.md):
"""

from __future__ import annotations

import csv
import gzip
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Iterable, NamedTuple

from shared.core.errors import BadInputError

DOWNLOAD = frozenset({"1", "1F", "1T", "1E", "1EP", "1EU", "1-B", "F1", "F1-B"})
REDOWNLOAD = frozenset({"3", "3F", "3T", "F3"})
UPDATE = frozenset({"7", "7F", "7T", "F7"})
REQUIRED = ("Product Type Identifier", "Units", "Apple Identifier", "Country Code", "Begin Date")


class UnitCounts(NamedTuple):
    downloads: int  # first-time downloads
    redownloads: int
    updates: int


@dataclass(frozen=True)
class AppleCounts:
    """Per (Apple Identifier, country): first-time downloads, re-downloads, updates. Units can be negative."""

    report_date: str | None  # ISO date of the rows (Begin Date)
    counts: dict[tuple[str, str], UnitCounts]
    rows: int
    ignored_rows: int  # in-app purchases and other product types, or apps no tenant claims


def open_report(raw: IO[bytes]) -> IO[bytes]:
    """The report's bytes: gunzipped when they start with the gzip magic (Apple's Content-Encoding is 'agzip')."""
    head = raw.read(2)
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw, mode="rb") if head == b"\x1f\x8b" else raw


def parse_sales_summary(raw: IO[bytes], *, app_ids: Iterable[str]) -> AppleCounts:
    wanted = set(app_ids)
    text = io.TextIOWrapper(open_report(raw), encoding="utf-8-sig", errors="replace", newline="")
    # Tab-separated without quoting (a title may hold a quote): csv's reader, QUOTE_NONE.
    reader = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE, strict=False)
    header = _header(reader)
    i_type, i_units, i_app = header["Product Type Identifier"], header["Units"], header["Apple Identifier"]
    i_country, i_begin = header["Country Code"], header["Begin Date"]
    widest = max(i_type, i_units, i_app, i_country, i_begin)
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    rows = ignored = 0
    report_date = None
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) <= widest:
                if cells[0].strip().lower().startswith("total"):
                    continue  # a footer some report eras carry
                raise BadInputError(f"apple report line {number}: {len(cells)} cells, header has {len(header)}")
            rows += 1
            kind = cells[i_type].strip()
            slot = 0 if kind in DOWNLOAD else 1 if kind in REDOWNLOAD else 2 if kind in UPDATE else None
            app = cells[i_app].strip()
            if slot is None or app not in wanted:
                ignored += 1
                continue
            report_date = report_date or _iso(cells[i_begin].strip(), number)
            totals[(app, cells[i_country].strip().upper())][slot] += _units(cells[i_units], number)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BadInputError(f"apple report: the gzip data is damaged ({exc})") from None
    except csv.Error as exc:
        raise BadInputError(f"apple report line {reader.line_num}: {exc}") from None
    return AppleCounts(
        report_date=report_date, counts={k: UnitCounts(*v) for k, v in totals.items()}, rows=rows, ignored_rows=ignored
    )


def _header(reader: Any) -> dict[str, int]:
    """Column name -> index, with every required column present (Apple appends columns)."""
    try:
        header = {name.strip(): i for i, name in enumerate(next(reader, []))}
    except (OSError, EOFError) as exc:
        raise BadInputError(f"apple report: the gzip data is damaged ({exc})") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadInputError(f"apple report: missing columns {missing} (got {list(header)[:6]}…)")
    return header


def _units(cell: str, number: int) -> int:
    try:
        value = Decimal(cell.strip() or "0")
    except InvalidOperation:
        raise BadInputError(f"apple report line {number}: Units {cell[:20]!r} is not a number") from None
    if value != value.to_integral_value() or abs(value) > 10**12:
        raise BadInputError(f"apple report line {number}: Units {cell[:20]!r} is not a whole number of units")
    return int(value)


def _iso(us_date: str, number: int) -> str:
    month, _, rest = us_date.partition("/")
    day, _, year = rest.partition("/")
    if not (month.isdigit() and day.isdigit() and year.isdigit() and len(year) == 4):
        raise BadInputError(f"apple report line {number}: Begin Date {us_date[:12]!r} is not MM/DD/YYYY")
    return f"{year}-{int(month):02d}-{int(day):02d}"
