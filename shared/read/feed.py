"""``GET /api/feed/{tenant}``: what a station's live page reads, with a viewer token (docs/live-api.md).

Only the tenant's own numbers: its series, its events counted per type and minute (no bodies),
and per series how fresh it is. Nothing internal: no health of other tenants, no source URLs or
host names, no raw errors. The token is checked before anything else, so a token for one
tenant learns nothing about another (403 whether or not it exists).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable, Mapping

from shared.core.errors import ConfigError, FabrikError, NotFoundError, RequestError
from shared.read.api import Answer, check_tenant, json_answer, minutes_param, store_for
from shared.read.view_tokens import TokenRefused, bearer, check_not_ended, parse_keys, verify
from shared.runtime.health import series_interval_seconds

FEED_PARAMETERS = {"minutes"}
MAX_AGE_S = 30  # the page's refresh
HLS_STEP_MS = 10_000  # the agent's interval: one HLS point per 10 s, however many edges (issue 35)


def freshness(newest_ms: int | None, interval_s: int, now_ms: int) -> dict[str, Any]:
    """``stale`` once the newest sample is older than two intervals and 30 s; the page breaks a
    line where two samples are more than two and a half intervals apart."""
    stale_after = 2 * interval_s + 30
    state = "none" if newest_ms is None else "stale" if now_ms - newest_ms > stale_after * 1000 else "fresh"
    return {
        "state": state,
        "newest": newest_ms,
        "interval_s": interval_s,
        "stale_after_s": stale_after,
        "gap_after_s": interval_s * 5 // 2,
    }


def feed(
    tenant: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    env: Mapping[str, str],
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> Answer:
    try:
        keys = parse_keys(env.get("VIEW_SIGNING_KEYS", ""))
    except ValueError:
        return json_answer(500, {"error": "server settings: VIEW_SIGNING_KEYS"})
    try:
        claims = _claims(keys, headers, tenant)  # before anything else: a token learns nothing of others
        window, data, counts = _read(tenant, params, claims, env=env, redis=redis, clock=clock)
    except RequestError as exc:  # a refused token too
        return json_answer(exc.status or 400, {"error": str(exc)})
    except ConfigError:
        return json_answer(500, {"error": "the live page is not available right now"})
    except FabrikError:
        return json_answer(503, {"error": "the live numbers are not available right now; the page tries again"})
    fresh = {
        name: freshness(samples[-1].time_ms if samples else None, series_interval_seconds(name, env), window["to"])
        for name, samples in data.items()
    }
    doc = {
        "tenant": tenant,
        "series": {name: [{"time": s.time_ms, **s.metrics} for s in samples] for name, samples in data.items()},
        "freshness": fresh,
        "visitor_window_minutes": _int(env.get("MATOMO_WINDOW_MINUTES"), 3),
        "events": {
            "per_minute": counts.per_minute if counts else {},
            "total": counts.total if counts else 0,
            "truncated": bool(counts and counts.truncated),
        },
    }
    return cached_answer(doc, window, headers, max_age=max_age(fresh, window["to"]))


def _claims(keys: Any, headers: Mapping[str, str], tenant: str) -> Mapping[str, Any]:
    token = bearer(headers)
    if token is None:
        raise TokenRefused(401, "this page needs the token of its link (Authorization: Bearer)")
    return verify(keys, token, tenant)


def _read(
    tenant: str, params: Mapping[str, str], claims: Mapping[str, Any], *, env: Mapping[str, str], redis: Any, clock: Any
) -> tuple[dict[str, int], dict[str, list[Any]], Any]:
    """The page's window, its series and its event counts, for a token already verified."""
    unknown = sorted(set(params) - FEED_PARAMETERS)
    if unknown:
        raise RequestError(f"unknown parameter {unknown[0]!r}; the only one is 'minutes'")
    try:
        check_tenant(tenant, env)
    except RequestError:  # a name that cannot be, or is no longer, a tenant: nothing to tell
        raise NotFoundError("this page no longer exists") from None
    store = store_for(env, redis, clock)
    check_not_ended(claims, store.ended_links(tenant))
    minutes = minutes_param(params, store.window_ms // 60_000)
    now_ms = int(clock() * 1000)
    since = now_ms - minutes * 60_000
    data, counts, _ = store.read_tenant(tenant, store.series, since_ms=since, counts=True, hls_step_ms=HLS_STEP_MS)
    return {"from": since, "to": now_ms}, data, counts


def cached_answer(doc: dict[str, Any], window: dict[str, int], headers: Mapping[str, str], *, max_age: int) -> Answer:
    """200 with an ETag of what the page shows (not of ``window``, which moves every request),
    or 304 when the browser holds that already: an unchanged page costs no body. The answer
    may be kept by the browser only (``private``), for ``max_age`` seconds."""
    status, base, shown = json_answer(200, doc)  # serialised once: the tag is of these bytes
    tag = '"' + hashlib.blake2b(shown, digest_size=12).hexdigest() + '"'
    body = json.dumps(window, separators=(",", ":")).encode()[:-1] + b"," + shown[1:]
    base.update({"ETag": tag, "Cache-Control": f"private, max-age={max_age}", "Vary": "Authorization"})
    sent = headers.get("if-none-match") or headers.get("If-None-Match") or ""
    if tag in {t.strip().removeprefix("W/") for t in sent.split(",")}:
        return 304, base, b""
    return status, base, body


def max_age(fresh: Mapping[str, Mapping[str, Any]], now_ms: int) -> int:
    """Seconds until the next sample of any series is due (1-30): sooner, nothing new to show."""
    due = [(f["newest"] + f["interval_s"] * 1000 - now_ms) // 1000 for f in fresh.values() if f["newest"] is not None]
    return max(1, min([MAX_AGE_S, *due]))


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.strip().isdigit() else default
