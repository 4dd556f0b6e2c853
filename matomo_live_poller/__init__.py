"""matomo_live_poller: live visitors, visits and actions from Matomo into each tenant's ``matomo`` series."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import azure.functions as func

from shared.runtime.status import RunReport

FUNCTION = "matomo_live_poller"


def main(timer: func.TimerRequest) -> None:
    """Host entry point (timer). Matomo failures are recorded, not raised; Redis down raises."""
    run(timer)


def run(
    timer: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> RunReport:
    """Ask Matomo for every tenant's site (a request per chunk of sites) and store one sample per tenant."""
    from matomo_live_poller.fetch import fetch_sites
    from matomo_live_poller.settings import load_settings
    from shared.clients.http import HttpOptions, get_session
    from shared.live.store import Sample
    from shared.runtime.runs import finish_run, start_run

    started = start_run(FUNCTION, load_settings, env=env, redis=redis, clock=clock)
    settings, report, log = started.settings, started.report, started.log
    site_of = settings.tenants.with_section("matomo")  # tenant -> site id
    if session is None:
        session = get_session(
            HttpOptions(read_timeout=settings.timeout_seconds, retries=1, retry_methods=frozenset({"GET", "POST"}))
        )
    answers = fetch_sites(
        session,
        url=settings.url,
        token=settings.token,
        sites=sorted(set(site_of.values())),
        window_minutes=settings.window_minutes,
        per_request=settings.sites_per_request,
        timeout=settings.timeout_seconds,
    )
    samples = []
    for tenant, site in site_of.items():
        source, found = f"tenant:{tenant}", answers[site]
        if not isinstance(found, dict):  # the request of this site's chunk failed
            report.fail(source, found, site_id=site)
            continue
        window, minute = found[settings.window_minutes], found[1]
        failed = next((a.error for a in (window, minute) if a.error), None)
        if failed:
            report.fail(source, f"site {site}: Matomo said: {failed}", site_id=site)
            continue
        metrics = {
            "visitors": window.counters.visitors,
            "visits": window.counters.visits,
            "actions": minute.counters.actions,
        }
        samples.append(Sample(tenant=tenant, series="matomo", time_ms=report.started_ms, metrics=metrics))
        report.succeed(source, site_id=site, **metrics)
    return finish_run(
        report, samples, store_settings=settings.store, redis=redis, clock=clock, log=log, env=started.env
    )
