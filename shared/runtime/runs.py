"""The end of every collector run: write samples and status together, log one summary line.

Kept here so each function's ``__init__`` stays wiring, and every collector reports the same
way: a run whose sources partly failed still writes what it has, and says what failed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Mapping, TypeVar

from shared.clients.redis_client import get_redis
from shared.core.errors import ConfigError, FabrikError
from shared.core.functions import all_series
from shared.core.settings import StoreSettings, load_store_settings
from shared.live.store import Event, LiveStore, Sample
from shared.runtime import epoch
from shared.runtime.declared import keep_declared
from shared.runtime.logs import ContextLogger, get_logger
from shared.runtime.status import RunReport
from shared.runtime.verdict import iso

T = TypeVar("T")


@dataclass
class Started(Generic[T]):
    """What every run begins with: its settings (validated), logger, report and environment."""

    env: Mapping[str, str]
    log: ContextLogger
    report: RunReport
    settings: T


def start_run(
    function: str,
    load_settings: Callable[[Mapping[str, str]], T],
    *,
    env: Mapping[str, str] | None,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> Started[T]:
    """Load the function's settings; a settings error is logged, put in the status, and raised."""
    env = os.environ if env is None else env
    log = get_logger(function)
    report = RunReport(function, started_ms=int(clock() * 1000))
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        record_config_error(function, env, exc, redis=redis, clock=clock, log=log)
        raise
    return Started(env=env, log=log, report=report, settings=settings)


def finish_run(
    report: RunReport,
    samples: Iterable[Sample],
    *,
    events: Iterable[Event] = (),
    ticks: Iterable[tuple[str, int]] = (),
    store_settings: StoreSettings,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
    log: ContextLogger,
    env: Mapping[str, str] | None = None,
) -> RunReport:
    """Store samples, events and the run status in one round trip; raise RetriableError if Redis is down.
    When that write finds no status epoch, tell a new install from a Redis that lost its data
    (``shared.runtime.epoch``)."""
    samples, left_out = keep_declared(samples, all_series())
    events = list(events)
    if left_out:  # logged and not written; the run fails its `metrics` source until the code is fixed
        log.error("metrics left out (not declared, or not whole numbers): %s", "; ".join(left_out))
        report.fail("metrics", "; ".join(left_out)[:500])
    store = LiveStore(redis if redis is not None else get_redis(store_settings), settings=store_settings, clock=clock)
    try:
        written = store.write(samples=samples, events=events, ticks=ticks, report=report.finish(int(clock() * 1000)))
    except FabrikError as exc:
        # Marked so the CLI, which prints the same error as its one "error:" line, does not repeat it.
        log.error(
            "could not store %d samples and %d events: %s", len(samples), len(events), exc, extra={"cli_prints": True}
        )
        raise
    if written.epoch_created:
        try:
            loss = epoch.settle(
                os.environ if env is None else env, store.redis, prefix=store.keys.prefix, now_ms=int(clock() * 1000)
            )
        except FabrikError as exc:
            log.warning("could not check whether Redis lost its data: %s", exc)
        else:
            if loss is not None:
                log.warning(
                    "Redis lost its data at about %s (no run status since); runs are recorded anew",
                    _iso(loss.lost_at_ms),
                )
    text = f"{written.samples} samples stored; "
    if events or written.too_old:
        text += f"{written.events} events stored; {written.too_old} older than the window skipped; "
    text += report.summary()
    if report.ok:
        log.info(text)
    else:
        log.warning(text)
    return report


def _status_fields(function: str, fields: list[str], store_settings: StoreSettings, redis: Any) -> list[Any] | None:
    """Fields of the function's status hash in one round trip; None when Redis cannot say (the
    write that follows reports Redis down)."""
    from redis.exceptions import RedisError

    store = LiveStore(redis if redis is not None else get_redis(store_settings), settings=store_settings)
    try:
        return store.redis.hmget(store.keys.status(function), fields)
    except (RedisError, FabrikError, OSError):
        return None


def seconds_since_last_success(
    function: str, store_settings: StoreSettings, *, redis: Any = None, now_ms: int, default_s: int
) -> int:
    """Seconds since the function's last successful run (what "since the previous sample"
    means to a metric), ``default_s`` for a first run or when Redis cannot say. Capped at the
    live window: nothing older is kept anyway."""
    [raw] = _status_fields(function, ["_run|last_success"], store_settings, redis) or [None]
    if not raw or not str(raw).isdigit() or int(raw) >= now_ms:
        return default_s
    return max(1, min((now_ms - int(raw)) // 1000, store_settings.window_seconds))


def last_counts(
    function: str, sources: Iterable[str], store_settings: StoreSettings, *, redis: Any = None
) -> dict[str, dict[str, int]]:
    """Each source's counts as its last run stored them (empty for a source never seen, or when
    Redis cannot say)."""
    import json

    sources = list(sources)
    answers = _status_fields(function, [f"{s}|counts" for s in sources], store_settings, redis) if sources else None
    out: dict[str, dict[str, int]] = {}
    for source, raw in zip(sources, answers or [None] * len(sources)):
        try:
            out[source] = json.loads(raw) if raw else {}
        except ValueError:
            out[source] = {}
    return out


def _iso(ms: int) -> str:

    return iso(ms) or "?"


def record_config_error(
    function: str,
    env: Mapping[str, str],
    error: ConfigError,
    *,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
    log: ContextLogger,
) -> None:
    """Best effort: put a settings error into the status too, where on-call looks first."""
    # Marked so the CLI, which prints the same error as its one "error:" line, does not repeat it.
    log.error("%s", error, extra={"cli_prints": True})
    record_failure(function, env, "settings", error, redis=redis, clock=clock)


def record_failure(
    function: str,
    env: Mapping[str, str],
    source: str,
    error: BaseException,
    *,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Best effort: a failure that ends a run early (settings, storage) goes into the status too,
    so every run that exited non-zero says why there."""
    try:
        store_settings = load_store_settings(env)
        report = RunReport(function, started_ms=int(clock() * 1000))
        report.fail(source, error)
        store = LiveStore(
            redis if redis is not None else get_redis(store_settings), settings=store_settings, clock=clock
        )
        written = store.write(report=report.finish(int(clock() * 1000)))
        if written.epoch_created:  # the install's first record may be a failure: mark it all the same
            epoch.settle(env, store.redis, prefix=store.keys.prefix, now_ms=int(clock() * 1000))
    except FabrikError:
        pass
