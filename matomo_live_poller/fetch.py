"""One POST to Matomo for every site: ``API.getBulkRequest`` of ``Live.getCounters`` calls.

The token goes in the POST body only: Matomo 5 treats a token seen in a URL as insecure and
refuses "secure only" tokens there, and URLs end up in proxy logs.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from matomo_live_poller.parse import SiteAnswer, parse_bulk
from shared.clients.http import read_body, request

MAX_BYTES = 4 * 1024 * 1024


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
