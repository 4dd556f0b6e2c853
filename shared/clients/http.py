"""HTTP sessions with the behaviour every collector needs, decided once.

* explicit connect/read timeouts on every request (requests has no default and would hang);
* retries with exponential back-off for 429 and 5xx on idempotent methods only, honouring
  ``Retry-After`` up to a cap so one slow server cannot hold a 30-second timer for an hour;
* a User-Agent that names the app, so source operators can see who polls them;
* errors turned into the app's exception classes with redacted URLs.

``requests`` is imported on first use, not at import time: it is cold-start cost that a
worker pays only when a collector actually makes a request.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Iterator

from shared.core.errors import BadInputError, RefusedError, RetriableError
from shared.privacy.redact import redact_url
from shared.runtime.logs import install

if TYPE_CHECKING:
    import requests

USER_AGENT = "fabrik-live-collectors/1.0 (+https://github.com/fabrik; Azure Functions)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
log = logging.getLogger("fabrik.http")


@dataclass(frozen=True)
class HttpOptions:
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.5
    max_retry_after: float = 10.0
    pool_size: int = 10
    # POST only where the caller knows the request is a read (Matomo's API takes reads by POST
    # so the token stays out of URLs); never for writes.
    retry_methods: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})


def make_session(options: HttpOptions = HttpOptions(), *, user_agent: str = USER_AGENT) -> "requests.Session":
    """A ``requests.Session`` with timeouts, bounded retries and a named User-Agent."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    install()  # urllib3 logs request paths with their query strings: redact before anything logs

    class _CappedRetry(Retry):
        def get_retry_after(self, response: Any) -> float | None:
            value = super().get_retry_after(response)
            return None if value is None else min(value, options.max_retry_after)

    class _Session(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # type: ignore[override]
            kwargs.setdefault("timeout", (options.connect_timeout, options.read_timeout))
            return super().request(method, url, *args, **kwargs)

    # read=False: a server that accepted the connection and then said nothing is hanging;
    # asking it again would only double the wait (and the run's time).
    retry = _CappedRetry(
        total=options.retries,
        connect=options.retries,
        read=False,
        status=options.retries,
        backoff_factor=options.backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=options.retry_methods,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = _Session()
    if not _proxies_or_netrc():
        # requests reads the environment on every request (a quarter of an Icecast tick's CPU
        # at 1,000 mounts); without proxies or .netrc only a CA bundle is there, read here once.
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        session.trust_env = False
        if bundle:
            session.verify = bundle
    adapter = HTTPAdapter(max_retries=retry, pool_connections=options.pool_size, pool_maxsize=options.pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    session.default_timeout = (options.connect_timeout, options.read_timeout)  # type: ignore[attr-defined]
    session.hooks["response"].append(_log_response)
    return session


def _proxies_or_netrc() -> bool:
    """Whether the environment names proxies or a .netrc that requests would have to honour."""
    import urllib.request

    return bool(urllib.request.getproxies()) or os.path.exists(os.path.expanduser("~/.netrc"))


def _log_response(response: Any, *args: Any, **kwargs: Any) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "%s %s -> %s in %.0f ms",
            response.request.method,
            redact_url(response.url),
            response.status_code,
            response.elapsed.total_seconds() * 1000,
        )


def request(
    session: "requests.Session", method: str, url: str, *, what: str, auth_setting: str = "credentials", **kwargs: Any
) -> "requests.Response":
    """Send a request and classify failure: returns only 2xx responses.

    ``what`` names the source for messages (``icecast ice1 /admin/stats``) and is every error's
    ``source``. Raises RetriableError for network errors, timeouts, 429 and 5xx; RefusedError
    for 401/403 naming ``auth_setting`` (the setting to check); BadInputError for other
    statuses. An error after an answer carries its ``status``.
    """
    import requests

    try:
        response = session.request(method, url, **kwargs)
    except requests.exceptions.ConnectTimeout:
        raise RetriableError(
            f"{what}: cannot connect: no answer to the connection within "
            f"{_timeout(session, kwargs, 0)} ({redact_url(url)})",
            source=what,
        ) from None
    except requests.exceptions.Timeout:
        raise RetriableError(
            f"{what}: connected, but no answer within {_timeout(session, kwargs, 1)} "
            f"(the server hangs; {redact_url(url)})",
            source=what,
        ) from None
    except requests.exceptions.ConnectionError as exc:
        raise RetriableError(f"{what}: cannot connect ({_reason(exc)}; {redact_url(url)})", source=what) from None
    except requests.exceptions.RequestException as exc:
        raise RetriableError(f"{what}: request failed ({type(exc).__name__}; {redact_url(url)})", source=what) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    where = f"{what}: HTTP {status} from {redact_url(url)}"
    if status in (401, 403):
        raise RefusedError(
            {auth_setting: f"{what}: HTTP {status}, credentials refused by {redact_url(url)}"},
            source=what,
            status=status,
        )
    if status in RETRY_STATUSES:
        raise RetriableError(where, source=what, status=status)
    raise BadInputError(where, source=what, status=status)


def _timeout(session: Any, kwargs: dict, index: int) -> str:
    value = kwargs.get("timeout", getattr(session, "default_timeout", None))
    if isinstance(value, tuple):
        value = value[index]
    return f"{value:g} s" if isinstance(value, (int, float)) else "the timeout"


def read_body(response: "requests.Response", *, what: str, max_bytes: int, deadline: float | None = None) -> bytes:
    """Read a streamed response body, at most ``max_bytes``, finishing by ``deadline``.

    Per-read timeouts do not bound a server that trickles one byte a second; this does.
    ``deadline`` is a ``time.monotonic()`` value. Requires ``stream=True`` on the request.
    """
    return b"".join(_chunks(response, what=what, max_bytes=max_bytes, deadline=deadline))


def spool_body(
    response: "requests.Response",
    *,
    what: str,
    max_bytes: int,
    deadline: float | None = None,
    in_memory: int = 8 * 1024 * 1024,
) -> IO[bytes]:
    """Like read_body, into a temporary file that stays in memory up to ``in_memory`` bytes:
    a large report costs disk, not memory. The file is positioned at its start."""
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=in_memory)
    for chunk in _chunks(response, what=what, max_bytes=max_bytes, deadline=deadline):
        spool.write(chunk)
    spool.seek(0)
    return spool


def _chunks(response: "requests.Response", *, what: str, max_bytes: int, deadline: float | None) -> Iterator[bytes]:
    import time

    size = 0
    raw = response.raw
    try:
        while True:
            # read1 returns whatever one socket read gives, so the deadline is checked often
            # even when the server sends a byte at a time.
            chunk = raw.read1(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise BadInputError(f"{what}: response larger than {max_bytes // 1024} KiB; refused", source=what)
            yield chunk
            if deadline is not None and time.monotonic() > deadline:
                raise RetriableError(f"{what}: response still arriving at the run deadline; gave up", source=what)
    except (BadInputError, RetriableError):
        raise
    except Exception as exc:  # requests/urllib3 errors mid-body: resets, decode errors
        raise RetriableError(f"{what}: connection failed while reading ({_reason(exc)})", source=what) from None
    finally:
        response.close()


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "Connection reset",
        "Read timed out",
        "Remote end closed",
        "timed out",
        "No route to host",
    ):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


_sessions: dict[HttpOptions, Any] = {}


def get_session(options: HttpOptions = HttpOptions()) -> "requests.Session":
    """A session per options, cached for the worker's life so connections are reused."""
    session = _sessions.get(options)
    if session is None:
        session = _sessions[options] = make_session(options)
    return session
