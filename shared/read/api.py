"""The read side served by the app: the live API and health (docs/live-api.md); the live page's
data is ``shared.read.feed``, the page itself ``live_assets``.

Each handler takes a request's method, route and query parameters and the environment, and
returns ``(status, headers, body)``; the HTTP functions wrap that in ``func.HttpResponse``.
No raw IP or secret is in any answer: events are stored with personal data hashed, errors are
built from setting names and the app's own messages.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable, Iterable, Mapping

from shared.clients.redis_client import get_redis
from shared.core.errors import ConfigError, FabrikError, NotFoundError, RequestError, RetriableError
from shared.core.functions import descriptors, discover
from shared.core.settings import SettingsReader, load_store_settings, read_tenants
from shared.core.tenants import name_problem
from shared.core.version import VERSION
from shared.live.event_counts import EventCounts
from shared.live.store import Event, LiveStore
from shared.privacy.redact import redact_text
from shared.read.view_tokens import parse_keys
from shared.runtime import epoch
from shared.runtime.health import enabled
from shared.runtime.logs import known_secrets
from shared.runtime.status import parse_status
from shared.runtime.verdict import Verdict, iso, judge

Answer = tuple[int, dict[str, str], bytes]
LATEST_EVENTS = 20
JSON_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
# The parameters the live API takes; "code" is the host's function key (the host checks it).
LIVE_PARAMETERS = {"series", "minutes", "code"}
_WHOLE = re.compile(r"[0-9]{1,6}")  # ASCII digits only: str.isdigit() accepts "²"


def live(
    tenant: str,
    params: Mapping[str, str],
    *,
    env: Mapping[str, str],
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> Answer:
    """``GET /api/live/{tenant}?series=icecast,hls&minutes=30``: one Redis round trip, the
    events counted inside Redis over the requested window only."""
    try:
        unknown = sorted(set(params) - LIVE_PARAMETERS)
        if unknown:
            raise RequestError(f"unknown parameter {unknown[0]!r}; the parameters are 'series' and 'minutes'")
        store = store_for(env, redis, clock)
        check_tenant(tenant, env)
        series = series_param(params, store.series)
        minutes = minutes_param(params, store.window_ms // 60_000)
        now_ms = int(clock() * 1000)
        since = now_ms - minutes * 60_000
        data, counts, latest = store.read_tenant(tenant, series, since_ms=since, counts=True, latest=LATEST_EVENTS)
    except RequestError as exc:
        return json_answer(exc.status, {"error": str(exc)})
    except ConfigError as exc:
        return json_answer(500, {"error": f"server settings: {', '.join(sorted(exc.problems))}"})
    except (RetriableError, FabrikError) as exc:
        return json_answer(503, {"error": f"live data unavailable: {exc}"})
    if "TENANTS" not in env and not (counts and counts.total) and not any(data.values()):
        return json_answer(
            404,
            {
                "error": f"no live data for tenant {tenant!r} in the last {minutes} minutes "
                "(and TENANTS is not set, so the name cannot be checked)"
            },
        )
    return json_answer(200, payload(tenant, data, counts or EventCounts(), latest, since_ms=since, now_ms=now_ms))


def payload(
    tenant: str, data: Mapping[str, list], counts: EventCounts, latest: list[Event], *, since_ms: int, now_ms: int
) -> dict:
    """``series`` is exactly what ``show --json`` prints; ``events`` counts per type per minute
    and the latest few, bodies as stored (personal fields already hashed)."""
    newest = []
    for event in latest[-LATEST_EVENTS:]:
        try:
            body: Any = json.loads(event.body)
        except ValueError:
            body = event.body
        newest.append({"time": event.time_ms, "type": event.type, "body": body})
    return {
        "tenant": tenant,
        "from": since_ms,
        "to": now_ms,
        "series": {name: [{"time": s.time_ms, **s.metrics} for s in samples] for name, samples in data.items()},
        "events": {
            "per_minute": dict(sorted(counts.per_minute.items())),
            "latest": newest,
            "total": counts.total,
            "truncated": counts.truncated,
        },
    }


def health(*, env: Mapping[str, str], redis: Any = None, clock: Callable[[], float] = time.time) -> Answer:
    """``GET /api/health``: 503 when any enabled collector or source fails (shared.runtime.verdict: the
    same judgement as ``status`` and ``doctor``), else 200; warnings and unknowns are listed."""

    try:
        functions = enabled(env, discover())
        store = store_for(env, redis, clock)
        verdicts, loss = judge_functions(store, functions, env, now_ms=int(clock() * 1000), runs_only=timers(functions))
    except ValueError as exc:
        return json_answer(500, {"status": "error", "error": f"server settings: {exc}"})
    except ConfigError as exc:
        return json_answer(500, {"status": "error", "error": f"server settings: {', '.join(sorted(exc.problems))}"})
    except FabrikError as exc:
        return json_answer(503, {"status": "error", "error": f"status unavailable: {exc}"})
    failing = [v for v in verdicts if v.state == "fail"]

    body: dict[str, Any] = {
        "status": "failing" if failing else "ok",
        "version": VERSION,
        "functions": functions,
        "problems": [v.as_json() for v in verdicts if v.state != "ok"],
        "checked": [v.as_json() for v in verdicts],
    }
    if loss is not None:
        body["redis_lost_data_at"] = iso(loss.lost_at_ms)
    if not functions:
        body["note"] = "no collector is configured here"
    return json_answer(503 if failing else 200, body)


def judge_functions(
    store: LiveStore, functions: list[str], env: Mapping[str, str], *, now_ms: int, runs_only: Iterable[str] = ()
) -> tuple:
    """``(verdicts, data loss or None)`` for ``functions``: status and epoch in one round trip.
    ``runs_only``: functions judged by their run as a whole (``/api/health``), not per source."""

    raw, epoch_fields = store.read_status_and_epoch(functions, runs_only=runs_only)
    loss = epoch.loss_of(epoch_fields, env, store.redis, prefix=store.keys.prefix, now_ms=now_ms)
    status = {f: parse_status(f, fields) for f, fields in raw.items()}
    return judge(status, functions, env, now_ms=now_ms, loss=loss) + page_verdicts(env), loss


def page_verdicts(env: Mapping[str, str]) -> list[Verdict]:
    """The station pages, judged from their settings (they have no runs): a ``VIEW_SIGNING_KEYS``
    that is set but unusable fails, since then no station's page opens (issue 38)."""
    raw = env.get("VIEW_SIGNING_KEYS", "")
    if not raw.strip():
        return []  # pages not set up here: nothing to judge
    problem = view_keys_problem(raw)
    if problem is None:
        return [Verdict("station_pages", "VIEW_SIGNING_KEYS", "ok", "", 0)]
    return [
        Verdict("station_pages", "VIEW_SIGNING_KEYS", "fail", f"no station page opens: VIEW_SIGNING_KEYS: {problem}", 0)
    ]


def view_keys_problem(raw: str) -> str | None:
    try:
        parse_keys(raw)
    except ValueError as exc:
        return str(exc)
    return None


def timers(functions: Iterable[str]) -> list[str]:
    """The timer functions among ``functions``: each run covers all their sources (issue 35:
    health bounded by functions, 172 ms at 500 stations when it judged every tenant)."""
    found = descriptors()
    return [f for f in functions if f in found and found[f].schedule is not None]


def series_param(params: Mapping[str, str], known: Iterable[str]) -> list[str]:
    """``series``: comma-separated names, each once, in the order given; default all."""
    known = list(known)
    wanted = [s.strip() for s in params.get("series", "").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise RequestError(
            f"parameter 'series': unknown {', '.join(repr(s[:40]) for s in unknown[:3])}; "
            f"choose from {', '.join(known)}"
        )
    return list(dict.fromkeys(wanted)) or known


def minutes_param(params: Mapping[str, str], window_min: int) -> int:
    raw = params.get("minutes", "").strip()
    if not raw:
        return window_min
    if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= window_min:
        raise RequestError(f"parameter 'minutes': a whole number from 1 to {window_min} (the live window)")
    return int(raw)


def check_tenant(tenant: str, env: Mapping[str, str]) -> None:
    """Raises RequestError for a name no tenant can have, NotFoundError for one not in TENANTS."""
    problem = name_problem(tenant)
    if problem:
        raise RequestError(f"tenant name {problem}")
    if env.get("TENANTS"):
        reader = SettingsReader(env)
        tenants = read_tenants(reader)
        reader.check()
        if tenant not in tenants.by_name:
            raise NotFoundError(f"unknown tenant {tenant!r}: not in TENANTS")


def store_for(env: Mapping[str, str], redis: Any, clock: Callable[[], float]) -> LiveStore:

    settings = load_store_settings(env)
    return LiveStore(redis if redis is not None else get_redis(settings), settings=settings, clock=clock)


def json_answer(status: int, body: Any) -> Answer:
    """A JSON answer; an error's text has every known secret masked (whatever a server echoed)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if status >= 400:
        text = redact_text(text, known_secrets())
    return status, dict(JSON_HEADERS), text.encode("utf-8")
