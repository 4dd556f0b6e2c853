"""Google Play install reports from the Play Console's Cloud Storage bucket, via the JSON API.

List ``stats/installs/installs_<package>_`` (following ``nextPageToken``), keep the monthly
``_country.csv`` and ``_overview.csv`` of the months wanted, and download an object only when
its ``generation`` differs from the one fetched last time (Play rewrites the current month's
files daily). 403 means the service account was not given report access in Play Console.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator
from urllib.parse import quote

from shared.clients.http import request, spool_body
from shared.core.errors import BadInputError, ConfigError, RefusedError
from store_downloads_fetcher.google_report import OBJECT_NAME
from store_downloads_fetcher.settings import GoogleSettings

MAX_OBJECT = 256 * 1024 * 1024
DIMENSIONS = ("country", "overview")


@dataclass(frozen=True)
class ReportObject:
    name: str
    package: str
    month: str  # YYYYMM
    dimension: str
    generation: str
    md5: str | None = None


def list_reports(
    session: Any, settings: GoogleSettings, token: Callable[[], str], package: str, months: set[str]
) -> list[ReportObject]:
    wanted = []
    for item in _list(session, settings, token, f"stats/installs/installs_{package}_"):
        match = OBJECT_NAME.match(item.get("name", ""))
        if (
            not match
            or match["package"] != package
            or match["month"] not in months
            or match["dimension"] not in DIMENSIONS
        ):
            continue
        wanted.append(
            ReportObject(
                name=item["name"],
                package=package,
                month=match["month"],
                dimension=match["dimension"],
                generation=str(item.get("generation", "")),
                md5=item.get("md5Hash"),
            )
        )
    return sorted(wanted, key=lambda o: (o.month, o.dimension))


def _list(session: Any, settings: GoogleSettings, token: Callable[[], str], prefix: str) -> Iterator[dict]:
    url = f"{settings.storage_url}/storage/v1/b/{quote(settings.bucket, safe='')}/o"
    page = None
    for _ in range(1000):  # a bound, not a limit anyone reaches: 1000 pages of 1000 objects
        params = {"prefix": prefix, "fields": "items(name,generation,md5Hash,updated,size),nextPageToken"}
        if page:
            params["pageToken"] = page
        doc = _json(_get(session, url, token, what=f"google list {prefix}", params=params), what="google list")
        yield from doc.get("items") or []
        page = doc.get("nextPageToken")
        if not page:
            return


def download(session: Any, settings: GoogleSettings, token: Callable[[], str], obj: ReportObject) -> IO[bytes]:
    url = f"{settings.storage_url}/storage/v1/b/{quote(settings.bucket, safe='')}/o/{quote(obj.name, safe='')}"
    response = _get(
        session,
        url,
        token,
        what=f"google {obj.name}",
        params={"alt": "media", "generation": obj.generation},
        stream=True,
    )
    return spool_body(response, what=f"google {obj.name}", max_bytes=MAX_OBJECT, deadline=time.monotonic() + 300)


def _get(session: Any, url: str, token: Callable[[], str], *, what: str, **kwargs: Any) -> Any:
    try:
        return request(
            session,
            "GET",
            url,
            what=what,
            auth_setting="GOOGLE_SERVICE_ACCOUNT_JSON",
            headers={"Authorization": f"Bearer {token()}"},
            **kwargs,
        )
    except RefusedError as exc:
        if exc.status == 403:
            raise RefusedError(
                {
                    "GOOGLE_SERVICE_ACCOUNT_JSON": (
                        "403 from the reports bucket: invite the service account in Play Console > "
                        "Users and permissions with 'View app information and download bulk reports' "
                        "(it can take up to a day to apply)"
                    )
                },
                source=what,
                status=403,
            ) from None
        raise
    except BadInputError as exc:
        if exc.status == 404 and "/o/" not in url:  # the bucket itself (objects are under .../o/...)
            raise ConfigError(
                {
                    "GOOGLE_PLAY_BUCKET": "bucket not found: copy the Cloud Storage URI from Play Console "
                    "(pubsite_prod_rev_<id> or pubsite_prod_<id>)"
                },
                source=what,
                status=404,
            ) from None
        raise


def _json(response: Any, *, what: str) -> dict:
    try:
        doc = response.json()
    except ValueError:
        raise BadInputError(f"{what}: the answer is not JSON") from None
    if not isinstance(doc, dict):
        raise BadInputError(f"{what}: unexpected answer")
    return doc


def months_wanted(now: float, count: int) -> set[str]:
    """This month and the ``count - 1`` before it, as YYYYMM (UTC)."""
    t = time.gmtime(now)
    year, month = t.tm_year, t.tm_mon
    out = set()
    for _ in range(count):
        out.add(f"{year:04d}{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out
