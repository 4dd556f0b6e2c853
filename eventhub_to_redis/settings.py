"""Settings of eventhub_to_redis (the trigger's own EVENTHUB_* settings are read by the host)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from eventhub_to_redis.event_body import extra_field_problem
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
    extra_fields: frozenset[str] = frozenset()  # EVENT_EXTRA_FIELDS: kept beside the declared ones


def _load(env: Mapping[str, str]) -> EventHubSettings:
    reader = SettingsReader(env)
    store = read_store(reader)
    hasher = read_identity(reader)
    tenants = read_tenants(reader) if env.get("TENANTS") else None
    connection = read_storage(reader, "DEADLETTER_STORAGE_CONNECTION")
    container = reader.get("DEADLETTER_CONTAINER", str, default="deadletter")
    max_bytes = reader.get("EVENT_MAX_BYTES", positive_int, default=65536)
    future = reader.get("EVENT_MAX_FUTURE_SECONDS", _at_most_a_minute, default=60)
    extra = reader.get("EVENT_EXTRA_FIELDS", _field_names, default=frozenset())
    reader.check()
    return EventHubSettings(
        store=store,
        hasher=hasher,
        tenants=tenants,
        deadletter_connection=connection,
        deadletter_container=container,
        max_event_bytes=max_bytes,
        max_future_seconds=future,
        extra_fields=extra,
    )


def _at_most_a_minute(raw: str) -> int:
    """The live store refuses samples more than a minute ahead (shared.live.store.AHEAD_MS)."""
    value = positive_int(raw)
    if value > 60:
        raise ValueError("at most 60 (the live store refuses times further ahead)")
    return value


def _field_names(raw: str) -> frozenset[str]:
    """Comma-separated field names a deployment keeps beside the contract's (never personal ones)."""
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    problems = [p for p in map(extra_field_problem, sorted(names)) if p]
    if problems:
        raise ValueError("; ".join(problems))
    return names


load_settings = cached_loader(_load)
