"""What the live store holds, and its key names: the records (samples, events) and the contract
of their Redis keys (docs/redis-schema.md). Pure: no I/O. ``shared.live.store`` reads and writes them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from shared.live import hls_edges

AHEAD_MS = 60_000  # writes further ahead of now are refused (EVENT_MAX_FUTURE_SECONDS is at most this)
ROLLING_MS = 600_000  # status counters are added up per 10 minutes; readers take the last two buckets
_PLAIN = re.compile(r"[A-Za-z0-9._:-]*")  # needs no JSON escaping


@dataclass(frozen=True)
class Sample:
    """One observation of a tenant's series: ``metrics`` are whole numbers (counts, seconds)."""

    tenant: str
    series: str
    time_ms: int
    metrics: Mapping[str, int]
    host: str | None = None  # hls only: the HAProxy edge that counted; reads give the sum over edges


@dataclass(frozen=True)
class Event:
    """A platform event, kept with its Event Hub position and its original JSON body."""

    tenant: str
    type: str
    time_ms: int
    partition: str
    sequence: int
    body: str
    dropped_fields: int = 0  # fields the contract does not declare, left out of ``body``


@dataclass(frozen=True)
class WriteResult:
    samples: int = 0
    events: int = 0
    too_old: int = 0
    too_new: int = 0  # more than AHEAD_MS past the clock: refused
    epoch_created: bool = False  # the status epoch was missing: a new install, or Redis lost its data


class Keys:
    """The contract key names; the tenant is the hash tag so a tenant's keys share a slot."""

    def __init__(self, prefix: str = "fabrik"):
        self.prefix = prefix

    def live_hash_bucket(self, tenant: str, series: str, bucket: int) -> str:
        return f"{self.prefix}:live:{{{tenant}}}:{series}:h:{bucket}"

    def live_fields(self, tenant: str, series: str) -> str:
        return f"{self.prefix}:live:{{{tenant}}}:{series}:fields"

    def events(self, tenant: str) -> str:
        return f"{self.prefix}:events:{{{tenant}}}"

    def view_ended(self, tenant: str) -> str:
        """Ended viewer links of a tenant (hash: link id, or ``*`` for all issued until then -> s)."""
        return f"{self.prefix}:view:{{{tenant}}}:ended"

    def status(self, function: str) -> str:
        return f"{self.prefix}:status:{function}"

    def status_rolling(self, function: str, bucket: int) -> str:
        """Counters per source added up over 10 minutes (``shared.runtime.status.ROLLING_MS``)."""
        return f"{self.prefix}:status:{function}:rolling:{bucket}"

    def epoch(self) -> str:
        return f"{self.prefix}:status:_epoch"

    def hls_hosts(self, tenant: str) -> str:
        """The HAProxy edges that reported for a tenant (``shared.live.hls_edges``)."""
        return hls_edges.hosts_key(self.prefix, tenant)

    def hls_edge_bucket(self, tenant: str, edge: str, bucket: int) -> str:
        """One edge's counts in one 30-minute bucket (``shared.live.hls_edges``)."""
        return f"{hls_edges.bucket_prefix(self.prefix, tenant)}{edge}:{bucket}"


def event_member(event: Event) -> str:
    # Position first: the member is identical on every redelivery of the same event.
    # Same bytes as json.dumps(..., separators=(",", ":")), built directly: this runs per event.
    return (
        f'{{"partition":{_json_str(event.partition)},"sequence":{int(event.sequence)},'
        f'"type":{_json_str(event.type)},"time":{int(event.time_ms)}}}\n{event.body}'
    )


def _json_str(text: str) -> str:
    # ASCII only: json.dumps escapes every other character (its default ensure_ascii)
    return f'"{text}"' if text.isascii() and (text.isalnum() or _PLAIN.fullmatch(text)) else json.dumps(text)


def events_from_members(tenant: str, members: Iterable[str]) -> list[Event]:
    out = []
    for member in members:
        head, _, body = member.partition("\n")
        try:  # one damaged member (written by hand, or by an older bug) costs only itself
            meta = json.loads(head)
            out.append(
                Event(
                    tenant=tenant,
                    type=str(meta["type"]),
                    time_ms=int(meta["time"]),
                    partition=str(meta["partition"]),
                    sequence=int(meta["sequence"]),
                    body=body,
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return out
