"""Event Hub positions of a batch's events: (partition id, sequence number), the idempotency key.

The partition id is not on ``EventHubEvent`` itself: the host puts it in the batch's trigger
metadata (``PartitionContext.PartitionId``), shared by every event of the batch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from eventhub_to_redis.validate import Position


def batch_partition(events: Sequence[Any]) -> str | None:
    for event in events[:1]:
        metadata = getattr(event, "metadata", None) or {}
        context = metadata.get("PartitionContext")
        if isinstance(context, dict) and context.get("PartitionId") is not None:
            return str(context["PartitionId"])
    return None


def positions_of(events: Sequence[Any]) -> list[Position]:
    partition = batch_partition(events)
    out = []
    for i, event in enumerate(events):
        enqueued = getattr(event, "enqueued_time", None)
        sequence = getattr(event, "sequence_number", None)
        out.append(
            Position(
                # Without the host's metadata (a hand-made event), the partition key stands in:
                # the stored member still carries the body, so nothing distinct can collapse.
                partition=partition if partition is not None else f"key:{getattr(event, 'partition_key', None) or '-'}",
                sequence=int(sequence) if sequence is not None else i,
                offset=None if getattr(event, "offset", None) is None else str(event.offset),
                enqueued_ms=_epoch_ms(enqueued),
            )
        )
    return out


def _epoch_ms(value: Any) -> int | None:
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:  # the host hands UTC without a zone
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp() * 1000)
