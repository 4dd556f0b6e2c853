"""Read a range of one partition with azure-eventhub, for the CLI's --from-eventhub.

Imported only here: the SDK (and its AMQP stack) stays out of the function's cold start.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any, Callable, Mapping

from shared.clients.azure_auth import eventhub_namespace
from shared.core.errors import ConfigError, RetriableError
from shared.privacy.redact import connection_string_secrets, redact_text
from shared.runtime.logs import register_secrets

ONCALL_GROUP = "fabrik-oncall"


def _range_problems(env: Mapping[str, str], *, group: str, identity: Any, sequence: int, count: int) -> dict[str, str]:
    """What stops reading: the function's own consumer group, no hub to reach, a bad range."""
    connection, name = env.get("EVENTHUB_CONNECTION", ""), env.get("EVENTHUB_NAME", "")
    problems = {}
    if group == (env.get("EVENTHUB_CONSUMER_GROUP") or "$Default"):
        problems["--consumer-group"] = (
            f"{group!r} is the function's own group (EVENTHUB_CONSUMER_GROUP): Event Hubs "
            f"refuses a second reader while the host owns the partition; use "
            f"{ONCALL_GROUP!r} (create it once on the hub) or another group"
        )
    if "Endpoint=" not in connection and identity is None:
        problems["EVENTHUB_CONNECTION"] = (
            "missing or not an Event Hubs connection string (or set "
            "EVENTHUB_CONNECTION__fullyQualifiedNamespace for an identity)"
        )
    if not name and "EntityPath=" not in connection:
        problems["EVENTHUB_NAME"] = "missing (and the connection string has no EntityPath)"
    if count <= 0 or sequence < 0:
        problems["--sequence/--count"] = "sequence must be >= 0 and count > 0"
    return problems


def _consumer_factory(connection: str, identity: Any) -> Callable[..., Any]:
    """The SDK's consumer client: from the connection string, or the identity's namespace (as the
    host reads EVENTHUB_CONNECTION__fullyQualifiedNamespace)."""
    from azure.eventhub import EventHubConsumerClient

    if "Endpoint=" in connection:
        return EventHubConsumerClient.from_connection_string
    namespace, credential = identity

    def factory(_connection: str, **kwargs: Any) -> Any:
        return EventHubConsumerClient(fully_qualified_namespace=namespace, credential=credential, **kwargs)

    return factory


def read_range(
    env: Mapping[str, str],
    *,
    partition: str,
    sequence: int,
    count: int,
    wait: float = 30.0,
    consumer_group: str = ONCALL_GROUP,
    client_factory: Callable[..., Any] | None = None,
) -> list[Any]:
    """Events ``sequence .. sequence+count-1`` of ``partition`` as host-shaped EventHubEvents.

    Read with an on-call consumer group, never the function's: Event Hubs lets one epoch
    reader own a partition per group, and the host holds the function's.
    """
    connection = env.get("EVENTHUB_CONNECTION", "")
    name = env.get("EVENTHUB_NAME", "")
    group = consumer_group

    identity = eventhub_namespace(env, "EVENTHUB_CONNECTION")
    problems = _range_problems(env, group=group, identity=identity, sequence=sequence, count=count)
    if problems:
        raise ConfigError(problems)
    register_secrets([connection, *connection_string_secrets(connection)])
    if client_factory is None:
        client_factory = _consumer_factory(connection, identity)
    # One retry, not the SDK's three with back-off: on-call is waiting at the prompt, and a
    # refused or unknown endpoint does not answer a fourth time either.
    client = client_factory(connection, consumer_group=group, eventhub_name=name or None, retry_total=1)
    _check_range(client, partition=str(partition), group=group, sequence=sequence, count=count)
    collected: list[Any] = []
    done = threading.Event()
    failure: list[BaseException] = []

    def on_batch(_context: Any, batch: list[Any]) -> None:
        for event in batch:
            if event.sequence_number is not None and sequence <= event.sequence_number < sequence + count:
                collected.append(event)
        if len(collected) >= count:
            done.set()

    def on_error(_context: Any, error: Exception) -> None:
        failure.append(error)
        done.set()

    receiver = threading.Thread(
        target=client.receive_batch,
        daemon=True,
        kwargs=dict(
            on_event_batch=on_batch,
            on_error=on_error,
            partition_id=str(partition),
            starting_position=sequence,
            starting_position_inclusive=True,
            max_batch_size=min(count, 300),
            max_wait_time=1.0,
        ),
    )
    receiver.start()
    done.wait(wait)
    client.close()
    receiver.join(timeout=10)
    if failure and not collected:
        raise RetriableError(
            f"event hub partition {partition} (consumer group {group}): Event Hubs answered: {_said(failure[0])}"
        )
    if not collected:  # reachable a moment ago, in range, and still nothing: never "nothing to do"
        raise RetriableError(
            f"event hub partition {partition} (consumer group {group}): no event from sequence {sequence} "
            f"arrived within {wait:g} s (--wait)"
        )
    return to_trigger_events(collected[:count], partition=str(partition))


def _check_range(client: Any, *, partition: str, group: str, sequence: int, count: int) -> None:
    """Ask the hub for the partition first: an unreachable hub is said at once, in the SDK's own
    words (issue 38: it printed "ok, nothing to do"), and a range the partition does not hold
    is a usage error naming what it holds."""
    ask = getattr(client, "get_partition_properties", None)
    if ask is None:
        return
    try:
        held = ask(partition)
    except Exception as exc:  # the SDK raises many types; all mean "could not ask"
        client.close()
        raise RetriableError(
            f"event hub partition {partition} (consumer group {group}): Event Hubs answered: {_said(exc)}"
        ) from None
    first, last = held.get("beginning_sequence_number"), held.get("last_enqueued_sequence_number")
    if isinstance(last, int) and sequence > last:
        client.close()
        raise ConfigError(
            {"--sequence": f"partition {partition} holds sequences {first} to {last}; none from {sequence}"}
        )
    if isinstance(first, int) and sequence + count - 1 < first:
        client.close()
        raise ConfigError(
            {"--sequence": f"partition {partition} holds sequences {first} to {last}: {sequence} has expired"}
        )


def _said(error: BaseException) -> str:

    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {redact_text(text)[:300]}"


def partition_ids(env: Mapping[str, str], *, timeout: float = 10.0) -> list[str]:
    """The hub's partition ids (doctor's reachability check), within ``timeout`` seconds."""
    from azure.eventhub import EventHubProducerClient

    connection = env.get("EVENTHUB_CONNECTION", "")
    identity = eventhub_namespace(env, "EVENTHUB_CONNECTION")
    if "Endpoint=" in connection:
        register_secrets([connection, *connection_string_secrets(connection)])
        client = EventHubProducerClient.from_connection_string(
            connection, eventhub_name=env.get("EVENTHUB_NAME") or None, retry_total=0
        )
    elif identity is not None:
        client = EventHubProducerClient(
            fully_qualified_namespace=identity[0],
            credential=identity[1],
            eventhub_name=env.get("EVENTHUB_NAME", ""),
            retry_total=0,
        )
    else:
        raise ConfigError({"EVENTHUB_CONNECTION": "missing: a connection string, or __fullyQualifiedNamespace"})
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(_try(client.get_partition_ids)), daemon=True)
    worker.start()
    worker.join(timeout)
    try:
        client.close()
    except Exception:
        pass
    if not result:
        raise RetriableError(f"event hub: no answer within {timeout:g} s")
    if isinstance(result[0], BaseException):
        raise RetriableError(f"event hub: {_said(result[0])}")
    return list(result[0])


def _try(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return exc


def to_trigger_events(events: list[Any], *, partition: str) -> list[Any]:
    """``azure.eventhub.EventData`` -> ``azure.functions.EventHubEvent`` with the host's metadata."""
    import azure.functions as func
    from azure.functions import meta

    context = meta.Datum(json.dumps({"PartitionId": partition}), "json")
    out = []
    for event in events:
        enqueued = event.enqueued_time
        if isinstance(enqueued, dt.datetime) and enqueued.tzinfo is None:
            enqueued = enqueued.replace(tzinfo=dt.timezone.utc)
        out.append(
            func.EventHubEvent(
                body=b"".join(_chunks(event.body)),
                trigger_metadata={"PartitionContext": context},
                sequence_number=event.sequence_number,
                offset=event.offset,
                enqueued_time=enqueued,
                partition_key=_text(event.partition_key),
            )
        )
    return out


def _chunks(body: Any) -> list[bytes]:
    if isinstance(body, (bytes, bytearray)):
        return [bytes(body)]
    if isinstance(body, str):
        return [body.encode("utf-8")]
    return [bytes(part) if not isinstance(part, str) else part.encode("utf-8") for part in body]


def _text(value: Any) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value
