"""The end of every collector run: write samples and status together, log one summary line.

Kept here so each function's ``__init__`` stays wiring, and every collector reports the same
way: a run whose sources partly failed still writes what it has, and says what failed.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Mapping

from shared.errors import ConfigError, FabrikError
from shared.live_store import Event, LiveStore, Sample
from shared.logs import ContextLogger
from shared.redis_client import get_redis
from shared.settings import StoreSettings, load_store_settings
from shared.status import RunReport


def finish_run(report: RunReport, samples: Iterable[Sample], *, events: Iterable[Event] = (),
               store_settings: StoreSettings, redis: Any = None, clock: Callable[[], float] = time.time,
               log: ContextLogger) -> RunReport:
    """Store samples, events and the run status in one round trip; raise RetriableError if Redis is down."""
    samples, events = list(samples), list(events)
    store = LiveStore(redis if redis is not None else get_redis(store_settings), settings=store_settings,
                      clock=clock)
    try:
        written = store.write(samples=samples, events=events, report=report.finish(int(clock() * 1000)))
    except FabrikError as exc:
        log.error("could not store %d samples and %d events: %s", len(samples), len(events), exc)
        raise
    text = f"{written.samples} samples stored; "
    if events or written.too_old:
        text += f"{written.events} events stored; {written.too_old} older than the window skipped; "
    text += report.summary()
    if report.ok:
        log.info(text)
    else:
        log.warning(text)
    return report


def record_config_error(function: str, env: Mapping[str, str], error: ConfigError, *,
                        redis: Any = None, clock: Callable[[], float] = time.time,
                        log: ContextLogger) -> None:
    """Best effort: put a settings error into the status too, where on-call looks first."""
    log.error("%s", error)
    try:
        store_settings = load_store_settings(env)
        report = RunReport(function, started_ms=int(clock() * 1000))
        report.fail("settings", error)
        store = LiveStore(redis if redis is not None else get_redis(store_settings), settings=store_settings,
                          clock=clock)
        store.write(report=report.finish(int(clock() * 1000)))
    except FabrikError:
        pass
