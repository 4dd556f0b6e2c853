"""One batch sorted into what goes where, and counted per partition. Pure: no I/O, no clock.

Each message is an event (to the tenant's event log), an HLS count (a sample of its edge), an
edge's HLS tick (its tenants' counts, and the tick itself) or a rejection (a dead letter). The
counts say per partition how many of each, the newest sequence number and enqueued time seen,
and how many valid events were too old for the window (not stored, so not counted as events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from eventhub_to_redis.validate import HlsTick, Position, Rejection
from shared.live.store import Event, Sample


@dataclass
class Batch:
    samples: list[Sample] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    ticks: list[tuple[str, int]] = field(default_factory=list)  # (HAProxy edge, ms)
    rejected: list[Rejection] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # partition -> counters
    # partition -> [messages, dead letters] past what the partition counted before (rolling)
    fresh: dict[str, list[int]] = field(default_factory=dict)
    counted_up_to: Mapping[str, int] = field(default_factory=dict)

    def seen(self, position: Position, *, dead: bool = False) -> dict[str, int]:
        """The partition's counters, with ``position`` taken into the newest seen (and into the
        rolling counters when past what the partition counted before)."""
        counts = self.counts.setdefault(position.partition, {"events": 0, "hls": 0, "deadlettered": 0})
        fresh = self.fresh.setdefault(position.partition, [0, 0])
        if position.sequence > self.counted_up_to.get(position.partition, -1):
            fresh[0] += 1
            fresh[1] += dead
        counts["last_sequence"] = max(counts.get("last_sequence", -1), position.sequence)
        if position.enqueued_ms is not None:
            counts["last_enqueued_ms"] = max(counts.get("last_enqueued_ms", 0), position.enqueued_ms)
        return counts

    def outcomes(self, now_ms: int) -> dict[str, dict[str, int]]:
        """Per partition, the counters a run reports, with ``lag_ms``: how far behind the hub
        this batch was processed."""
        out = {}
        for partition, counts in self.counts.items():
            counts = dict(counts)
            if "last_enqueued_ms" in counts:
                counts["lag_ms"] = max(0, now_ms - counts["last_enqueued_ms"])
            out[partition] = counts
        return out

    def rolling(self) -> dict[str, dict[str, int]]:
        """Per partition, what the 10-minute counters add up (messages, dead letters): only
        messages past what the partition counted before, so a redelivery counts once."""
        return {
            partition: {"messages": messages, "deadlettered": dead}
            for partition, (messages, dead) in self.fresh.items()
            if messages
        }


def process_batch(
    messages: Iterable[tuple[Any, Position]],
    *,
    classify: Callable[[Any, Position], Event | Sample | HlsTick | Rejection],
    cutoff_ms: int,
    rejected: Iterable[Rejection] = (),
    counted_up_to: Mapping[str, int] | None = None,
) -> Batch:
    """Sort ``messages`` with ``classify``; ``rejected`` are known-bad messages (a replay file's
    unreadable lines), dead-lettered with the batch. Events before ``cutoff_ms`` are counted
    ``too_old``. ``counted_up_to``: each partition's sequence already counted (rolling counters
    count only what lies past it)."""
    batch = Batch(counted_up_to=counted_up_to or {})
    for early in rejected:
        batch.rejected.append(early)
        batch.seen(early.position, dead=True)["deadlettered"] += 1
    for message, position in messages:
        result = classify(message, position)
        counts = batch.seen(position, dead=isinstance(result, Rejection))
        if isinstance(result, Rejection):
            batch.rejected.append(result)
            counts["deadlettered"] += 1
        elif isinstance(result, Sample):
            batch.samples.append(result)
            counts["hls"] += 1
        elif isinstance(result, HlsTick):
            batch.samples.extend(result.samples)
            batch.ticks.append((result.host, result.time_ms))
            counts["hls"] += 1
            if result.not_tenants:
                counts["hls_not_tenants"] = counts.get("hls_not_tenants", 0) + result.not_tenants
        elif result.time_ms < cutoff_ms:  # valid, but the store would skip it
            batch.events.append(result)
            counts["too_old"] = counts.get("too_old", 0) + 1
        else:
            batch.events.append(result)
            counts["events"] += 1
        if isinstance(result, Event) and result.dropped_fields:
            counts["fields_dropped"] = counts.get("fields_dropped", 0) + result.dropped_fields
    return batch
