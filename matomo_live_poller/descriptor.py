"""matomo_live_poller as the rest of the app sees it (shared.core.descriptor)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from shared.core.descriptor import Descriptor, Metric, Probe, Series, Setting, TenantSection, lazy

MATOMO = Series(
    name="matomo",
    bucket_ms=3_600_000,  # 60 samples at the default minute
    metrics=(
        Metric("visitors", "visitors", "distinct visitors in the last `MATOMO_WINDOW_MINUTES` (default 3)"),
        Metric("visits", "visits", "visits active in the same window"),
        Metric("actions", "actions", "page views, events, downloads in the last minute"),
    ),
)


def _site_id(tenant: str, value: dict, problems: list[str]) -> int | None:
    """``{"site_id": 3}``: the tenant's Matomo site."""
    site_id = value.get("site_id")
    if site_id is not None and not (isinstance(site_id, int) and not isinstance(site_id, bool) and site_id > 0):
        problems.append(f"{tenant}.matomo.site_id: expected a positive whole number")
        return None
    return site_id


def _probes(settings: Any, env: Mapping[str, str]) -> Iterable[Probe]:
    yield Probe("matomo", lambda: _reach(settings))


def _reach(settings: Any) -> str:
    from matomo_live_poller.fetch import fetch_counters
    from shared.clients.http import HttpOptions, make_session
    from shared.core.errors import FabrikError

    sites = sorted(settings.tenants.with_section("matomo").values())
    answers = fetch_counters(
        make_session(HttpOptions(retries=0)),
        url=settings.url,
        token=settings.token,
        queries=[(site, 1) for site in sites[:1]] or [(1, 1)],
        timeout=10,
    )
    errors = [a.error for a in answers if getattr(a, "error", None)]
    if errors:
        raise FabrikError(f"matomo answered: {errors[0]}")
    return "API answered"


SETTINGS = (
    Setting(
        "MATOMO_URL",
        "Matomo's root URL (`https://matomo.example.com`) or its `index.php`",
        default="required",
        example="https://matomo.example.com",
    ),
    Setting(
        "MATOMO_TOKEN",
        "API token with view access to the tenants' sites; sent in the POST body only",
        default="required",
        secret=True,
        example="example-token-not-real",
    ),
    Setting(
        "MATOMO_WINDOW_MINUTES",
        "the window for `visitors` and `visits` (1–2880; Matomo's real-time widget uses 3)",
        default="`3`",
        example="3",
    ),
    Setting(
        "MATOMO_TIMEOUT_SECONDS",
        "read timeout of each request",
        default="`10`",
        example="10",
    ),
    Setting(
        "MATOMO_SITES_PER_REQUEST",
        (
            "sites per bulk request (1–400); requests go out in parallel, 8 at a time. PHP drops form fields "
            "past `max_input_vars` (1,000 by default): a request carries 4 + 2 × sites"
        ),
        default="`100`",
        example="100",
    ),
)


DESCRIPTOR = Descriptor(
    name="matomo_live_poller",
    in_use=("MATOMO_URL", "MATOMO_TOKEN"),
    load_settings=lazy("matomo_live_poller.settings", "load_settings"),
    schedule="0 * * * * *",
    series=(MATOMO,),
    tenant_sections=(TenantSection(name="matomo", keys=frozenset({"site_id"}), parse=_site_id),),
    probes=_probes,
    settings=SETTINGS,
    collect=lazy("matomo_live_poller.collect", "collect"),
    schedule_help="every minute",
)
