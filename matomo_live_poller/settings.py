"""Settings of matomo_live_poller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from shared.core.settings import (
    SettingsReader,
    StoreSettings,
    cached_loader,
    http_url,
    positive_int,
    read_store,
    read_tenants,
)
from shared.core.tenants import Tenants
from shared.runtime.logs import register_secrets


@dataclass(frozen=True)
class MatomoSettings:
    store: StoreSettings
    tenants: Tenants
    url: str  # the API endpoint, .../index.php
    token: str = field(repr=False)
    window_minutes: int = 3
    timeout_seconds: int = 10
    sites_per_request: int = 100


def sites_per_request(raw: str) -> int:
    value = positive_int(raw)
    if value > 400:  # 4 + 2 x 400 form fields: still under PHP's default max_input_vars of 1,000
        raise ValueError("at most 400: PHP drops form fields past max_input_vars (1,000 by default)")
    return value


def window(raw: str) -> int:
    value = positive_int(raw)
    if value > 2880:
        raise ValueError("Matomo accepts 1 to 2880 minutes")
    return value


def _load(env: Mapping[str, str]) -> MatomoSettings:
    reader = SettingsReader(env)
    store = read_store(reader)
    tenants = read_tenants(reader)
    url = reader.get("MATOMO_URL", http_url)
    token = reader.get("MATOMO_TOKEN", str, secret=True)
    minutes = reader.get("MATOMO_WINDOW_MINUTES", window, default=3)
    timeout = reader.get("MATOMO_TIMEOUT_SECONDS", positive_int, default=10)
    per_request = reader.get("MATOMO_SITES_PER_REQUEST", sites_per_request, default=100)
    if tenants is not None and not tenants.with_section("matomo"):
        reader.fail("TENANTS", "no tenant has a matomo.site_id")
    reader.check()
    register_secrets([token])
    endpoint = url if url.endswith(".php") else f"{url}/index.php"
    return MatomoSettings(
        store=store,
        tenants=tenants,
        url=endpoint,
        token=token,
        window_minutes=minutes,
        timeout_seconds=timeout,
        sites_per_request=per_request,
    )


load_settings = cached_loader(_load)
