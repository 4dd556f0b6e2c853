"""icecast_poller: live listeners from Icecast servers into each tenant's ``icecast`` series."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import azure.functions as func

from shared.runtime.status import RunReport

FUNCTION = "icecast_poller"


def _report(report: RunReport, results: Any, result: Any, settings: Any, log: Any) -> None:
    """Each server's outcome (a mount without its breakdown only noted), the unclaimed mounts,
    and the country database: the run's status for on-call."""
    for r in results:
        source = f"server:{r.server.name}"
        if r.error:
            report.fail(source, r.error)
            continue
        counts = {
            "mounts": len(r.stats.mounts),
            "listeners": sum(m.listeners for m in r.stats.mounts),
            "clients_listed": sum(len(v) for v in r.listeners.values()),
            "elapsed_ms": r.elapsed_ms,
            "mounts_without_source": sum(1 for m in r.stats.mounts if not m.has_source),
        }
        if r.mount_errors:  # the server answered: a mount without its breakdown is only noted
            counts["mounts_without_breakdown"] = len(r.mount_errors)
            log.bind(source=source).info(
                "no listener breakdown for %s", "; ".join(f"{m}: {e}" for m, e in sorted(r.mount_errors.items()))
            )
        report.succeed(source, **counts)
    if result.unclaimed:
        log.warning(
            "mounts no tenant claims: %s",
            ", ".join(f"{m} ({n} listeners)" for m, n in sorted(result.unclaimed.items())),
        )
        report.succeed("unclaimed-mounts", **result.unclaimed)
    if settings.geoip is not None:  # countries only: the listener numbers above stand either way
        if settings.geoip.problem:
            report.fail("geoip", settings.geoip.problem)
        else:
            report.succeed("geoip")


def main(timer: func.TimerRequest) -> None:
    """Host entry point (timer). Source failures are recorded, not raised; Redis down raises."""
    run(timer)


def run(
    timer: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> RunReport:
    """Poll every server once and store one sample per tenant. Returns what happened."""
    from icecast_poller.aggregate import aggregate
    from icecast_poller.fetch import poll_servers
    from icecast_poller.settings import load_settings
    from shared.clients.http import HttpOptions, get_session
    from shared.runtime.health import series_interval_seconds
    from shared.runtime.runs import finish_run, seconds_since_last_success, start_run

    started = start_run(FUNCTION, load_settings, env=env, redis=redis, clock=clock)
    settings, report, log = started.settings, started.report, started.log
    if getattr(timer, "past_due", False):
        log.warning("timer is past due; polling now")
    if session is None:
        session = get_session(
            HttpOptions(
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                retries=1,
                pool_size=settings.max_parallel,
            )
        )
    results = poll_servers(
        settings.servers,
        session=session,
        wants_mount=lambda m: settings.owners.tenant_for_mount(m) is not None,
        ip_tokens=settings.hasher.ip_tokens,
        max_parallel=settings.max_parallel,
        deadline=time.monotonic() + settings.deadline_seconds,
        countries=settings.geoip.countries if settings.geoip else None,
    )
    interval_s = seconds_since_last_success(
        FUNCTION,
        settings.store,
        redis=redis,
        now_ms=report.started_ms,
        default_s=series_interval_seconds("icecast", started.env),
    )
    relay_ips = frozenset(settings.hasher.ip_tokens([a for s in settings.servers for a in s.relay_addresses]))
    result = aggregate(
        results,
        settings.owners,
        time_ms=report.started_ms,
        relay_ip_tokens=relay_ips,
        top_countries=settings.geoip.top if settings.geoip else None,
        interval_s=interval_s,
        aqh_seconds=settings.aqh_seconds,
    )
    _report(report, results, result, settings, log)
    for sample in result.samples:
        report.succeed(f"tenant:{sample.tenant}", listeners=sample.metrics["listeners"])
    return finish_run(
        report, result.samples, store_settings=settings.store, redis=redis, clock=clock, log=log, env=started.env
    )
