"""The live side of Redis: samples and events in a rolling window (see docs/redis-schema.md).

A series is cut into time buckets, one small hash each, a field per millisecond
(``shared.live.series_codec``, written by ``shared.live.scripts``): the fewest bytes a sample that
still give range reads, exact trimming, late and out-of-order inserts and idempotent rewrites.
An event log is a sorted set scored by time in epoch milliseconds, the one Redis 6.0 type that
gives all of those for members of any size: streams cannot take out-of-order ids, and
``MINID`` trimming needs 6.2, which Azure Cache for Redis does not run.

A whole run or batch goes out as one pipeline: one round trip on a single Redis, one per node
touched on a cluster, however many samples it carries. Reads of a tenant are one pipeline too.
HLS counts are kept per HAProxy edge and summed when read (``shared.live.hls_edges``).

Times: a write more than ``AHEAD_MS`` past the store's clock is refused (counted, not stored),
and reads end at now: a clock that runs ahead never puts numbers in the future.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from shared.clients.redis_client import redis_call
from shared.core.descriptor import Series
from shared.core.functions import all_series
from shared.core.settings import StoreSettings
from shared.live import event_counts, hls_alive, hls_edges
from shared.live import scripts as live_scripts
from shared.live import series_codec as codec
from shared.live import write as live_write
from shared.live.records import (  # the records and keys, re-exported: callers import them from here
    AHEAD_MS,
    ROLLING_MS,
    Event,
    Keys,
    Sample,
    WriteResult,
    event_member,
)
from shared.live.records import (
    events_from_members as _events,
)
from shared.live.write import WriteBatch

RUN_FIELDS = ("last_run", "ok", "last_success", "last_error", "last_error_time", "counts")
__all__ = ["AHEAD_MS", "ROLLING_MS", "Event", "Keys", "LiveStore", "Sample", "WriteResult", "event_member"]

if TYPE_CHECKING:
    from shared.runtime.status import RunReport


class LiveStore:
    """Writes and reads the live window. ``redis`` is a client from ``shared.clients.redis_client``."""

    def __init__(
        self,
        redis: Any,
        *,
        settings: StoreSettings,
        clock: Callable[[], float] = time.time,
        series: Mapping[str, Series] | None = None,
    ):
        """``series``: the live series by name (default: every function's, ``shared.core.descriptor``)."""
        self.redis = redis
        self.series = all_series() if series is None else series
        self.keys = Keys(settings.key_prefix)
        self.window_ms = settings.window_seconds * 1000
        self.host_stale_ms = settings.hls_host_stale_seconds * 1000
        self.clock = clock

    def write(
        self,
        *,
        samples: Iterable[Sample] = (),
        events: Iterable[Event] = (),
        ticks: Iterable[tuple[str, int]] = (),
        report: "RunReport | None" = None,
    ) -> WriteResult:
        """Store samples, events and the run's status in one pipeline.

        A sample replaces any sample of the same series at the same millisecond (a retried or
        replayed write stores it once); an event is unique by its whole member, which starts
        with its Event Hub position. Items older than the window are skipped and counted.
        ``ticks`` are ``(edge, ms)`` of HAProxy edges that ticked (``shared.live.hls_alive``; an
        edge's HLS samples are its ticks too). Raises RetriableError when Redis cannot be
        reached; nothing is claimed as written then.
        """
        batch = WriteBatch(keys=self.keys, now_ms=int(self.clock() * 1000), window_ms=self.window_ms)
        for sample in samples:
            batch.add_sample(sample, self._spec(sample.series))
        for event in events:
            batch.add_event(event)
        for edge, when in ticks:
            batch.add_tick(edge, when)
        answers: list[Any] = []
        if batch or report is not None:
            stale = self.host_stale_ms
            answers = self._call(
                lambda: live_scripts.execute(
                    lambda pipe: live_write.fill(pipe, batch, spec_of=self._spec, host_stale_ms=stale, report=report),
                    self.redis,
                    (live_scripts.WRITE, event_counts.WRITE, hls_alive.WRITE),
                )
            )
        return WriteResult(
            samples=batch.samples,
            events=batch.events,
            too_old=batch.too_old,
            too_new=batch.too_new,
            epoch_created=report is not None and bool(answers) and str(answers[-1]) == str(batch.now_ms),
        )

    def _spec(self, series: str) -> Series:
        spec = self.series.get(series)
        if spec is None:
            raise ValueError(f"unknown series {series!r}: no function declares it (shared.core.descriptor)")
        return spec

    def read_series(
        self, tenant: str, series: str, *, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[Sample]:
        """Samples of one series between ``since_ms`` and ``until_ms`` (inclusive), oldest first."""
        return self.read_many(tenant, [series], since_ms=since_ms, until_ms=until_ms)[series]

    def read_many(
        self, tenant: str, series: Iterable[str], *, since_ms: int | None = None, until_ms: int | None = None
    ) -> dict[str, list[Sample]]:
        """Several series of one tenant in one round trip (docs/redis-schema.md)."""
        return self.read_tenant(tenant, series, since_ms=since_ms, until_ms=until_ms)[0]

    def read_tenant(
        self,
        tenant: str,
        series: Iterable[str],
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        counts: bool = False,
        latest: int = 0,
        hls_step_ms: int | None = None,
    ) -> tuple[dict[str, list[Sample]], "event_counts.EventCounts | None", list[Event]]:
        """Series of one tenant, with ``counts`` its events per type and minute (counted in Redis),
        with ``latest`` its newest events (bodies): one pipeline, one round trip. ``hls_step_ms``:
        the HLS sum at most once per step (``shared.live.hls_edges.sums``)."""
        series = list(series)
        low = self._low(since_ms)
        now = int(self.clock() * 1000)
        high = now if until_ms is None else min(until_ms, now)

        def fill(pipe: Any) -> None:
            for name in series:
                if self._spec(name).per_edge:
                    hls_edges.add_read(
                        pipe,
                        prefix=self.keys.prefix,
                        tenant=tenant,
                        low_ms=low,
                        high_ms=high,
                        stale_ms=self.host_stale_ms,
                        oldest_ms=now - self.window_ms - self.host_stale_ms,
                    )
                    pipe.hgetall(hls_alive.alive_key(self.keys.prefix))
                    continue
                for bucket in codec.buckets_between(low, high, self._spec(name).bucket_ms):
                    pipe.hgetall(self.keys.live_hash_bucket(tenant, name, bucket))
                pipe.hgetall(self.keys.live_fields(tenant, name))
            if counts:
                event_counts.add_read(pipe, prefix=self.keys.prefix, tenant=tenant, low_ms=low, high_ms=high)
            if latest:
                pipe.zrevrangebyscore(self.keys.events(tenant), high, low, start=0, num=latest)

        answers = iter(
            self._call(lambda: live_scripts.execute(fill, self.redis, (hls_edges.READ,)))
            if series or counts or latest
            else ()
        )
        out = {
            name: [
                Sample(tenant=tenant, series=name, time_ms=t, metrics=metrics)
                for t, metrics in self._rows(name, answers, low=low, high=high, hls_step_ms=hls_step_ms)
            ]
            for name in series
        }
        summary = None
        if counts:
            marker = next(answers)
            minutes = [next(answers) for _ in event_counts.minutes_between(low, high)]
            summary = event_counts.decode([marker, *minutes], low_ms=low, high_ms=high)
        newest = sorted(_events(tenant, next(answers)), key=lambda e: e.time_ms) if latest else []
        return out, summary, newest

    def _rows(
        self, name: str, answers: Iterator[Any], *, low: int, high: int, hls_step_ms: int | None
    ) -> list[tuple[int, dict[str, Any]]]:
        """One series' samples from its answers in the pipeline, in time order."""
        spec = self._spec(name)
        if spec.per_edge:
            counted = hls_edges.decode(next(answers))
            return hls_edges.sums(
                counted,
                alive=hls_alive.decode(next(answers)),
                stale_ms=self.host_stale_ms,
                low_ms=low,
                high_ms=high,
                step_ms=hls_step_ms,
            )
        buckets = codec.buckets_between(low, high, spec.bucket_ms)
        hashes = [next(answers) or {} for _ in buckets]
        fields = next(answers) or {}
        return sorted(
            (
                row
                for bucket, mapping in zip(buckets, hashes)
                for row in codec.decode_bucket(bucket, spec.bucket_ms, mapping, fields, low=low, high=high)
            ),
            key=lambda row: row[0],
        )

    def read_events(self, tenant: str, *, since_ms: int | None = None, until_ms: int | None = None) -> list[Event]:
        now = int(self.clock() * 1000)
        members = self._call(
            self.redis.zrangebyscore,
            self.keys.events(tenant),
            self._low(since_ms),
            now if until_ms is None else min(until_ms, now),
        )
        return _events(tenant, members)

    def series_present(self, tenant: str) -> list[str]:
        """Which of the known series hold data for ``tenant`` in the window (one round trip)."""
        now = int(self.clock() * 1000)
        pipe = self.redis.pipeline(transaction=False)
        for series, spec in self.series.items():
            if spec.per_edge:
                pipe.exists(self.keys.hls_hosts(tenant))
                continue
            buckets = codec.buckets_between(now - self.window_ms, now, spec.bucket_ms)
            pipe.exists(*(self.keys.live_hash_bucket(tenant, series, b) for b in buckets))
        found = self._execute(pipe)
        return [series for series, present in zip(self.series, found) if present]

    def read_status(self, functions: Iterable[str]) -> dict[str, dict[str, str]]:
        """The raw status hash of each function, its rolling counters of the last 10-20 minutes
        as ``<source>|rolling_<name>`` fields (one round trip); see shared.runtime.status.parse_status."""
        return self.read_status_and_epoch(functions)[0]

    def ended_links(self, tenant: str) -> dict[str, str]:
        """The tenant's ended viewer links (``shared.read.view_tokens.check_not_ended``)."""
        return dict(self._call(self.redis.hgetall, self.keys.view_ended(tenant)) or {})

    def end_links(self, tenant: str, ids: Iterable[str], *, keep_s: int) -> None:
        """End viewer links: ``ids`` (``*`` for every link issued until now), remembered for
        ``keep_s`` (the longest a link may live)."""
        now = str(int(self.clock()))
        key = self.keys.view_ended(tenant)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={i: now for i in ids})
        pipe.expire(key, keep_s)
        self._call(pipe.execute)

    def read_status_and_epoch(
        self, functions: Iterable[str], *, runs_only: Iterable[str] = ()
    ) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        """Each function's status fields with its rolling counters, and the epoch. For
        ``runs_only``, the run as a whole (``_run|…``) only: a timer's run covers every source
        and names the first that failed, so its verdict needs no read of a thousand tenants."""
        functions, runs_only = list(functions), set(runs_only)
        bucket = int(self.clock() * 1000) // ROLLING_MS
        pipe = self.redis.pipeline(transaction=False)
        for function in functions:
            if function in runs_only:
                pipe.hmget(self.keys.status(function), [f"_run|{what}" for what in RUN_FIELDS])
            else:
                pipe.hgetall(self.keys.status(function))
            pipe.hgetall(self.keys.status_rolling(function, bucket - 1))
            pipe.hgetall(self.keys.status_rolling(function, bucket))
        pipe.hgetall(self.keys.epoch())
        answers = self._execute(pipe)
        out = {
            function: _status_fields(answers[3 * i : 3 * i + 3], whole_run_only=function in runs_only)
            for i, function in enumerate(functions)
        }
        return out, dict(answers[-1] or {})

    def _low(self, since_ms: int | None) -> int:
        window_start = int(self.clock() * 1000) - self.window_ms
        return window_start if since_ms is None else max(since_ms, window_start)

    def _execute(self, pipe: Any) -> list[Any]:
        return self._call(pipe.execute)

    @staticmethod
    def _call(fn: Callable[..., Any], *args: Any) -> Any:

        return redis_call(lambda: fn(*args))


def _status_fields(answers: list[Any], *, whole_run_only: bool) -> dict[str, str]:
    """A function's status fields with ``<source>|rolling_<what>``, the sums of the two newest
    rolling buckets, from its three answers in ``read_status_and_epoch``'s pipeline."""
    answer, *parts = answers
    if whole_run_only:
        answer = {f"_run|{what}": v for what, v in zip(RUN_FIELDS, answer or ()) if v is not None}
    fields = dict(answer or {})
    rolling: dict[str, int] = {}
    for part in parts:
        for name, value in (part or {}).items():
            source, _, what = name.rpartition("|")
            key = f"{source}|rolling_{what}"
            rolling[key] = rolling.get(key, 0) + int(value)
    fields.update({k: str(v) for k, v in rolling.items()})
    return fields
