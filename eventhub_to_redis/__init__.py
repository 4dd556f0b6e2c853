"""eventhub_to_redis: platform events and HLS listener counts from the Event Hub into Redis."""

from __future__ import annotations

import time
from typing import Any, Callable, List, Mapping, Sequence

import azure.functions as func

from shared.runtime.status import RunReport

FUNCTION = "eventhub_to_redis"


def main(events: List[func.EventHubEvent]) -> None:
    """Host entry point. Raises when Redis or dead-letter storage fails, so the retry policy
    in function.json redelivers the batch; idempotent writes make the redelivery harmless."""
    run(events)


def run(
    events: Sequence[Any],
    *,
    env: Mapping[str, str] | None = None,
    redis: Any = None,
    deadletter: Any = None,
    clock: Callable[[], float] = time.time,
    rejected: Sequence[Any] = (),
) -> RunReport:
    """Store one batch: valid events and HLS samples to Redis, invalid messages to dead letters.

    ``rejected`` are messages already known to be invalid (a replay file's unreadable lines):
    they are dead-lettered with the batch. Nothing a single message holds can make this raise;
    only Redis or dead-letter storage being unreachable does.
    """
    from eventhub_to_redis.batch import process_batch
    from eventhub_to_redis.positions import positions_of
    from eventhub_to_redis.settings import load_settings
    from shared.runtime.runs import finish_run, last_counts, start_run

    started = start_run(FUNCTION, load_settings, env=env, redis=redis, clock=clock)
    settings, report, log = started.settings, started.report, started.log
    now_ms = report.started_ms
    positions = positions_of(events)
    # What each partition counted already (a redelivered batch, a file replayed again): its
    # messages are stored again, idempotently, but not counted again for health.
    partitions = {p.partition for p in positions} | {r.position.partition for r in rejected}
    before = last_counts(FUNCTION, [f"partition:{p}" for p in sorted(partitions)], settings.store, redis=redis)
    batch = process_batch(
        zip(events, positions),
        classify=_classifier(settings, now_ms, log),
        cutoff_ms=now_ms - settings.store.window_seconds * 1000,
        rejected=rejected,
        counted_up_to={p: before.get(f"partition:{p}", {}).get("last_sequence", -1) for p in partitions},
    )
    if batch.rejected:
        _dead_letter(batch.rejected, settings, deadletter=deadletter, started=started, redis=redis, clock=clock)
    for partition, counts in batch.outcomes(now_ms).items():
        report.succeed(f"partition:{partition}", **counts)
    report.rolling.update({f"partition:{p}": counters for p, counters in batch.rolling().items()})
    return finish_run(
        report,
        batch.samples,
        events=batch.events,
        ticks=batch.ticks,
        store_settings=settings.store,
        redis=redis,
        clock=clock,
        log=log,
        env=started.env,
    )


def _classifier(settings: Any, now_ms: int, log: Any) -> Callable[[Any, Any], Any]:
    """``check`` with the batch's settings; a bug costs one message (dead-lettered), not the batch."""
    from eventhub_to_redis.validate import Rejection, check

    tenants = set(settings.tenants.by_name) if settings.tenants is not None else None

    def classify(event: Any, position: Any) -> Any:
        body = b""
        try:
            body = _body_of(event)
            return check(
                body,
                position,
                now_ms=now_ms,
                hasher=settings.hasher,
                max_bytes=settings.max_event_bytes,
                max_future_ms=settings.max_future_seconds * 1000,
                tenants=tenants,
                extra_fields=settings.extra_fields,
            )
        except Exception as exc:
            log.bind(source=f"partition:{position.partition}").exception("checking seq %s failed", position.sequence)
            return Rejection(position=position, reason=f"internal error: {type(exc).__name__}", body=body)

    return classify


def _dead_letter(
    rejected: list[Any], settings: Any, *, deadletter: Any, started: Any, redis: Any, clock: Callable[[], float]
) -> None:
    """Store the rejections; storage down raises (the batch is redelivered, nothing is lost)."""
    from eventhub_to_redis.deadletter import write_all
    from shared.clients.blob import get_container
    from shared.core.errors import FabrikError
    from shared.runtime.runs import record_failure

    log = started.log
    try:
        container = (
            deadletter
            if deadletter is not None
            else get_container(
                settings.deadletter_connection, settings.deadletter_container, setting="DEADLETTER_STORAGE_CONNECTION"
            )
        )
        write_all(container, rejected, extra_fields=settings.extra_fields)
    except FabrikError as exc:
        log.error(
            "%d dead letters not stored, the batch will be redelivered: %s",
            len(rejected),
            exc,
            extra={"cli_prints": True},
        )
        record_failure(FUNCTION, started.env, "deadletter", exc, redis=redis, clock=clock)
        raise
    for rejection in rejected:  # said only now that they are stored
        log.bind(source=f"partition:{rejection.position.partition}", tenant=None).warning(
            "dead-lettered seq %s: %s", rejection.position.sequence, rejection.reason
        )


def _body_of(event: Any) -> bytes:
    body = event.get_body()
    if isinstance(body, str):  # a host configured with dataType string
        return body.encode("utf-8", "surrogatepass")
    return bytes(body or b"")
