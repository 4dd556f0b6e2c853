"""Run store_downloads_fetcher now: the look-back window and open days, or a backfill.

--date YYYY-MM-DD fetches one day; --from/--to an inclusive range (Apple: each day, Pacific
time; Google: the months covering them, re-read even if unchanged). Unchanged days write nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Mapping

import store_downloads_fetcher
from shared.core.errors import ConfigError
from shared.runtime.status import RunReport
from store_downloads_fetcher.apple_run import publication_time

MAX_DAYS = 366


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_day, help="backfill one day (YYYY-MM-DD)")
    parser.add_argument("--from", dest="start", type=_day, help="backfill from this day (inclusive)")
    parser.add_argument("--to", dest="end", type=_day, help="backfill up to this day (inclusive)")


def invoke(args: argparse.Namespace, *, env: Mapping[str, str]) -> RunReport:

    return store_downloads_fetcher.run(env=env, dates=backfill_dates(args.date, args.start, args.end))


def latest_final_day(now: float) -> dt.date:
    """The newest day whose report can be final: Apple publishes a day by 8 a.m. Pacific the next day."""

    day = dt.datetime.fromtimestamp(now, dt.timezone.utc).date() + dt.timedelta(days=1)
    while publication_time(day) > dt.datetime.fromtimestamp(now, dt.timezone.utc):
        day -= dt.timedelta(days=1)
    return day


def backfill_dates(
    date: dt.date | None, start: dt.date | None, end: dt.date | None, *, now: float | None = None
) -> list[dt.date] | None:
    if date and (start or end):
        raise ConfigError({"--date": "use either --date or --from/--to"})
    latest = latest_final_day(time.time() if now is None else now)
    if (date or end) and (date or end) > latest:
        flag = "--date" if date else "--from/--to"
        raise ConfigError(
            {
                flag: f"{date or end} cannot be final yet: Apple publishes a day's report by 8 a.m. "
                f"Pacific the next day; the latest day to backfill now is {latest}"
            }
        )
    if date:
        return [date]
    if not start and not end:
        return None
    return _range(start, end)


def _range(start: dt.date | None, end: dt.date | None) -> list[dt.date]:
    """Every day from ``start`` to ``end``, both given, in order, at most a year."""
    if not (start and end):
        raise ConfigError({"--from/--to": "give both"})
    if end < start:
        raise ConfigError({"--from/--to": f"--to {end} is before --from {start}"})
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise ConfigError({"--from/--to": f"{days} days; at most {MAX_DAYS} (Apple keeps daily reports a year)"})
    return [start + dt.timedelta(days=i) for i in range(days)]


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-27") from None
