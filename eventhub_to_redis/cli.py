"""Replay a batch into eventhub_to_redis, from a file or from a range of the Event Hub.

--input FILE: JSON Lines (split on line feeds only), or one JSON array. Each line is a message body
exactly as sent, or {"body": ..., "position": {"partition": "0", "sequence": 42}}. Lines
without a position get partition "replay:<file name>@<digest of its path>" and their line
number as sequence, so replaying the same file twice stores nothing twice. The file is read
in batches of the host's maxEventBatchSize, so memory stays flat whatever its size; a line
that cannot be read is dead-lettered with its line number, and the rest goes on.

--from-eventhub --partition P --sequence N --count K: read K events of partition P from
sequence number N (inclusive) with azure-eventhub, using EVENTHUB_CONNECTION and EVENTHUB_NAME
and the on-call consumer group (--consumer-group, default fabrik-oncall: never the function's
own EVENTHUB_CONSUMER_GROUP, which the host holds), then run them as one batch as the host would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator, Mapping

import eventhub_to_redis
from eventhub_to_redis.deadletters import add_commands as add_deadletters
from eventhub_to_redis.replay import read_range
from eventhub_to_redis.validate import Position, Rejection
from shared.core.errors import ConfigError
from shared.runtime.status import RunReport, merge_reports
from shared.runtime.verdict import limits, over_ratio

BATCH_SIZE = 1000  # host.json extensions.eventHubs.maxEventBatchSize: replay as the host delivers
MAX_ARRAY_BYTES = 64 * 1024 * 1024  # a JSON array is parsed whole; larger files must be JSON Lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="FILE", help="JSON lines or a JSON array of messages")
    source.add_argument("--from-eventhub", action="store_true", help="read a range from the Event Hub")
    parser.add_argument("--partition", help="partition id (with --from-eventhub)")
    parser.add_argument("--sequence", type=int, help="first sequence number, inclusive (with --from-eventhub)")
    parser.add_argument("--count", type=int, default=100, help="how many events (with --from-eventhub)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the range to arrive")
    parser.add_argument(
        "--consumer-group",
        default="fabrik-oncall",
        help="consumer group to read with (with --from-eventhub; default fabrik-oncall, never the "
        "function's own EVENTHUB_CONSUMER_GROUP)",
    )


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Commands of this function's own beside ``run`` (shared.cli calls each function's)."""
    add_deadletters(commands)


def invoke(args: argparse.Namespace, *, env: Mapping[str, str]) -> RunReport:

    if args.input:
        report = RunReport("eventhub_to_redis")
        for events, rejected in read_batches(Path(args.input)):
            merge_reports(report, eventhub_to_redis.run(events, env=env, rejected=rejected))
        return report.finish()
    if args.partition is None or args.sequence is None:
        raise ConfigError({"--partition/--sequence": "both are required with --from-eventhub"})

    events = read_range(
        env,
        partition=args.partition,
        sequence=args.sequence,
        count=args.count,
        wait=args.wait,
        consumer_group=args.consumer_group,
    )
    return eventhub_to_redis.run(events, env=env)


def summary(report: RunReport, env: Mapping[str, str]) -> tuple[str, bool]:
    """The replay's dead letters, judged as health judges a partition: ``(a line or "", whether
    the share is above HEALTH_MAX_DEADLETTER_RATIO)``. An "ok" run that dead-lettered half a
    file said nothing of it (issue 38)."""
    counts = [o.counts for name, o in report.outcomes.items() if name.startswith("partition:")]
    dead = sum(c.get("deadlettered", 0) for c in counts)
    total = dead + sum(c.get("events", 0) + c.get("hls", 0) + c.get("too_old", 0) for c in counts)
    if not dead:
        return "", False
    ratio, _ = limits(env)
    share = dead / total
    text = f"{dead} of {total} messages dead-lettered ({share:.0%}); see the deadletter container"
    if over_ratio(dead, total, ratio):
        return f"{text}: above HEALTH_MAX_DEADLETTER_RATIO {ratio:g}", True
    return text, False


Batch = tuple[list[Any], list[Rejection]]


def read_batches(path: Path, *, batch_size: int = BATCH_SIZE) -> Iterator[Batch]:
    """Host-shaped ``EventHubEvent`` batches (one partition each) and the lines that could not
    be read at all, in file order."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ConfigError({"--input": f"cannot read {path}: {exc.strerror}"}) from None
    default = (
        f"replay:{path.name}@{hashlib.sha256(str(path.resolve()).encode('utf-8', 'surrogateescape')).hexdigest()[:8]}"
    )
    with handle:
        events: list[Any] = []
        rejected: list[Rejection] = []
        partition = None
        for item in _items(handle, path):
            if isinstance(item, Rejection):
                rejected.append(
                    Rejection(Position(default, item.position.sequence, enqueued_ms=_now_ms()), item.reason, item.body)
                )
            else:
                number, body, position = item
                part = str(position["partition"]) if position else default
                if events and part != partition:
                    yield events, rejected
                    events, rejected = [], []
                partition = part
                events.append(hub_event(body, part, position["sequence"] if position else number))
            if len(events) + len(rejected) >= batch_size:
                yield events, rejected
                events, rejected = [], []
        if events or rejected:
            yield events, rejected


def _items(handle: Any, path: Path) -> Iterator[Any]:
    """(number, body bytes, position or None) per message, or a Rejection for an unreadable line."""
    first = handle.read(1)
    while first and first.isspace():
        first = handle.read(1)
    handle.seek(0)
    if first == b"[" and path.stat().st_size <= MAX_ARRAY_BYTES:
        try:
            doc = json.loads(handle.read())
        except (ValueError, RecursionError):
            doc = None  # not one array: read it as JSON Lines (a first line may be "[1,2]")
        if isinstance(doc, list):
            for number, value in enumerate(doc, 1):
                yield _item(number, value, None, "item")
            return
        handle.seek(0)
    for number, raw in enumerate(handle, 1):
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            yield number, raw, None  # kept as sent: check() names what is wrong with it
            continue
        yield _item(number, value, raw, "line")


def _item(number: int, value: Any, raw: bytes | None, unit: str) -> Any:
    if isinstance(value, dict) and "body" in value and set(value) <= {"body", "position"}:
        position = value.get("position")
        problem = _position_problem(position)
        if problem:
            return Rejection(
                Position("", number), f"{unit} {number}: {problem}", raw if raw is not None else _dumps(value)
            )
        body = value["body"]
        body = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else _dumps(body)
        return number, body, position
    if raw is None:
        raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else _dumps(value)
    return number, raw, None


def _position_problem(position: Any) -> str | None:
    if position is None:
        return 'position is missing (give {"partition": "0", "sequence": 42} or leave out both)'
    if not isinstance(position, dict) or set(position) - {"partition", "sequence"}:
        return "position must be an object with partition and sequence"
    part, seq = position.get("partition"), position.get("sequence")
    if not isinstance(part, (str, int)) or isinstance(part, bool) or not str(part):
        return "position.partition must be a partition id"
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "position.sequence must be a whole number >= 0"
    return None


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _now_ms() -> int:
    return int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)


def hub_event(body: bytes, partition: str, sequence: int) -> Any:
    """One message as the trigger hands it over: the partition in the batch's metadata."""
    import azure.functions as func
    from azure.functions import meta

    context = meta.Datum(json.dumps({"PartitionId": partition}), "json")
    return func.EventHubEvent(
        body=body,
        trigger_metadata={"PartitionContext": context},
        sequence_number=sequence,
        enqueued_time=dt.datetime.now(dt.timezone.utc),
        partition_key=None,
    )
