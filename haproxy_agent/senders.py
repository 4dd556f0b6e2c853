"""Where messages go: the Event Hub (partition key = the edge for an ``hls.tick``, so one
edge's ticks stay in order in one partition; the tenant for anything else), or standard
output for ``--dry-run``."""

from __future__ import annotations

import json
import sys
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
    """Sends with ``azure.eventhub.EventHubProducerClient``; the SDK retries (``RETRY``), and a
    send it gave up on fails the tick (the next tick sends the edge's state anew)."""

    # The SDK's own retry policy: two retries 0.5 s and 1 s apart, so a failing hub costs a tick
    # a few seconds, not its 10 s interval (the SDK's default is three, up to 120 s apart).
    RETRY = {"retry_total": 2, "retry_backoff_factor": 0.5, "retry_backoff_max": 4, "retry_mode": "exponential"}

    def __init__(
        self,
        connection: str,
        eventhub_name: str,
        *,
        client_factory: Callable[..., Any] | None = None,
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

        self.client = client_factory(connection, eventhub_name=eventhub_name or None, **self.RETRY)

    def send(self, messages: Sequence[dict]) -> None:
        by_key: dict[str, list[dict]] = {}
        for message in messages:
            by_key.setdefault(message.get("tenant") or message["host"], []).append(message)
        failed = []
        for key, items in by_key.items():
            try:
                self._send_all(key, items)
            except Exception as exc:  # the SDK raises many types; all mean "not sent"
                failed.append(f"{key}: {type(exc).__name__}")
        if failed:
            raise SendFailed(f"not sent after the SDK's {self.RETRY['retry_total']} retries: {', '.join(failed)}")

    def _send_all(self, key: str, items: Sequence[dict]) -> None:
        """As few batches as the hub's size limit allows (a re-send after a failure may repeat
        a batch: the function's writes are idempotent)."""
        from azure.eventhub import EventData

        batch = self.client.create_batch(partition_key=key)
        for item in items:
            data = EventData(json.dumps(item, separators=(",", ":")))
            try:
                batch.add(data)
            except ValueError:  # full: send it and start the next
                self.client.send_batch(batch)
                batch = self.client.create_batch(partition_key=key)
                batch.add(data)
        self.client.send_batch(batch)

    def close(self) -> None:
        self.client.close()
