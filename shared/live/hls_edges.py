"""HLS listener counts from several HAProxy edges: stored per edge, summed when read.

Definition (docs/redis-schema.md): the ``hls`` value at a time t is the sum over edges of each
edge's latest count at or before t, leaving out edges that stopped ticking more than
``HLS_HOST_STALE_SECONDS`` before t since that count (``shared.live.hls_alive``; a 1.1.0 edge
sends a tenant's zero once, not every tick). The series is evaluated at every time an edge
reported, at each edge's last tick, and at the start of the read when a count stands there and
none was reported in the read's range.

Why at read time: a sum stored when a message is written depends on which other messages had
arrived by then, so a late edge, a second partition or a redelivery changed it for good. Each
edge's counts are stored as they come (a field per millisecond: idempotent, any order), and
the sum is a pure function of them: the same whatever order, batch or writer. Writes are two
plain commands per edge and bucket, whatever the number of edges; a read is one script call
per tenant, in the read's one round trip (docs/decisions.md, measured in ``make bench``).

Keys (one tenant's hash tag: one slot): ``fabrik:live:{tenant}:hls:hosts`` (hash: edge -> the
newest write's time, ms) and ``fabrik:live:{tenant}:hls:host:<edge>:<bucket>`` (hash: ms into
the 30-minute bucket -> the count, followed by the listeners per country when the agent sends
them: ``12`` or ``12,DE:9,AT:2,unknown:1``; an edge's sessions, from 1.1.0 edges, under the field
``<ms>s`` as ``active_sessions=9,listening_seconds=96,…``, which 1.0.0 readers skip). Redis 6.0
commands only.
"""

from __future__ import annotations

import hashlib
from operator import itemgetter
from typing import Any, Iterable, Iterator, Mapping, Sequence

from shared.live import hls_alive

# Metrics of what happened since an edge's previous tick, not of now: they are summed over the
# reports in a point's time (each report counted once), never held until the next report.
ADDITIVE = frozenset({"session_starts", "listening_seconds"})
BUCKET_MS = 1_800_000  # 180 counts of an edge every 10 s: within the hash compact encoding (512 entries)
NAMES = ("hosts", "listeners")

# KEYS[1]: the edges hash. ARGV: the edge bucket key prefix, first bucket, last bucket, oldest
# bucket, low ms, bucket ms. Returns [edge, bucket, "field\nvalue\nfield\nvalue...", ...] (one
# string per bucket: a client parses 100 strings much faster than 28,800). When an edge has
# no count at or before low in the range, the newest earlier bucket it has is added (down to the
# oldest): a count sent once (a tenant dropping to zero) stands while the edge ticks. The bucket
# keys are the tenant's (same hash tag as KEYS[1], so the same slot).
READ = """
local out = {}
local first, last, oldest = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local low, size = tonumber(ARGV[5]), tonumber(ARGV[6])
for _, edge in ipairs(redis.call('HKEYS', KEYS[1])) do
  local earliest = nil
  for b = first, last do
    local entries = redis.call('HGETALL', ARGV[1] .. edge .. ':' .. b)
    if #entries > 0 then
      out[#out + 1] = edge
      out[#out + 1] = b
      out[#out + 1] = table.concat(entries, '\\n')
      if not earliest then
        for j = 1, #entries, 2 do
          local f = tonumber(entries[j])
          if f and (not earliest or b * size + f < earliest) then earliest = b * size + f end
        end
      end
    end
  end
  if not earliest or earliest > low then
    for b = first - 1, oldest, -1 do
      local entries = redis.call('HGETALL', ARGV[1] .. edge .. ':' .. b)
      if #entries > 0 then
        out[#out + 1] = edge
        out[#out + 1] = b
        out[#out + 1] = table.concat(entries, '\\n')
        break
      end
    end
  end
end
return out
"""
READ_SHA = hashlib.sha1(READ.encode()).hexdigest()


def hosts_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:live:{{{tenant}}}:hls:hosts"


def bucket_prefix(prefix: str, tenant: str) -> str:
    return f"{prefix}:live:{{{tenant}}}:hls:host:"


def add_writes(pipe: Any, samples: Iterable[Any], *, prefix: str, now_ms: int, keep_ms: int) -> int:
    """Each edge's counts into its buckets: HSET + PEXPIRE per bucket, and the edges hash."""
    buckets: dict[str, dict[int | str, str]] = {}
    edges: dict[str, dict[str, int]] = {}
    written = 0
    for sample in samples:
        edge = sample.host or "-"
        bucket = sample.time_ms // BUCKET_MS
        key = f"{bucket_prefix(prefix, sample.tenant)}{edge}:{bucket}"
        offset = sample.time_ms - bucket * BUCKET_MS
        fields = buckets.setdefault(key, {})
        fields[offset] = encode(sample.metrics)
        sessions = encode_sessions(sample.metrics)
        if sessions:  # a field of its own, which 1.0.0 readers skip (not a number): they keep the count
            fields[f"{offset}s"] = sessions
        seen = edges.setdefault(hosts_key(prefix, sample.tenant), {})
        seen[edge] = max(seen.get(edge, 0), sample.time_ms)
        written += 1
    for key, counts in buckets.items():
        pipe.hset(key, mapping=counts)  # type: ignore[arg-type]
        end = (int(key.rsplit(":", 1)[1]) + 1) * BUCKET_MS
        pipe.pexpire(key, max(1, end + keep_ms - now_ms))
    for key, seen in edges.items():
        pipe.hset(key, mapping=seen)
        pipe.pexpire(key, keep_ms + BUCKET_MS)
    return written


def add_read(pipe: Any, *, prefix: str, tenant: str, low_ms: int, high_ms: int, stale_ms: int, oldest_ms: int) -> None:
    """Queue the read of every edge's counts from ``stale_ms`` before ``low_ms`` to ``high_ms``,
    and of each edge's newest count before that, back to ``oldest_ms``."""
    # execute_command: redis-py's cluster pipeline has no evalsha(), but routes EVALSHA by its keys
    pipe.execute_command(
        "EVALSHA",
        READ_SHA,
        1,
        hosts_key(prefix, tenant),
        bucket_prefix(prefix, tenant),
        (low_ms - stale_ms) // BUCKET_MS,
        high_ms // BUCKET_MS,
        min(oldest_ms, low_ms - stale_ms) // BUCKET_MS,
        low_ms,
        BUCKET_MS,
    )


def encode(metrics: Mapping[str, int]) -> str:
    """``<listeners>[,<country>:<n>...]``: the count first, so a plain count stays a plain number."""
    parts = [str(int(metrics.get("listeners", 0)))]
    parts += [f"{name[8:]}:{int(n)}" for name, n in sorted(metrics.items()) if name.startswith("country:")]
    return ",".join(parts)


def encode_sessions(metrics: Mapping[str, int]) -> str:
    """The other metrics (an edge's sessions) as ``name=n,...``, stored under ``<ms>s`` beside the
    count's field ``<ms>``; empty when there are none."""
    return ",".join(
        f"{name}={int(n)}"
        for name, n in sorted(metrics.items())
        if name not in ("listeners", "hosts") and not name.startswith("country:")
    )


def decode_value(text: str) -> dict[str, int]:
    if "," not in text:  # the common case: a count without countries
        return {"listeners": int(text)}
    head, *rest = text.split(",")
    metrics = {"listeners": int(head)}
    for part in rest:
        code, _, n = part.partition(":")
        metrics[f"country:{code}"] = int(n)
    return metrics


def _decode_fields(entries: Sequence[str], base: int) -> list[tuple[int, Count]]:
    """One bucket's fields the slow way: counts with countries, an edge's sessions (``<ms>s``,
    merged into the count of that time); damaged fields skipped."""
    counts: list[tuple[int, Count]] = []
    sessions: dict[int, dict[str, int]] = {}
    for j in range(0, len(entries) - 1, 2):
        try:
            if entries[j].endswith("s"):
                sessions[base + int(entries[j][:-1])] = decode_sessions(entries[j + 1])
            else:
                counts.append((base + int(entries[j]), decode_value(entries[j + 1])))
        except ValueError:
            continue
    for k, (when, value) in enumerate(counts):
        if when in sessions:
            as_dict = {"listeners": value} if isinstance(value, int) else dict(value)
            counts[k] = (when, {**as_dict, **sessions[when]})
    return counts


def decode_sessions(text: str) -> dict[str, int]:
    out = {}
    for part in text.split(","):
        name, _, n = part.rpartition("=")
        out[name] = int(n)
    return out


Count = int | Mapping[str, int]  # a plain count of listeners, or the metrics with countries


def decode(answer: Sequence[Any]) -> dict[str, list[tuple[int, Count]]]:
    """The script's answer as each edge's ``(time ms, count)``, oldest first: a plain listener
    count as an int (the common case, kept cheap), with countries as metrics; damaged fields
    are skipped."""
    edges: dict[str, list[tuple[int, Count]]] = {}
    for i in range(0, len(answer) - 2, 3):
        edge, bucket, text = _text(answer[i]), int(answer[i + 1]), _text(answer[i + 2])
        base = bucket * BUCKET_MS
        entries = text.split("\n")
        counts = edges.setdefault(edge, [])
        try:  # the common case: whole numbers without countries, converted in bulk
            times = [base + int(f) for f in entries[0::2]]
            values = [int(v) for v in entries[1::2]] if "," not in text else None
        except ValueError:
            times, values = [], None
        if values is not None and len(times) == len(values):
            counts.extend(zip(times, values))
        else:
            counts.extend(_decode_fields(entries, base))
    for counts in edges.values():
        counts.sort(key=itemgetter(0))
    return edges


def sums(
    edges: Mapping[str, Sequence[tuple[int, Count]]],
    *,
    stale_ms: int,
    low_ms: int,
    high_ms: int,
    alive: hls_alive.Spans | None = None,
    step_ms: int | None = None,
) -> list[tuple[int, dict[str, int]]]:
    """The definition (docs/redis-schema.md), evaluated at every reported time in ``[low_ms,
    high_ms]``, at each edge's last tick in it, and at ``low_ms`` when a count stands there and none
    was reported in the range (a tenant that dropped to zero before it):
    ``hosts`` counted and the sum of each metric (``listeners``, and ``country:<code>`` when
    edges send them). A count stands from its time until the edge's next count, or until
    ``stale_ms`` after the edge's last tick of that run (``alive``; without a record of the
    edge's ticks, the count's own time), inclusive. A sweep over the spans: O(n log n).
    ``step_ms``: keep only the last point of each step, exactly as the full series has it (a
    page needs one point per agent interval, not one per edge report: 20 edges are 14,400
    points in two hours); points are built only for what is kept."""
    changes, reported, times, adds = _changes(edges, alive or {}, stale_ms=stale_ms, low_ms=low_ms, high_ms=high_ms)
    times |= reported or {low_ms}
    standing, added = _Standing(changes), _Added(adds)
    out: list[tuple[int, dict[str, int]]] = []
    step = step_ms or 1
    held: tuple[int, int, int, dict[str, int] | None] | None = None  # the step's latest point, built late
    for when in sorted(times):
        if held is not None and held[0] // step != when // step:
            out.append(_point(*held, added.take()))
            held = None
        standing.advance(when)
        added.advance(when)
        if not (standing.hosts or when in reported):
            continue
        held = standing.at(when)
        if not step_ms:
            out.append(_point(*held, added.take()))
            held = None
    if held is not None:
        out.append(_point(*held, added.take()))
    return out


class _Standing:
    """The edges' counts standing at a moment, moved forward through the sorted changes."""

    def __init__(self, changes: list[Change]):
        self.changes, self.position = changes, 0
        self.hosts = self.listeners = 0
        self.totals: dict[str, int] = {}

    def advance(self, when: int) -> None:
        changes, position, end, totals = self.changes, self.position, len(self.changes), self.totals
        while position < end and changes[position][0] <= when:
            _, sign, n, extra = changes[position]
            self.hosts += sign
            self.listeners += sign * n
            if extra:
                for name, k in extra.items():
                    totals[name] = totals.get(name, 0) + sign * k
            position += 1
        self.position = position

    def at(self, when: int) -> tuple[int, int, int, dict[str, int] | None]:
        totals = self.totals
        return when, self.hosts, self.listeners, ({k: v for k, v in totals.items() if v} if totals else None)


class _Added:
    """The additive metrics reported since the last point taken."""

    def __init__(self, adds: list[tuple[int, dict[str, int]]]):
        self.adds, self.position = adds, 0
        self.sums: dict[str, int] = {}

    def advance(self, when: int) -> None:
        adds, position, sums = self.adds, self.position, self.sums
        while position < len(adds) and adds[position][0] <= when:
            for name, k in adds[position][1].items():
                sums[name] = sums.get(name, 0) + k
            position += 1
        self.position = position

    def take(self) -> dict[str, int]:
        sums, self.sums = self.sums, {}
        return sums


def _point(
    when: int, hosts: int, listeners: int, extra: dict[str, int] | None, added: Mapping[str, int] = {}
) -> tuple[int, dict[str, int]]:
    return when, {"hosts": hosts, "listeners": listeners, **(extra or {}), **added}


Change = tuple[int, int, int, "Mapping[str, int] | None"]  # (time, +1 or -1, listeners, other metrics)


def _changes(
    edges: Mapping[str, Sequence[tuple[int, Count]]],
    alive: hls_alive.Spans,
    *,
    stale_ms: int,
    low_ms: int,
    high_ms: int,
) -> tuple[list[Change], set[int], set[int], list[tuple[int, dict[str, int]]]]:
    """Where each count starts and stops standing, sorted; the reported times in range; each
    edge's last ticks in range (after its first count); and the additive metrics reported in
    range, by time."""
    changes: list[Change] = []
    adds: list[tuple[int, dict[str, int]]] = []
    reported: set[int] = set()
    ticks: set[int] = set()
    for edge, counts in edges.items():
        spans = alive.get(edge, ())
        for when, until, value in _standing(counts, spans, stale_ms):
            listeners, extra, added = _parts(value)
            changes.append((when, 1, listeners, extra))
            changes.append((until, -1, listeners, extra))
            if low_ms <= when <= high_ms:
                reported.add(when)
                if added:
                    adds.append((when, added))
        if counts:
            ticks.update(end for _, end in spans if low_ms <= end <= high_ms and end >= counts[0][0])
    changes.sort(key=itemgetter(0, 1))
    adds.sort(key=itemgetter(0))
    return changes, reported, ticks, adds


def _standing(
    counts: Sequence[tuple[int, Count]], spans: Sequence[tuple[int, int]], stale_ms: int
) -> Iterator[tuple[int, int, Count]]:
    """Each count of one edge with the time it stops standing: at the edge's next count, or
    ``stale_ms`` after the edge's last tick of that run. Of two at one millisecond, the later."""
    last = len(counts) - 1
    for i, (when, value) in enumerate(counts):
        following = counts[i + 1][0] if i < last else None
        if following == when:
            continue
        until = when + stale_ms + 1
        if following is None or following >= until:  # else the next count comes first
            until = (hls_alive.last_tick(spans, when) or when) + stale_ms + 1
        yield when, (following if following is not None and following < until else until), value


def _parts(value: Count) -> tuple[int, dict[str, int] | None, dict[str, int] | None]:
    """A count as (listeners, the other standing metrics, the additive ones)."""
    if isinstance(value, int):
        return value, None, None
    extra = {k: n for k, n in value.items() if k != "listeners" and k not in ADDITIVE}
    added = {k: value[k] for k in ADDITIVE.intersection(value)}
    return value.get("listeners", 0), extra or None, added or None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
