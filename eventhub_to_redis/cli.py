"""Replay a batch into eventhub_to_redis, from a file or from a range of the Event Hub.

--input FILE: JSON lines, or one JSON array. Each item is a message body (a JSON object, or
a string holding the raw body), or {"body": ..., "position": {"partition": "0", "sequence": 42}}.
Items without a position get partition "replay:<file name>" and their index as sequence, so
replaying the same file twice stores nothing twice.

--from-eventhub --partition P --sequence N --count K: read K events of partition P from
sequence number N (inclusive) with azure-eventhub, using EVENTHUB_CONNECTION, EVENTHUB_NAME
and EVENTHUB_CONSUMER_GROUP, then run them as one batch exactly as the host would.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any, Mapping

from shared.errors import BadInputError, ConfigError
from shared.status import RunReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="FILE", help="JSON lines or a JSON array of messages")
    source.add_argument("--from-eventhub", action="store_true", help="read a range from the Event Hub")
    parser.add_argument("--partition", help="partition id (with --from-eventhub)")
    parser.add_argument("--sequence", type=int, help="first sequence number, inclusive (with --from-eventhub)")
    parser.add_argument("--count", type=int, default=100, help="how many events (with --from-eventhub)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the range to arrive")


def invoke(args: argparse.Namespace, *, env: Mapping[str, str]) -> RunReport:
    import eventhub_to_redis

    if args.input:
        # The host hands over one partition per batch; a file may mix positions, so it is
        # run as one batch per partition, in file order.
        batches: dict[str, list[Any]] = {}
        for event in events_from_file(Path(args.input)):
            batches.setdefault(event.metadata["PartitionContext"]["PartitionId"], []).append(event)
        report = RunReport("eventhub_to_redis")
        for group in batches.values():
            report.outcomes.update(eventhub_to_redis.run(group, env=env).outcomes)
        return report.finish()
    else:
        if args.partition is None or args.sequence is None:
            raise ConfigError({"--partition/--sequence": "both are required with --from-eventhub"})
        from eventhub_to_redis.replay import read_range

        events = read_range(env, partition=args.partition, sequence=args.sequence, count=args.count,
                            wait=args.wait)
    return eventhub_to_redis.run(events, env=env)


def events_from_file(path: Path) -> list[Any]:
    """Build ``azure.functions.EventHubEvent`` objects as the host would hand them over."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError({"--input": f"cannot read {path}: {exc.strerror}"}) from None
    items = _items(text, path)
    partition = f"replay:{path.name}"
    return [_event(item, index, partition, path) for index, item in enumerate(items)]


def _items(text: str, path: Path) -> list[Any]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            doc = json.loads(stripped)
        except ValueError as exc:
            raise BadInputError(f"{path}: not a JSON array ({exc})") from None
        return list(doc)
    items = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except ValueError:
            items.append(line)  # kept as a raw body: it will be dead-lettered with its reason
            continue
    return items


def _event(item: Any, index: int, partition: str, path: Path) -> Any:
    import azure.functions as func
    from azure.functions import meta

    position: Mapping[str, Any] = {}
    if isinstance(item, dict) and "body" in item and set(item) <= {"body", "position"}:
        position = item.get("position") or {}
        item = item["body"]
    body = item.encode("utf-8") if isinstance(item, str) else json.dumps(item, separators=(",", ":")).encode()
    part = str(position.get("partition", partition))
    sequence = position.get("sequence", index)
    if not isinstance(sequence, int):
        raise BadInputError(f"{path}: item {index + 1}: position.sequence must be a whole number")
    context = meta.Datum(json.dumps({"PartitionId": part}), "json")
    return func.EventHubEvent(body=body, trigger_metadata={"PartitionContext": context}, sequence_number=sequence,
                              enqueued_time=dt.datetime.now(dt.timezone.utc), partition_key=None)
