"""One run of each store: decide what to fetch from the state, fetch, write, update the state."""

from __future__ import annotations

import datetime as dt
import time
import zlib
from typing import Any, Callable, Iterable

from shared.errors import BadInputError, ConfigError, FabrikError
from shared.logs import get_logger
from shared.status import RunReport
from store_downloads_fetcher import apple, google
from store_downloads_fetcher.apple_report import open_report, parse_sales_summary
from store_downloads_fetcher.google_report import parse_installs
from store_downloads_fetcher.normalised import Row
from store_downloads_fetcher.output import Output
from store_downloads_fetcher.settings import DownloadsSettings


PUBLISHED_BY_HOUR = 8  # Apple: a day's report "generally by 8 a.m. PT" the next day
ZERO_TRUSTED_AFTER = dt.timedelta(days=1)  # ... and a "no sales" answer a day after that is final


def run_apple(
    settings: DownloadsSettings,
    state: dict,
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
    days_state = state.setdefault("apple", {}).setdefault("days", {})
    days = (
        sorted(dates)
        if dates
        else apple.days_to_fetch(days_state, today=apple.pacific_today(now), lookback=conf.lookback_days)
    )
    counts = {"fetched": 0, "zero": 0, "pending": 0, "expired": 0, "failed": 0, "written": 0, "deferred": 0}
    log = get_logger("store_downloads_fetcher", source="apple")
    stop = ""
    for day in reversed(days):
        key = day.isoformat()
        if stop or (deadline is not None and time.monotonic() > deadline):
            stop = stop or "the run's time budget is spent"
            counts["deferred"] += 1
            continue
        record = days_state.setdefault(key, {"tenants": {}})
        try:
            answer = apple.fetch_day(session, conf, token, day)
        except ConfigError as exc:
            record.update(status="failed", detail=str(exc)[:300])
            report.fail("apple", exc, **counts)
            return  # every further day would be refused the same way
        rows: list[Row] = []
        if answer.status == "fetched":
            try:
                rows = _apple_rows(answer, conf.vendor_number, day, apps, out)
            except (BadInputError, EOFError, OSError, ValueError, zlib.error) as exc:  # damaged gzip, bad TSV
                answer.status, answer.detail = "failed", f"apple report {key}: {_why(exc)}"
        elif answer.status == "zero":
            answer = _judge_zero(answer, record, days_state, day, now)
        elif answer.rate_limited:
            stop = "Apple keeps answering 429 (rate limited)"
        record.update(
            status=answer.status,
            detail=answer.detail[:300],
            checked=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        counts[answer.status] += 1
        if answer.status == "fetched" and not answer.kept:
            record["rows"] = len(rows)
        if answer.status in ("fetched", "zero") and not answer.kept:
            for tenant in sorted(set(apps.values())):
                mine = [r for r in rows if apps[r.app_id] == tenant]
                written = out.put_day(
                    store="apple", tenant=tenant, date=key, rows=mine, previous=record["tenants"].get(tenant)
                )
                if written:
                    record["tenants"][tenant] = written
                    counts["written"] += 1
        elif answer.status == "failed":
            log.warning("%s: %s", key, answer.detail)
    if stop:
        log.warning("stopped asking Apple: %s; %d days left for the next run", stop, counts["deferred"])
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
    answer: apple.AppleAnswer, record: dict, days_state: dict, day: dt.date, now: float
) -> apple.AppleAnswer:
    """Apple answers "no sales" for days it has not published yet too: trust it only when the
    day is surely published, and never let it replace rows a day once had."""
    if record.get("rows"):
        return apple.AppleAnswer(
            "fetched", "Apple answered 'no sales' for a day that had rows: the rows are kept", kept=True
        )
    later_published = any(d > day.isoformat() and s.get("status") == "fetched" for d, s in days_state.items())
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


def _apple_rows(
    answer: apple.AppleAnswer, vendor: str, day: dt.date, tenants: dict[str, str], out: Output
) -> list[Row]:
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
            downloads=dl,
            redownloads=re_,
            updates=up,
        )
        for (app, country), (dl, re_, up) in parsed.counts.items()
    ]


def _file_digest(stream: Any) -> str:
    import hashlib

    sha = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        sha.update(chunk)
    return sha.hexdigest()


def run_google(
    settings: DownloadsSettings,
    state: dict,
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
    objects = state.setdefault("google", {}).setdefault("objects", {})
    days_state = state["google"].setdefault("days", {})
    only = {d.isoformat() for d in dates} if dates else None
    for tenant, packages in settings.tenants.with_section("google").items():
        source = f"google:{tenant}"
        counts = {"objects": 0, "unchanged": 0, "written": 0}
        missing: set[str] = set()
        try:
            found = [o for package in packages for o in google.list_reports(session, conf, token, package, months)]
            counts["objects"] = len(found)
            for month in sorted({o.month for o in found}):
                in_month = [o for o in found if o.month == month]
                changed = [o for o in in_month if only or objects.get(o.name, {}).get("generation") != o.generation]
                counts["unchanged"] += len(in_month) - len(changed)
                if not changed:
                    continue
                chosen = _day_sources(in_month)
                by_day: dict[str, list[Row]] = {}
                for obj in sorted(set(changed) | set(chosen), key=lambda o: o.name):
                    body = google.download(session, conf, token, obj)
                    out.put_raw(raw_google_name(obj), body, content_type="text/csv; charset=utf-16")
                    body.seek(0)
                    if obj in chosen:
                        for day in parse_installs(body, package=obj.package):
                            missing.update(day.missing)
                            by_day.setdefault(day.date, []).extend(
                                Row(
                                    date=day.date,
                                    store="google",
                                    tenant=tenant,
                                    app_id=obj.package,
                                    country=c,
                                    downloads=dl,
                                    redownloads=None,
                                    updates=up,
                                    install_events=ie,
                                    update_events=ue,
                                )
                                for c, dl, up, ie, ue in day.rows
                            )
                for date, rows in sorted(by_day.items()):
                    if only is not None and date not in only:
                        continue
                    key = f"{tenant}|{date}"
                    record = out.put_day(
                        store="google", tenant=tenant, date=date, rows=rows, previous=days_state.get(key)
                    )
                    if record:
                        days_state[key] = {**record, "status": "fetched", "objects": sorted(o.name for o in chosen)}
                        counts["written"] += 1
                if only is None:
                    for obj in in_month:
                        objects[obj.name] = {"generation": obj.generation, "md5Hash": obj.md5}
        except FabrikError as exc:
            report.fail(source, exc, **counts)
            continue
        outcome = report.succeed(source, **counts)
        if missing:
            outcome.counts["columns_empty"] = len(missing)
            get_logger("store_downloads_fetcher", source=source).info(
                "left empty (the files have no source column): %s", ", ".join(sorted(missing))
            )


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
