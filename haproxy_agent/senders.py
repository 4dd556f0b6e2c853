"""Where messages go: the Event Hub (one batch per tenant, partition key = tenant, so one
tenant's counts stay in order), or standard output for ``--dry-run``."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable, Protocol, Sequence, TextIO

from haproxy_agent.errors import SendFailed
from shared.clients.azure_auth import credential


class Sender(Protocol):
    def send(self, messages: Sequence[dict]) -> None: ...


class PrintSender:
    """``--dry-run``: one JSON message per line."""

    def __init__(self, out: TextIO = sys.stdout):
        self.out = out

    def send(self, messages: Sequence[dict]) -> None:
        for message in messages:
            self.out.write(json.dumps(message, separators=(",", ":")) + "\n")
        self.out.flush()


class EventHubSender:
    """Sends with ``azure.eventhub.EventHubProducerClient``, retrying with back-off."""

    def __init__(
        self,
        connection: str,
        eventhub_name: str,
        *,
        attempts: int = 3,
        backoff: float = 1.0,
        client_factory: Callable[..., Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        namespace: str = "",
        credential_kind: str = "",
        client_id: str = "",
    ):
        if client_factory is None:
            from azure.eventhub import EventHubProducerClient

            client_factory = EventHubProducerClient.from_connection_string
            if namespace and "Endpoint=" not in connection:
                token = credential(credential_kind, client_id)

                def client_factory(_connection: str, **kwargs: Any) -> Any:
                    return EventHubProducerClient(fully_qualified_namespace=namespace, credential=token, **kwargs)

        self.client = client_factory(connection, eventhub_name=eventhub_name or None)
        self.attempts, self.backoff, self.sleep = attempts, backoff, sleep

    def send(self, messages: Sequence[dict]) -> None:
        from azure.eventhub import EventData

        by_tenant: dict[str, list[dict]] = {}
        for message in messages:
            by_tenant.setdefault(message["tenant"], []).append(message)
        failed = []
        for tenant, items in by_tenant.items():
            for attempt in range(1, self.attempts + 1):
                try:
                    batch = self.client.create_batch(partition_key=tenant)
                    for item in items:
                        batch.add(EventData(json.dumps(item, separators=(",", ":"))))
                    self.client.send_batch(batch)
                    break
                except Exception as exc:  # the SDK raises many types; all mean "not sent"
                    if attempt == self.attempts:
                        failed.append(f"{tenant}: {type(exc).__name__}")
                    else:
                        self.sleep(self.backoff * 2 ** (attempt - 1))
        if failed:
            raise SendFailed(f"not sent after {self.attempts} attempts: {', '.join(failed)}")

    def close(self) -> None:
        self.client.close()
