"""matomo_live_poller's step: every tenant's site from Matomo, one sample each (shared.runtime.collect)."""

from __future__ import annotations

from typing import Any

from matomo_live_poller.fetch import fetch_sites
from shared.clients.http import HttpOptions, get_session
from shared.live.records import Sample
from shared.runtime.collect import Context


def collect(settings: Any, context: Context) -> list[Sample]:
    """A request per chunk of sites; a chunk or a site that fails is a failed source of its
    tenants only, and the others are written."""
    report = context.report
    site_of = settings.tenants.with_section("matomo")  # tenant -> site id
    session = context.session or get_session(
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
    return samples
