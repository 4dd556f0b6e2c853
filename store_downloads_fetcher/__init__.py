"""store_downloads_fetcher: daily app downloads from App Store Connect and Google Play into Blob Storage."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

import azure.functions as func

from shared.logs import get_logger
from shared.status import RunReport

FUNCTION = "store_downloads_fetcher"


def main(timer: func.TimerRequest) -> None:
    """Host entry point (timer, daily). Store failures are recorded per day and retried on
    later runs; Blob Storage unreachable raises."""
    run(timer)


def run(timer: Any = None, *, env: Mapping[str, str] | None = None, dates: Iterable[Any] | None = None,
        session: Any = None, container: Any = None, redis: Any = None,
        clock: Callable[[], float] = time.time) -> RunReport:
    """Fetch the look-back window and the days still open (or ``dates``, for a backfill)."""
    from shared.blob import get_container
    from shared.http import HttpOptions, get_session
    from shared.runs import start_run
    from store_downloads_fetcher.collect import run_apple, run_google
    from store_downloads_fetcher.output import Output
    from store_downloads_fetcher.settings import load_settings
    from store_downloads_fetcher.tokens import AppleToken, GoogleToken

    started = start_run(FUNCTION, load_settings, env=env, redis=redis, clock=clock)
    env, settings, report, log = started.env, started.settings, started.report, started.log
    dates = sorted(set(dates)) if dates else None
    if container is None:
        container = get_container(settings.connection, settings.container, setting="DOWNLOADS_STORAGE_CONNECTION")
    if session is None:
        session = get_session(HttpOptions(read_timeout=60, retries=4, backoff=2.0, max_retry_after=60))
    out = Output(container, clock=clock)
    state, etag = out.load_state()
    now = clock()
    if settings.apple is not None:
        a = settings.apple
        # Tokens use the wall clock whatever ``clock`` says: the servers judge them by theirs.
        token = AppleToken(issuer_id=a.issuer_id, key_id=a.key_id, private_key=a.private_key)
        run_apple(settings, state, out, report, session=session, token=token, now=now, dates=dates)
    if settings.google is not None:
        g = settings.google
        token = GoogleToken(client_email=g.client_email, private_key=g.private_key, private_key_id=g.private_key_id,
                            token_url=g.token_url, session=session)
        run_google(settings, state, out, report, session=session, token=token, now=now, dates=dates)
    out.save_state(state, etag)
    report.finish(int(clock() * 1000))
    (log.info if report.ok else log.warning)("%d blobs written; %s", len(out.written), report.summary())
    _status(report, env, redis, clock)
    return report


def _status(report: RunReport, env: Mapping[str, str], redis: Any, clock: Callable[[], float]) -> None:
    """Also put the run into fabrik:status:<function> when this app has Redis settings (on-call looks there)."""
    if not env.get("REDIS_URL"):
        return
    from shared.errors import FabrikError
    from shared.live_store import LiveStore
    from shared.redis_client import get_redis
    from shared.settings import load_store_settings

    try:
        settings = load_store_settings(env)
        LiveStore(redis if redis is not None else get_redis(settings), settings=settings, clock=clock).write(
            report=report)
    except FabrikError as exc:
        get_logger(FUNCTION).warning("run status not stored in Redis: %s", exc)
