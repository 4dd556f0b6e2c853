"""One write of the live store, grouped per key and sent as one pipeline (``LiveStore.write``).

Grouping first makes a batch a few commands per tenant, not several per item; the pipeline
then writes samples (``shared.live.scripts``), metric names, events with their per-minute counters
(``shared.live.event_counts``) and per-edge HLS counts,
trims exactly at the window's start, and records the run's status (docs/redis-schema.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from shared.core.descriptor import Series
from shared.live import event_counts, hls_alive, hls_edges
from shared.live import scripts as live_scripts
from shared.live import series_codec as codec
from shared.live.records import AHEAD_MS, ROLLING_MS, Event, Keys, Sample, event_member

if TYPE_CHECKING:
    from shared.runtime.status import RunReport


@dataclass
class WriteBatch:
    keys: Keys
    now_ms: int
    window_ms: int
    values: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)  # bucket key -> ms -> (sid, values)
    expiry: dict[str, int] = field(default_factory=dict)  # bucket key -> ms to live
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # fields key -> schema id -> names
    touched: set[tuple[str, str]] = field(default_factory=set)  # (tenant, series) to trim
    members: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)  # tenant -> member -> (time, type)
    per_edge: list[Sample] = field(default_factory=list)
    ticks: dict[str, set[int]] = field(default_factory=dict)  # HAProxy edge -> its ticks (ms)
    too_old: int = 0
    too_new: int = 0

    @property
    def cutoff(self) -> int:
        return self.now_ms - self.window_ms

    def in_window(self, time_ms: int) -> bool:
        """Inside the window and not ahead of the clock; what is outside is counted, not stored."""
        self.too_old += time_ms < self.cutoff
        self.too_new += time_ms > self.now_ms + AHEAD_MS
        return self.cutoff <= time_ms <= self.now_ms + AHEAD_MS

    def add_sample(self, sample: Sample, spec: Series) -> None:
        if not self.in_window(sample.time_ms):
            return
        if spec.per_edge:
            self.per_edge.append(sample)
            self.ticks.setdefault(sample.host or "-", set()).add(sample.time_ms)
            return
        self.touched.add((sample.tenant, sample.series))
        bucket, offset = divmod(sample.time_ms, spec.bucket_ms)
        key = self.keys.live_hash_bucket(sample.tenant, sample.series, bucket)
        sid, names, values = codec.encode_values(sample.metrics)
        self.values.setdefault(key, {})[offset] = (sid, values)  # last one wins
        self.expiry[key] = max(1, (bucket + 1) * spec.bucket_ms + self.window_ms - self.now_ms)  # its last leaves
        self.names.setdefault(self.keys.live_fields(sample.tenant, sample.series), {})[sid] = names

    def add_tick(self, edge: str, time_ms: int) -> None:
        """An edge ticked (an ``hls.tick`` naming no tenant included): its counts still stand."""
        if self.cutoff <= time_ms <= self.now_ms + AHEAD_MS:
            self.ticks.setdefault(edge, set()).add(time_ms)

    def add_event(self, event: Event) -> None:
        if self.in_window(event.time_ms):
            self.members.setdefault(event.tenant, {})[event_member(event)] = (event.time_ms, event.type)

    @property
    def samples(self) -> int:
        return sum(len(v) for v in self.values.values()) + len(self.per_edge)

    @property
    def events(self) -> int:
        return sum(len(v) for v in self.members.values())

    def __bool__(self) -> bool:
        return bool(self.touched or self.per_edge or self.members or self.ticks)


def fill(
    pipe: Any,
    batch: WriteBatch,
    *,
    spec_of: Callable[[str], Series],
    host_stale_ms: int,
    report: RunReport | None,
) -> None:
    """Queue the batch's commands; a report's status last (its HSETNX answer says if the store was new)."""
    for key, by_offset in batch.values.items():  # a sample replaces whatever its millisecond held
        by_schema: dict[str, list[tuple[int, str]]] = {}
        for offset, (sid, values) in by_offset.items():
            by_schema.setdefault(sid, []).append((offset, values))
        for sid, pairs in by_schema.items():
            live_scripts.add_write(pipe, key, sid=sid, ttl_ms=batch.expiry[key], values=pairs)
    for key, mapping in batch.names.items():
        pipe.hset(key, mapping=mapping)
        pipe.pexpire(key, batch.window_ms)
    for tenant, members in batch.members.items():  # the log and its counters; trimmed there too
        event_counts.add_write(
            pipe,
            prefix=batch.keys.prefix,
            tenant=tenant,
            log_key=batch.keys.events(tenant),
            members=members,
            now_ms=batch.now_ms,
            window_ms=batch.window_ms,
        )
    host_keep_ms = batch.window_ms + host_stale_ms
    hls_edges.add_writes(pipe, batch.per_edge, prefix=batch.keys.prefix, now_ms=batch.now_ms, keep_ms=host_keep_ms)
    hls_alive.add_write(
        pipe,
        batch.ticks,
        prefix=batch.keys.prefix,
        stale_ms=host_stale_ms,
        keep_from_ms=batch.cutoff - host_stale_ms,
        ttl_ms=host_keep_ms,
    )
    _trim(pipe, batch, spec_of)
    if report is not None:
        _status(pipe, batch.keys, report, batch.now_ms)


def _trim(pipe: Any, batch: WriteBatch, spec_of: Callable[[str], Series]) -> None:
    """Exact trimming: buckets wholly older than the window have expired; the one the cutoff
    falls in loses its older samples here (event logs are trimmed by their write script)."""
    for tenant, series in sorted(batch.touched):
        edge, into = divmod(batch.cutoff, spec_of(series).bucket_ms)
        live_scripts.add_write(pipe, batch.keys.live_hash_bucket(tenant, series, edge), sid="", ttl_ms=0, cutoff=into)


def _status(pipe: Any, keys: Keys, report: RunReport, now_ms: int) -> None:
    pipe.hset(keys.status(report.function), mapping=report.status_fields())
    bucket = now_ms // ROLLING_MS
    for source, counters in report.rolling.items():
        for name, value in counters.items():
            pipe.hincrby(keys.status_rolling(report.function, bucket), f"{source}|{name}", value)
    if report.rolling:
        pipe.pexpire(keys.status_rolling(report.function, bucket), 3 * ROLLING_MS)
    # Last: the epoch is this run's when it holds this run's time. Not HSETNX's own answer: when
    # Redis had forgotten a script, the whole pipeline runs twice (shared.live.scripts.execute),
    # and the second HSETNX says 0 for the epoch the first one created (issue 38: the first
    # install's marker was never written).
    pipe.hsetnx(keys.epoch(), "first_run", str(now_ms))
    pipe.hget(keys.epoch(), "first_run")
