"""App Store Connect Sales and Trends: one daily SALES/SUMMARY report per request.

Answers, as Apple gives them (research: ../shared/research/store_downloads.md §1.7):
200 gzip TSV (``Content-Encoding: agzip``, which HTTP clients leave alone: the body is
gunzipped here by its magic bytes); 404 "There were no sales for the date specified." is a
zero day only once the day is surely published (apple_run._judge_zero); any other 404 means not
published yet (pending); 410 is past the one-year retention;
429/5xx are retried with back-off by the session, then the day stays failed; 401/403 are
settings problems; 400 carries Apple's reason (e.g. a report version Apple no longer serves).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import IO, Any, Callable, Mapping

from shared.clients.http import spool_body
from shared.core.errors import BadInputError, RefusedError, RetriableError
from shared.privacy.redact import redact_url
from shared.runtime.logs import get_logger
from store_downloads_fetcher.settings import AppleSettings
from store_downloads_fetcher.state import AppleDay

NO_SALES = "There were no sales for the date specified"
MAX_REPORT = 1024 * 1024 * 1024


@dataclass
class AppleAnswer:
    status: str  # fetched | zero | pending | expired | failed
    detail: str = ""
    body: IO[bytes] | None = None
    rate_limited: bool = False  # 429 even after the session's retries: stop asking this run
    kept: bool = False  # the day's earlier rows stay; nothing is written


def fetch_day(session: Any, settings: AppleSettings, token: Callable[[], str], day: dt.date) -> AppleAnswer:
    import requests

    url = f"{settings.api_url}/v1/salesReports"
    params = {
        "filter[frequency]": "DAILY",
        "filter[reportType]": "SALES",
        "filter[reportSubType]": "SUMMARY",
        "filter[vendorNumber]": settings.vendor_number,
        "filter[reportDate]": day.isoformat(),
    }
    if settings.report_version:
        params["filter[version]"] = settings.report_version
    what = f"apple sales report {day}"
    try:
        response = session.get(
            url,
            params=params,
            stream=True,
            timeout=(5, 60),
            headers={"Authorization": f"Bearer {token()}", "Accept": "application/a-gzip"},
        )
    except requests.exceptions.RequestException as exc:
        return AppleAnswer("failed", f"{what}: {type(exc).__name__} ({redact_url(url)})")
    if response.headers.get("X-Rate-Limit"):
        get_logger("store_downloads_fetcher", source="apple").info(
            "%s: X-Rate-Limit %s", what, response.headers["X-Rate-Limit"]
        )
    status = response.status_code
    if status == 200:
        try:
            return AppleAnswer(
                "fetched", body=spool_body(response, what=what, max_bytes=MAX_REPORT, deadline=time.monotonic() + 300)
            )
        except (RetriableError, BadInputError) as exc:  # cut off, or over the size bound
            return AppleAnswer("failed", str(exc))
    detail = _detail(response)
    response.close()
    return _not_fetched(status, detail, what)


def _not_fetched(status: int, detail: str, what: str) -> AppleAnswer:
    """What an answer other than 200 means for the day (Apple's error ``detail`` quoted);
    a refused token raises: every further day would be refused the same way."""
    if status == 404 and NO_SALES.lower() in detail.lower():
        return AppleAnswer("zero", detail)
    if status == 404:
        return AppleAnswer("pending", detail or "not published yet")
    if status == 410:
        return AppleAnswer("expired", f"past Apple's retention of daily reports (one year): {detail}")
    if status == 401:
        raise RefusedError(
            {
                "APPLE_KEY_ID": f"Apple refused the token (401 {detail[:120]}): check APPLE_KEY_ID, "
                "APPLE_ISSUER_ID and APPLE_PRIVATE_KEY belong together and the clock is right"
            },
            source=what,
            status=401,
        )
    if status == 403:
        raise RefusedError(
            {
                "APPLE_KEY_ID": f"Apple refused access (403 {detail[:120]}): Sales reports need a Team key "
                "with the Admin, Finance or Sales role, and the right APPLE_VENDOR_NUMBER"
            },
            source=what,
            status=403,
        )
    if status == 429:
        return AppleAnswer("failed", f"{what}: rate limited (429) after retries; {detail}", rate_limited=True)
    if status >= 500:
        return AppleAnswer("failed", f"{what}: Apple answered {status} after retries")
    return AppleAnswer("failed", f"{what}: HTTP {status}: {detail}")


def _detail(response: Any) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(str(e.get("detail") or e.get("title") or "") for e in errors)[:300]
    except (ValueError, AttributeError):
        return ""


def pacific_today(now: float) -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(now, ZoneInfo("America/Los_Angeles")).date()


def days_to_fetch(state_days: Mapping[str, AppleDay], *, today: dt.date, lookback: int) -> list[dt.date]:
    """The look-back window (yesterday back ``lookback`` days, Pacific time) and every earlier day
    still pending or failed within Apple's one-year retention."""
    window = {today - dt.timedelta(days=k) for k in range(1, lookback + 1)}
    oldest = today - dt.timedelta(days=365)
    retry = {
        dt.date.fromisoformat(d)
        for d, s in state_days.items()
        if s.status in ("pending", "failed") and dt.date.fromisoformat(d) >= oldest
    }
    return sorted(window | retry)
