"""Settings of eventhub_to_redis (the trigger's own EVENTHUB_* settings are read by the host)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from shared.identity import IdentityHasher
from shared.logs import register_secrets
from shared.redact import connection_string_secrets
from shared.settings import (SettingsReader, storage_connection_problem, StoreSettings, cached_loader, positive_int, read_identity,
                             read_store, read_tenants)
from shared.tenants import Tenants


@dataclass(frozen=True)
class EventHubSettings:
    store: StoreSettings
    hasher: IdentityHasher
    tenants: Tenants | None  # when set, events of other tenants are dead-lettered
    deadletter_connection: str = field(repr=False)
    deadletter_container: str = "deadletter"
    max_event_bytes: int = 65536
    max_future_seconds: int = 600


def _load(env: Mapping[str, str]) -> EventHubSettings:
    reader = SettingsReader(env)
    store = read_store(reader)
    hasher = read_identity(reader)
    tenants = read_tenants(reader) if env.get("TENANTS") else None
    connection = env.get("DEADLETTER_STORAGE_CONNECTION") or env.get("AzureWebJobsStorage")
    if not connection:
        reader.fail("DEADLETTER_STORAGE_CONNECTION", "missing (and AzureWebJobsStorage is not set either)")
    elif storage_connection_problem(connection):
        reader.fail("DEADLETTER_STORAGE_CONNECTION" if env.get("DEADLETTER_STORAGE_CONNECTION") else "AzureWebJobsStorage",
                    storage_connection_problem(connection))
    container = reader.get("DEADLETTER_CONTAINER", str, default="deadletter")
    max_bytes = reader.get("EVENT_MAX_BYTES", positive_int, default=65536)
    future = reader.get("EVENT_MAX_FUTURE_SECONDS", positive_int, default=600)
    reader.check()
    register_secrets([connection, *connection_string_secrets(connection)])
    return EventHubSettings(store=store, hasher=hasher, tenants=tenants, deadletter_connection=connection,
                            deadletter_container=container, max_event_bytes=max_bytes, max_future_seconds=future)


load_settings = cached_loader(_load)
