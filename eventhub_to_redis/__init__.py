"""eventhub_to_redis: platform events and HLS listener counts from the Event Hub into Redis."""

from __future__ import annotations

import time
from typing import Any, Callable, List, Mapping, Sequence

import azure.functions as func

from shared.status import RunReport

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
    from eventhub_to_redis.deadletter import write_all
    from eventhub_to_redis.positions import positions_of
    from eventhub_to_redis.settings import load_settings
    from eventhub_to_redis.validate import Rejection, check
    from shared.blob import get_container
    from shared.live_store import Sample
    from shared.errors import FabrikError
    from shared.runs import finish_run, record_failure, start_run

    started = start_run(FUNCTION, load_settings, env=env, redis=redis, clock=clock)
    settings, report, log = started.settings, started.report, started.log
    now_ms = report.started_ms
    hasher = settings.hasher
    tenants = set(settings.tenants.by_name) if settings.tenants is not None else None

    samples, stored, rejected = [], [], list(rejected)
    per_partition: dict[str, dict[str, int]] = {}
    for early in rejected:
        counts = per_partition.setdefault(early.position.partition, {"events": 0, "hls": 0, "deadlettered": 0})
        counts["deadlettered"] += 1
        counts["last_sequence"] = max(counts.get("last_sequence", -1), early.position.sequence)
    for event, position in zip(events, positions_of(events)):
        body = b""
        try:
            body = _body_of(event)
            result = check(
                body,
                position,
                now_ms=now_ms,
                hasher=hasher,
                max_bytes=settings.max_event_bytes,
                max_future_ms=settings.max_future_seconds * 1000,
                tenants=tenants,
            )
        except Exception as exc:  # a bug must cost one message (dead-lettered), not the batch
            log.bind(source=f"partition:{position.partition}").exception("checking seq %s failed", position.sequence)
            result = Rejection(position=position, reason=f"internal error: {type(exc).__name__}", body=body)
        counts = per_partition.setdefault(position.partition, {"events": 0, "hls": 0, "deadlettered": 0})
        counts["last_sequence"] = max(counts.get("last_sequence", -1), position.sequence)
        if position.enqueued_ms is not None:
            counts["last_enqueued_ms"] = max(counts.get("last_enqueued_ms", 0), position.enqueued_ms)
        if isinstance(result, Rejection):
            rejected.append(result)
            counts["deadlettered"] += 1
        elif isinstance(result, Sample):
            samples.append(result)
            counts["hls"] += 1
        else:
            stored.append(result)
            counts["events"] += 1
    if rejected:
        try:
            container = (
                deadletter
                if deadletter is not None
                else get_container(
                    settings.deadletter_connection,
                    settings.deadletter_container,
                    setting="DEADLETTER_STORAGE_CONNECTION",
                )
            )
            write_all(container, rejected, hasher=hasher)
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
    # Valid but older than the window: not stored, so not counted as stored events.
    cutoff = now_ms - settings.store.window_seconds * 1000
    for event in stored:
        if event.time_ms < cutoff:
            counts = per_partition[event.partition]
            counts["events"] -= 1
            counts["too_old"] = counts.get("too_old", 0) + 1
    for partition, counts in per_partition.items():
        if "last_enqueued_ms" in counts:  # how far behind the hub this batch was processed
            counts["lag_ms"] = max(0, now_ms - counts["last_enqueued_ms"])
        report.succeed(f"partition:{partition}", **counts)
        report.rolling[f"partition:{partition}"] = {
            "messages": counts["events"] + counts["hls"] + counts["deadlettered"] + counts.get("too_old", 0),
            "deadlettered": counts["deadlettered"],
        }
    return finish_run(
        report,
        samples,
        events=stored,
        store_settings=settings.store,
        redis=redis,
        clock=clock,
        log=log,
        env=started.env,
    )


def _body_of(event: Any) -> bytes:
    body = event.get_body()
    if isinstance(body, str):  # a host configured with dataType string
        return body.encode("utf-8", "surrogatepass")
    return bytes(body or b"")
