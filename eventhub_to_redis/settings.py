"""Settings of eventhub_to_redis (the trigger's own EVENTHUB_* settings are read by the host)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from shared.clients.azure_auth import BlobTarget
from shared.core.settings import (
    SettingsReader,
    StoreSettings,
    cached_loader,
    positive_int,
    read_identity,
    read_storage,
    read_store,
    read_tenants,
)
from shared.core.tenants import Tenants
from shared.privacy.identity import IdentityHasher


@dataclass(frozen=True)
class EventHubSettings:
    store: StoreSettings
    hasher: IdentityHasher
    tenants: Tenants | None  # when set, events of other tenants are dead-lettered
    deadletter_connection: BlobTarget = field(repr=False)
    deadletter_container: str = "deadletter"
    max_event_bytes: int = 65536
    max_future_seconds: int = 60


def _load(env: Mapping[str, str]) -> EventHubSettings:
    reader = SettingsReader(env)
    store = read_store(reader)
    hasher = read_identity(reader)
    tenants = read_tenants(reader) if env.get("TENANTS") else None
    connection = read_storage(reader, "DEADLETTER_STORAGE_CONNECTION")
    container = reader.get("DEADLETTER_CONTAINER", str, default="deadletter")
    max_bytes = reader.get("EVENT_MAX_BYTES", positive_int, default=65536)
    future = reader.get("EVENT_MAX_FUTURE_SECONDS", _at_most_a_minute, default=60)
    reader.check()
    return EventHubSettings(
        store=store,
        hasher=hasher,
        tenants=tenants,
        deadletter_connection=connection,
        deadletter_container=container,
        max_event_bytes=max_bytes,
        max_future_seconds=future,
    )


def _at_most_a_minute(raw: str) -> int:
    """The live store refuses samples more than a minute ahead (shared.live.store.AHEAD_MS)."""
    value = positive_int(raw)
    if value > 60:
        raise ValueError("at most 60 (the live store refuses times further ahead)")
    return value


load_settings = cached_loader(_load)
