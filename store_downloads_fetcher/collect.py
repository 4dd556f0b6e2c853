"""One run of each store: decide what to fetch from the state, fetch, write, update the state."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable

from shared.errors import BadInputError, ConfigError, FabrikError
from shared.logs import get_logger
from shared.status import RunReport
from store_downloads_fetcher import apple, google
from store_downloads_fetcher.apple_report import open_report, parse_sales_summary
from store_downloads_fetcher.google_report import parse_installs
from store_downloads_fetcher.normalised import Row, render
from store_downloads_fetcher.output import Output
from store_downloads_fetcher.settings import DownloadsSettings



def run_apple(settings: DownloadsSettings, state: dict, out: Output, report: RunReport, *, session: Any,
              token: Callable[[], str], now: float, dates: Iterable[dt.date] | None) -> None:
    conf = settings.apple
    tenants = {t.apple_app_id: t.name for t in settings.tenants if t.apple_app_id}
    days_state = state.setdefault("apple", {}).setdefault("days", {})
    days = sorted(dates) if dates else apple.days_to_fetch(days_state, today=apple.pacific_today(now),
                                                          lookback=conf.lookback_days)
    counts = {"fetched": 0, "zero": 0, "pending": 0, "expired": 0, "failed": 0, "written": 0}
    for day in days:
        key = day.isoformat()
        record = days_state.setdefault(key, {"tenants": {}})
        try:
            answer = apple.fetch_day(session, conf, token, day)
        except ConfigError as exc:
            record.update(status="failed", detail=str(exc))
            report.fail("apple", exc, **counts)
            return  # every further day would be refused the same way
        rows: list[Row] = []
        if answer.status == "fetched":
            try:
                rows = _apple_rows(answer, conf.vendor_number, day, tenants, out)
            except BadInputError as exc:
                answer.status, answer.detail = "failed", str(exc)
        record.update(status=answer.status, detail=answer.detail[:300], checked=dt.datetime.now(dt.timezone.utc)
                      .strftime("%Y-%m-%dT%H:%M:%SZ"))
        counts[answer.status] += 1
        if answer.status in ("fetched", "zero"):
            for app_id, tenant in tenants.items():
                mine = [r for r in rows if r.app_id == app_id]
                written = out.put_day(store="apple", tenant=tenant, date=key, csv_bytes=render(mine),
                                      previous=record["tenants"].get(tenant))
                if written:
                    record["tenants"][tenant] = written
                    counts["written"] += 1
        elif answer.status == "failed":
            get_logger("store_downloads_fetcher", source="apple").warning("%s: %s", key, answer.detail)
    if counts["failed"]:
        report.fail("apple", f"{counts['failed']} days failed; they are retried on the next runs", **counts)
    else:
        report.succeed("apple", **counts)


def _apple_rows(answer: apple.AppleAnswer, vendor: str, day: dt.date, tenants: dict[str, str], out: Output) -> list[Row]:
    body = answer.body
    gz = body.read(2) == b"\x1f\x8b"
    body.seek(0)
    # Named by the report's content, not its gzip bytes (the gzip header carries a timestamp).
    sha = _file_digest(open_report(body))
    body.seek(0)
    out.put_raw(f"raw/apple/vendor={vendor}/date={day.isoformat()}/S_D_{vendor}_{day:%Y%m%d}-{sha[:12]}"
                f"{'.txt.gz' if gz else '.txt'}", body, content_type="application/a-gzip" if gz else "text/plain")
    body.seek(0)
    parsed = parse_sales_summary(body, app_ids=tenants)
    if parsed.report_date not in (None, day.isoformat()):
        raise BadInputError(f"apple report for {day} holds rows of {parsed.report_date}")
    return [Row(date=day.isoformat(), store="apple", tenant=tenants[app], app_id=app, country=country,
                downloads=dl, redownloads=re_, updates=up)
            for (app, country), (dl, re_, up) in parsed.counts.items()]


def _file_digest(stream: Any) -> str:
    import hashlib

    sha = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        sha.update(chunk)
    return sha.hexdigest()


def run_google(settings: DownloadsSettings, state: dict, out: Output, report: RunReport, *, session: Any,
               token: Callable[[], str], now: float, dates: Iterable[dt.date] | None) -> None:
    conf = settings.google
    months = {f"{d:%Y%m}" for d in dates} if dates else google.months_wanted(now, conf.months)
    objects = state.setdefault("google", {}).setdefault("objects", {})
    days_state = state["google"].setdefault("days", {})
    for tenant in (t for t in settings.tenants if t.google_package):
        source = f"google:{tenant.name}"
        counts = {"objects": 0, "unchanged": 0, "written": 0}
        try:
            found = google.list_reports(session, conf, token, tenant.google_package, months)
            has_country = {o.month for o in found if o.dimension == "country"}
            for obj in found:
                counts["objects"] += 1
                if objects.get(obj.name, {}).get("generation") == obj.generation and not dates:
                    counts["unchanged"] += 1
                    continue
                body = google.download(session, conf, token, obj)
                out.put_raw(f"raw/google/{obj.name}/generation={obj.generation}.csv", body, content_type="text/csv")
                body.seek(0)
                if obj.dimension == "country" or obj.month not in has_country:
                    counts["written"] += _google_days(obj, body, tenant.name, days_state, out, dates)
                objects[obj.name] = {"generation": obj.generation, "md5Hash": obj.md5}
        except FabrikError as exc:
            report.fail(source, exc, **counts)
            continue
        report.succeed(source, **counts)


def _google_days(obj: google.ReportObject, body: Any, tenant: str, days_state: dict, out: Output,
                 dates: Iterable[dt.date] | None) -> int:
    only = {d.isoformat() for d in dates} if dates else None
    written = 0
    for day in parse_installs(body, package=obj.package):
        if only is not None and day.date not in only:
            continue
        rows = [Row(date=day.date, store="google", tenant=tenant, app_id=obj.package, country=country,
                    downloads=dl, redownloads=None, updates=up) for country, dl, up in day.rows]
        key = f"{tenant}|{day.date}"
        record = out.put_day(store="google", tenant=tenant, date=day.date, csv_bytes=render(rows),
                             previous=days_state.get(key))
        if record:
            days_state[key] = {**record, "status": "fetched", "object": obj.name, "generation": obj.generation}
            written += 1
    return written
