"""One run of App Store Connect: which days to ask for, and what each answer leaves behind."""

from __future__ import annotations

import datetime as dt
import time
import zlib
from typing import Any, Callable, Iterable

from shared.core.errors import BadInputError, ConfigError
from shared.runtime.logs import get_logger
from shared.runtime.status import RunReport
from store_downloads_fetcher import apple
from store_downloads_fetcher.apple_report import open_report, parse_sales_summary
from store_downloads_fetcher.normalised import Row
from store_downloads_fetcher.output import Output
from store_downloads_fetcher.settings import AppleSettings, DownloadsSettings
from store_downloads_fetcher.state import AppleDay, DownloadState

PUBLISHED_BY_HOUR = 8  # Apple: a day's report "generally by 8 a.m. PT" the next day
ZERO_TRUSTED_AFTER = dt.timedelta(days=1)  # ... and a "no sales" answer a day after that is final
COUNTS = ("fetched", "zero", "pending", "expired", "failed", "written", "deferred")


def run_apple(
    settings: DownloadsSettings,
    state: DownloadState,
    out: Output,
    report: RunReport,
    *,
    session: Any,
    token: Callable[[], str],
    now: float,
    dates: Iterable[dt.date] | None,
    deadline: float | None = None,
) -> None:
    """Newest day first, so recent days win when the run is cut short; each day's failure costs
    that day only (recorded as failed and retried on later runs)."""
    conf = settings.apple
    apps = {app: name for name, ids in settings.tenants.with_section("apple").items() for app in ids}
    days = (
        sorted(dates)
        if dates
        else apple.days_to_fetch(state.apple_days, today=apple.pacific_today(now), lookback=conf.lookback_days)
    )
    counts = dict.fromkeys(COUNTS, 0)
    stop = ""
    for day in reversed(days):
        if not stop and deadline is not None and time.monotonic() > deadline:
            stop = "the run's time budget is spent"
        if stop:
            counts["deferred"] += 1
            continue
        record = state.apple_days.setdefault(day.isoformat(), AppleDay())
        try:
            answer, rows = _ask(session, conf, token, day, apps, out)
        except ConfigError as exc:
            record.status, record.detail = "failed", str(exc)[:300]
            report.fail("apple", exc, **counts)
            return  # every further day would be refused the same way
        if answer.status == "zero":
            answer = _judge_zero(answer, record, state, day, now)
        if answer.rate_limited:
            stop = "Apple keeps answering 429 (rate limited)"
        counts[answer.status] += 1
        counts["written"] += _keep(answer, rows, record, day, apps, out)
    _report(report, counts, stop)


def _ask(
    session: Any, conf: AppleSettings, token: Callable[[], str], day: dt.date, apps: dict[str, str], out: Output
) -> tuple[apple.AppleAnswer, list[Row]]:
    """The day's answer and its rows (the raw report stored); a damaged report is a failed day."""
    answer = apple.fetch_day(session, conf, token, day)
    if answer.status != "fetched":
        return answer, []
    try:
        return answer, _rows(answer, conf.vendor_number, day, apps, out)
    except (BadInputError, EOFError, OSError, ValueError, zlib.error) as exc:  # damaged gzip, bad TSV
        return apple.AppleAnswer("failed", f"apple report {day.isoformat()}: {_why(exc)}"), []


def _keep(
    answer: apple.AppleAnswer, rows: list[Row], record: AppleDay, day: dt.date, apps: dict[str, str], out: Output
) -> int:
    """Record the answer on the day and write each tenant's day file that changed; returns how
    many were written. A day with no answer to keep (pending, failed, kept rows) writes none."""
    record.status, record.detail = answer.status, answer.detail[:300]
    record.checked = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if answer.status == "failed":
        get_logger("store_downloads_fetcher", source="apple").warning("%s: %s", day.isoformat(), answer.detail)
    if answer.status not in ("fetched", "zero") or answer.kept:
        return 0
    if answer.status == "fetched":
        record.rows = len(rows)
    by_tenant: dict[str, list[Row]] = {tenant: [] for tenant in apps.values()}
    for row in rows:  # one pass: a scan of every row per tenant took 43 s at 1,000 stations (issue 35)
        by_tenant[apps[row.app_id]].append(row)
    written = 0
    for tenant, mine in sorted(by_tenant.items()):
        file = out.put_day(
            store="apple", tenant=tenant, date=day.isoformat(), rows=mine, previous=record.tenants.get(tenant)
        )
        if file is not None:
            record.tenants[tenant] = file
            written += 1
    return written


def _report(report: RunReport, counts: dict[str, int], stop: str) -> None:
    if stop:
        get_logger("store_downloads_fetcher", source="apple").warning(
            "stopped asking Apple: %s; %d days left for the next run", stop, counts["deferred"]
        )
    if counts["failed"] or stop:
        report.fail(
            "apple",
            f"{counts['failed']} days failed, {counts['deferred']} deferred"
            f"{' (' + stop + ')' if stop else ''}; they are retried on the next runs",
            **counts,
        )
    else:
        report.succeed("apple", **counts)


def _judge_zero(
    answer: apple.AppleAnswer, record: AppleDay, state: DownloadState, day: dt.date, now: float
) -> apple.AppleAnswer:
    """Apple answers "no sales" for days it has not published yet too: trust it only when the
    day is surely published, and never let it replace rows a day once had."""
    if record.rows:
        return apple.AppleAnswer(
            "fetched", "Apple answered 'no sales' for a day that had rows: the rows are kept", kept=True
        )
    later_published = any(d > day.isoformat() and s.status == "fetched" for d, s in state.apple_days.items())
    if later_published or dt.datetime.fromtimestamp(now, dt.timezone.utc) >= publication_time(day) + ZERO_TRUSTED_AFTER:
        return answer
    return apple.AppleAnswer(
        "pending", "Apple says no sales, but the day may not be published yet; asked again on the next run"
    )


def publication_time(day: dt.date) -> dt.datetime:
    """When Apple's report for ``day`` is expected: 8 a.m. Pacific the next day."""
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(PUBLISHED_BY_HOUR), ZoneInfo("America/Los_Angeles"))


def _why(exc: BaseException) -> str:
    if isinstance(exc, (EOFError, zlib.error)) or "gzip" in type(exc).__name__.lower():
        return f"damaged gzip ({type(exc).__name__}: {str(exc)[:100]})"
    return str(exc)[:200] or type(exc).__name__


def _rows(answer: apple.AppleAnswer, vendor: str, day: dt.date, tenants: dict[str, str], out: Output) -> list[Row]:
    """Parse first, store the raw file after: a damaged report raises here and is stored nowhere."""
    body = answer.body
    gz = body.read(2) == b"\x1f\x8b"
    body.seek(0)
    # Named by the report's content, not its gzip bytes (the gzip header carries a timestamp).
    sha = _file_digest(open_report(body))
    body.seek(0)
    parsed = parse_sales_summary(body, app_ids=tenants)
    if parsed.report_date not in (None, day.isoformat()):
        raise BadInputError(f"apple report for {day} holds rows of {parsed.report_date}")
    out.put_raw(
        f"raw/apple/vendor={vendor}/date={day.isoformat()}/S_D_{vendor}_{day:%Y%m%d}-{sha[:12]}"
        f"{'.txt.gz' if gz else '.txt'}",
        body,
        content_type="application/a-gzip" if gz else "text/plain",
    )
    return [
        Row(
            date=day.isoformat(),
            store="apple",
            tenant=tenants[app],
            app_id=app,
            country=country,
            downloads=units.downloads,
            redownloads=units.redownloads,
            updates=units.updates,
        )
        for (app, country), units in parsed.counts.items()
    ]


def _file_digest(stream: Any) -> str:
    import hashlib

    sha = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        sha.update(chunk)
    return sha.hexdigest()
