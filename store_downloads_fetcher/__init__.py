"""store_downloads_fetcher: daily app downloads from App Store Connect and Google Play into Blob Storage."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

import azure.functions as func

from shared.runtime.logs import get_logger
from shared.runtime.status import RunReport

FUNCTION = "store_downloads_fetcher"
RUN_BUDGET_SECONDS = 480.0  # host.json functionTimeout is 10 min: leave time for Google and the state
APPLE_SHARE = 0.6


def main(timer: func.TimerRequest) -> None:
    """Host entry point (timer, daily). Store failures are recorded per day and retried on
    later runs; Blob Storage unreachable raises."""
    run(timer)


def run(
    timer: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    dates: Iterable[Any] | None = None,
    session: Any = None,
    container: Any = None,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
    budget_s: float = RUN_BUDGET_SECONDS,
) -> RunReport:
    """Fetch the look-back window and the days still open (or ``dates``, for a backfill).

    Apple gets most of ``budget_s`` (below host.json's functionTimeout), Google the rest; a
    failure in one store never stops the other or the saving of the state.
    """
    from shared.core.errors import RetriableError
    from shared.runtime.runs import record_failure, start_run
    from store_downloads_fetcher.settings import load_settings

    started = start_run(FUNCTION, load_settings, env=env, redis=redis, clock=clock)
    env, settings, report, log = started.env, started.settings, started.report, started.log
    written: list[str] = []
    dates = sorted(set(dates)) if dates else None
    try:
        _collect(
            settings,
            report,
            dates=dates,
            session=session,
            container=container,
            clock=clock,
            budget_s=budget_s,
            written=written,
        )
    except RetriableError as exc:  # Blob Storage unreachable: on record, then the host retries
        log.error("storage unreachable, nothing saved: %s", exc, extra={"cli_prints": True})
        record_failure(FUNCTION, env, "storage", exc, redis=redis, clock=clock)
        raise
    report.finish(int(clock() * 1000))
    (log.info if report.ok else log.warning)("%d blobs written; %s", len(written), report.summary())
    _status(report, env, redis, clock)
    return report


def _collect(
    settings: Any,
    report: RunReport,
    *,
    dates: Any,
    session: Any,
    container: Any,
    clock: Callable[[], float],
    budget_s: float,
    written: list[str],
) -> None:
    from shared.clients.blob import get_container
    from shared.clients.http import HttpOptions, get_session
    from store_downloads_fetcher.apple_run import run_apple
    from store_downloads_fetcher.google_run import run_google
    from store_downloads_fetcher.output import Output
    from store_downloads_fetcher.tokens import AppleToken, GoogleToken

    if container is None:
        container = get_container(settings.connection, settings.container, setting="DOWNLOADS_STORAGE_CONNECTION")
    if session is None:
        session = get_session(HttpOptions(read_timeout=60, retries=4, backoff=2.0, max_retry_after=60))
    out = Output(container, clock=clock)
    out.written = written
    state, etag = out.load_state()
    now = clock()
    begun = time.monotonic()
    if settings.apple is not None:
        conf = settings.apple
        # Tokens use the wall clock whatever ``clock`` says: the servers judge them by theirs.
        token = AppleToken(issuer_id=conf.issuer_id, key_id=conf.key_id, private_key=conf.private_key)
        _guarded(
            report,
            "apple",
            lambda: run_apple(
                settings,
                state,
                out,
                report,
                session=session,
                token=token,
                now=now,
                dates=dates,
                deadline=begun + budget_s * APPLE_SHARE,
            ),
        )
    if settings.google is not None:
        account = settings.google
        token = GoogleToken(
            client_email=account.client_email,
            private_key=account.private_key,
            private_key_id=account.private_key_id,
            token_url=account.token_url,
            session=session,
        )
        _guarded(
            report,
            "google",
            lambda: run_google(settings, state, out, report, session=session, token=token, now=now, dates=dates),
        )
    out.save_state(state, etag)


def _guarded(report: RunReport, source: str, work: Callable[[], None]) -> None:
    """One store's unexpected failure is recorded and the run goes on; storage down still raises."""
    from shared.core.errors import RetriableError, StorageError

    try:
        work()
    except StorageError:
        raise  # Blob Storage unreachable: nothing can be saved, the host retries
    except RetriableError as exc:
        report.fail(source, exc)
    except Exception as exc:  # a bug must cost this store's run, not the other store's or the state
        get_logger(FUNCTION, source=source).exception("%s failed", source)
        report.fail(source, f"internal error: {type(exc).__name__}")


def _status(report: RunReport, env: Mapping[str, str], redis: Any, clock: Callable[[], float]) -> None:
    """Also put the run into fabrik:status:<function> when this app has Redis settings (on-call looks there)."""
    if not env.get("REDIS_URL"):
        return
    from shared.clients.redis_client import get_redis
    from shared.core.errors import FabrikError
    from shared.core.settings import load_store_settings
    from shared.live.store import LiveStore

    try:
        settings = load_store_settings(env)
        LiveStore(redis if redis is not None else get_redis(settings), settings=settings, clock=clock).write(
            report=report
        )
    except FabrikError as exc:
        get_logger(FUNCTION).warning("run status not stored in Redis: %s", exc)
