"""POSTs to Matomo of ``API.getBulkRequest`` of ``Live.getCounters`` calls, a chunk of sites each.

The token goes in the POST body only: Matomo 5 treats a token seen in a URL as insecure and
refuses "secure only" tokens there, and URLs end up in proxy logs.

Why chunks: PHP reads at most ``max_input_vars`` form fields (1,000 by default) and silently
drops the rest, so one request for every site came back short from 499 sites on and failed
every tenant. A chunk of ``MATOMO_SITES_PER_REQUEST`` sites (default 100: 204 fields) stays far
below it; chunks go out in parallel, and a failing chunk fails only its own sites.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from matomo_live_poller.parse import SiteAnswer, parse_bulk, sub_requests
from shared.clients.http import read_body, request
from shared.core.errors import FabrikError

MAX_BYTES = 4 * 1024 * 1024
PARALLEL = 8  # requests at once: Matomo's PHP workers are shared with its own users


def fetch_sites(
    session: Any,
    *,
    url: str,
    token: str,
    sites: Sequence[int],
    window_minutes: int,
    per_request: int,
    timeout: float,
) -> dict[int, dict[int, SiteAnswer] | FabrikError]:
    """Each site's answers by ``lastMinutes``, or the error of the request its chunk was in."""
    chunks = [sites[i : i + per_request] for i in range(0, len(sites), per_request)]

    def one(chunk: Sequence[int]) -> dict[int, dict[int, SiteAnswer] | FabrikError]:
        queries = sub_requests(chunk, window_minutes=window_minutes)
        try:
            answers = fetch_counters(session, url=url, token=token, queries=queries, timeout=timeout)
        except FabrikError as exc:
            return dict.fromkeys(chunk, exc)
        out: dict[int, dict[int, SiteAnswer] | FabrikError] = {}
        for (site, minutes), answer in zip(queries, answers):
            out.setdefault(site, {})[minutes] = answer  # type: ignore[index]
        return out

    found: dict[int, dict[int, SiteAnswer] | FabrikError] = {}
    if len(chunks) == 1:
        found.update(one(chunks[0]))
        return found
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(chunks)), thread_name_prefix="matomo") as pool:
        for part in pool.map(one, chunks):
            found.update(part)
    return found


def fetch_counters(
    session: Any, *, url: str, token: str, queries: Sequence[tuple[int, int]], timeout: float
) -> list[SiteAnswer]:
    """Answers for each ``(site, lastMinutes)`` in ``queries``, in order."""
    form = {"module": "API", "method": "API.getBulkRequest", "format": "json", "token_auth": token}
    for i, (site, minutes) in enumerate(queries):
        form[f"urls[{i}]"] = f"method=Live.getCounters&idSite={site}&lastMinutes={minutes}"
    what = "matomo API.getBulkRequest"
    response = request(
        session, "POST", url, what=what, auth_setting="MATOMO_TOKEN", data=form, stream=True, timeout=(3.05, timeout)
    )
    body = read_body(response, what=what, max_bytes=MAX_BYTES, deadline=time.monotonic() + timeout * 2)
    return parse_bulk(body, expected=len(queries), what=what)
