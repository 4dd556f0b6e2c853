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
    if tenants is not None and not tenants.with_section("matomo"):
        reader.fail("TENANTS", "no tenant has a matomo.site_id")
    reader.check()
    register_secrets([token])
    endpoint = url if url.endswith(".php") else f"{url}/index.php"
    return MatomoSettings(
        store=store, tenants=tenants, url=endpoint, token=token, window_minutes=minutes, timeout_seconds=timeout
    )


load_settings = cached_loader(_load)
