"""Fetch ``/admin/stats`` and ``/admin/listclients`` from many servers at once.

Every server's stats request starts at once (bounded by ``max_parallel``); each server's
listclients requests start as soon as its stats arrive, so a run takes about as long as the
slowest server's stats + listclients, not the sum over servers. A hard run deadline covers
what per-read timeouts cannot (a server that trickles bytes); requests still running then
are reported as timed out and abandoned, and the results so far are kept.
"""

from __future__ import annotations

import queue
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import quote

from icecast_poller.parse import ListenerRecord, ServerStats, parse_listclients, parse_stats
from icecast_poller.settings import IcecastServer
from shared.clients.http import read_body, request
from shared.core.errors import FabrikError
from shared.runtime.logs import get_logger

MAX_STATS_BYTES = 8 * 1024 * 1024
MAX_LISTCLIENTS_BYTES = 64 * 1024 * 1024  # ~250,000 listeners


@dataclass
class ServerResult:
    server: IcecastServer
    stats: ServerStats | None = None
    listeners: dict[str, list[ListenerRecord]] = field(default_factory=dict)
    error: str | None = None  # the server as a whole failed (stats unreadable)
    # A mount whose listener list could not be read: noted, not a failure of the server (its
    # source may have dropped between the two requests: Icecast then answers 400).
    mount_errors: dict[str, str] = field(default_factory=dict)
    elapsed_ms: int = 0


def poll_servers(
    servers: Iterable[IcecastServer],
    *,
    session: Any,
    wants_mount: Callable[[str], bool],
    ip_tokens: Callable[[Sequence[str]], list[bytes]],
    max_parallel: int,
    deadline: float,
    countries: Callable[[Sequence[str]], list[str]] | None = None,
) -> list[ServerResult]:
    """Poll every server; never raises for a server's failure (it is in its ServerResult).
    ``countries`` (GEOIP_DATABASE set): each listener's country, looked up while its address is read."""
    results = {s.name: ServerResult(server=s) for s in servers}
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="icecast")
    jobs: dict[Future, tuple[IcecastServer, str | None]] = {}
    finished: queue.SimpleQueue[Future] = queue.SimpleQueue()  # each future once, as it completes

    def submit(job: tuple[IcecastServer, str | None], *args: Any) -> None:
        future = pool.submit(*args)
        jobs[future] = job
        pending.add(future)
        future.add_done_callback(finished.put)

    pending: set[Future] = set()
    try:
        for server in results.values():
            submit((server.server, None), fetch_stats, session, server.server, deadline)
        while pending:  # one future at a time: wait() on every pending future was O(mounts²)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                future = finished.get(timeout=remaining)
            except queue.Empty:
                break
            pending.discard(future)
            server, mount = jobs[future]
            result = results[server.name]
            value = _value(future, result, mount)
            if value is None:
                continue
            if mount is None:
                result.stats = value
                result.elapsed_ms = int((time.monotonic() - started) * 1000)
                for m in value.mounts:
                    if m.has_source and wants_mount(m.mount):  # no source: nobody to list
                        job = (server, m.mount)
                        submit(job, fetch_listclients, session, server, m.mount, ip_tokens, deadline, countries)
            else:
                result.listeners[mount] = value
        for future in pending:
            server, mount = jobs[future]
            _record_error(results[server.name], mount, "no answer before the run deadline")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return list(results.values())


def _value(future: Future, result: ServerResult, mount: str | None) -> Any:
    """The answer of a finished request, or None with the error recorded on its server or mount."""
    try:
        return future.result()
    except FabrikError as exc:
        _record_error(result, mount, str(exc))
    except Exception as exc:  # a bug must not cost the other servers their data
        get_logger("icecast_poller", source=f"server:{result.server.name}").exception("unexpected error")
        _record_error(result, mount, f"internal error: {type(exc).__name__}")
    return None


def _record_error(result: ServerResult, mount: str | None, message: str) -> None:
    if mount is None:
        result.error = message
    else:
        result.mount_errors[mount] = message


def fetch_stats(session: Any, server: IcecastServer, deadline: float) -> ServerStats:
    what = f"icecast {server.name} /admin/stats"
    body = _get(session, server, f"{server.url}/admin/stats", what, MAX_STATS_BYTES, deadline)
    return parse_stats(body, what=what)


def fetch_listclients(
    session: Any,
    server: IcecastServer,
    mount: str,
    ip_tokens: Callable[[Sequence[str]], list[bytes]],
    deadline: float,
    countries: Callable[[Sequence[str]], list[str]] | None = None,
) -> list[ListenerRecord]:
    what = f"icecast {server.name} listclients {mount}"
    url = f"{server.url}/admin/listclients?mount={quote(mount, safe='/')}"
    body = _get(session, server, url, what, MAX_LISTCLIENTS_BYTES, deadline)
    return parse_listclients(body, ip_tokens=ip_tokens, countries=countries, what=what)


def _get(session: Any, server: IcecastServer, url: str, what: str, max_bytes: int, deadline: float) -> bytes:
    response = request(
        session,
        "GET",
        url,
        what=what,
        auth_setting="ICECAST_SERVERS",
        auth=(server.username, server.password),
        stream=True,
    )
    return read_body(response, what=what, max_bytes=max_bytes, deadline=deadline)
