"""One run of Google Play: per tenant, the months whose reports changed, read again whole."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from shared.core.errors import FabrikError
from shared.runtime.logs import get_logger
from shared.runtime.status import RunReport
from store_downloads_fetcher import google
from store_downloads_fetcher.google_report import parse_installs
from store_downloads_fetcher.normalised import Row
from store_downloads_fetcher.output import Output
from store_downloads_fetcher.settings import DownloadsSettings, GoogleSettings
from store_downloads_fetcher.state import DownloadState, GoogleDay, GoogleObject


def run_google(
    settings: DownloadsSettings,
    state: DownloadState,
    out: Output,
    report: RunReport,
    *,
    session: Any,
    token: Callable[[], str],
    now: float,
    dates: Iterable[dt.date] | None,
) -> None:
    """Per tenant and month: when any of its files changed (or for a backfill), every package's
    day rows are read again and merged, so a tenant with two apps gets one complete file a day.
    A backfill writes only its days and records no generation: the scheduled run still sees a
    revised month as changed."""
    conf = settings.google
    months = {f"{d:%Y%m}" for d in dates} if dates else google.months_wanted(now, conf.months)
    only = {d.isoformat() for d in dates} if dates else None
    fetch = _Fetch(session, conf, token, out)
    for tenant, packages in settings.tenants.with_section("google").items():
        source = f"google:{tenant}"
        counts = {"objects": 0, "unchanged": 0, "written": 0}
        missing: set[str] = set()
        try:
            found = [o for package in packages for o in google.list_reports(session, conf, token, package, months)]
            counts["objects"] = len(found)
            for in_month, changed in changed_months(found, state, backfill=only is not None):
                counts["unchanged"] += len(in_month) - len(changed)
                if not changed:
                    continue
                chosen = _day_sources(in_month)
                month = rows_for_month(fetch, tenant, read=list(set(changed) | set(chosen)), chosen=chosen)
                missing |= month.missing
                counts["written"] += write_days(out, state, tenant, month.by_day, chosen=chosen, only=only)
                if only is None:
                    state.google_objects.update({o.name: GoogleObject(o.generation, o.md5) for o in in_month})
        except FabrikError as exc:
            report.fail(source, exc, **counts)
            continue
        outcome = report.succeed(source, **counts)
        if missing:
            outcome.counts["columns_empty"] = len(missing)
            get_logger("store_downloads_fetcher", source=source).info(
                "left empty (the files have no source column): %s", ", ".join(sorted(missing))
            )


def changed_months(
    found: list[google.ReportObject], state: DownloadState, *, backfill: bool
) -> Iterator[tuple[list[google.ReportObject], list[google.ReportObject]]]:
    """Per month, oldest first: ``(its objects, those changed since last read)``; a backfill
    takes every object as changed."""
    for month in sorted({o.month for o in found}):
        in_month = [o for o in found if o.month == month]
        seen = state.google_objects
        yield (
            in_month,
            [o for o in in_month if backfill or o.name not in seen or seen[o.name].generation != o.generation],
        )


class _Fetch:
    """Downloads an object and stores its raw file (``raw/google/…generation-<n>.csv``)."""

    def __init__(self, session: Any, conf: GoogleSettings, token: Callable[[], str], out: Output):
        self.session, self.conf, self.token, self.out = session, conf, token, out

    def __call__(self, obj: google.ReportObject) -> Any:
        body = google.download(self.session, self.conf, self.token, obj)
        self.out.put_raw(raw_google_name(obj), body, content_type="text/csv; charset=utf-16")
        body.seek(0)
        return body


@dataclass
class MonthRows:
    by_day: dict[str, list[Row]] = field(default_factory=dict)  # ISO date -> the tenant's rows
    missing: set[str] = field(default_factory=set)  # columns the files had no source for


def rows_for_month(
    fetch: Callable[[google.ReportObject], Any],
    tenant: str,
    *,
    read: list[google.ReportObject],
    chosen: list[google.ReportObject],
) -> MonthRows:
    """Every object in ``read`` fetched (and kept raw); the rows of the ``chosen`` ones."""
    month = MonthRows()
    for obj in sorted(read, key=lambda o: o.name):
        body = fetch(obj)
        if obj not in chosen:
            continue
        for day in parse_installs(body, package=obj.package):
            month.missing.update(day.missing)
            month.by_day.setdefault(day.date, []).extend(
                Row(
                    date=day.date,
                    store="google",
                    tenant=tenant,
                    app_id=obj.package,
                    country=counts.country,
                    downloads=counts.downloads,
                    redownloads=None,
                    updates=counts.updates,
                    install_events=counts.install_events,
                    update_events=counts.update_events,
                )
                for counts in day.rows
            )
    return month


def write_days(
    out: Output,
    state: DownloadState,
    tenant: str,
    by_day: dict[str, list[Row]],
    *,
    chosen: list[google.ReportObject],
    only: set[str] | None,
) -> int:
    """A day file per date whose rows changed (only the backfill's dates for a backfill);
    returns how many were written."""
    written = 0
    for date, rows in sorted(by_day.items()):
        if only is not None and date not in only:
            continue
        key = f"{tenant}|{date}"
        previous = state.google_days.get(key)
        file = out.put_day(
            store="google", tenant=tenant, date=date, rows=rows, previous=previous.file if previous else None
        )
        if file is not None:
            state.google_days[key] = GoogleDay(file=file, objects=tuple(sorted(o.name for o in chosen)))
            written += 1
    return written


def raw_google_name(obj: google.ReportObject) -> str:
    """``raw/google/<object name without .csv>.generation-<n>.csv``: one file per generation, and no
    folder named ``*.csv`` that a reader globbing for CSVs would step into."""
    return f"raw/google/{obj.name.removesuffix('.csv')}.generation-{obj.generation}.csv"


def _day_sources(objs: list[google.ReportObject]) -> list[google.ReportObject]:
    """Per package, the country file, or the overview where a month has none."""
    out = []
    for package in sorted({o.package for o in objs}):
        mine = [o for o in objs if o.package == package]
        out += [o for o in mine if o.dimension == "country"] or [o for o in mine if o.dimension == "overview"]
    return out
