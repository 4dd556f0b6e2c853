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
them: ``12`` or ``12,DE:9,AT:2,unknown:1``). Redis 6.0 commands only.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping, Sequence

from shared.live import hls_alive

BUCKET_MS = 1_800_000  # 180 counts of an edge every 10 s: within the hash compact encoding (512 entries)
NAMES = ("hosts", "listeners")

# KEYS[1]: the edges hash. ARGV: the edge bucket key prefix, first bucket, last bucket, oldest
# bucket, low ms, bucket ms. Returns [edge, bucket, [field, value, ...], ...]. When an edge has
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
      out[#out + 1] = entries
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
        out[#out + 1] = entries
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
    buckets: dict[str, dict[int, str]] = {}
    edges: dict[str, dict[str, int]] = {}
    written = 0
    for sample in samples:
        edge = sample.host or "-"
        bucket = sample.time_ms // BUCKET_MS
        key = f"{bucket_prefix(prefix, sample.tenant)}{edge}:{bucket}"
        buckets.setdefault(key, {})[sample.time_ms - bucket * BUCKET_MS] = encode(sample.metrics)
        seen = edges.setdefault(hosts_key(prefix, sample.tenant), {})
        seen[edge] = max(seen.get(edge, 0), sample.time_ms)
        written += 1
    for key, counts in buckets.items():
        pipe.hset(key, mapping=counts)
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


def decode_value(text: str) -> dict[str, int]:
    head, *rest = text.split(",")
    metrics = {"listeners": int(head)}
    for part in rest:
        code, _, n = part.partition(":")
        metrics[f"country:{code}"] = int(n)
    return metrics


def decode(answer: Sequence[Any]) -> dict[str, list[tuple[int, dict[str, int]]]]:
    """The script's answer as each edge's ``(time ms, metrics)``, oldest first; damaged fields are skipped."""
    edges: dict[str, list[tuple[int, dict[str, int]]]] = {}
    for i in range(0, len(answer) - 2, 3):
        edge, bucket, entries = _text(answer[i]), int(answer[i + 1]), answer[i + 2]
        base = bucket * BUCKET_MS
        counts = edges.setdefault(edge, [])
        for j in range(0, len(entries) - 1, 2):
            try:
                counts.append((base + int(entries[j]), decode_value(_text(entries[j + 1]))))
            except ValueError:
                continue
    for counts in edges.values():
        counts.sort(key=lambda pair: pair[0])
    return edges


def sums(
    edges: Mapping[str, Sequence[tuple[int, Mapping[str, int]]]],
    *,
    stale_ms: int,
    low_ms: int,
    high_ms: int,
    alive: hls_alive.Spans | None = None,
) -> list[tuple[int, dict[str, int]]]:
    """The definition (docs/redis-schema.md), evaluated at every reported time in ``[low_ms,
    high_ms]``, at each edge's last tick in it, and at ``low_ms`` when a count stands there and none
    was reported in the range (a tenant that dropped to zero before it):
    ``hosts`` counted and the sum of each metric (``listeners``, and ``country:<code>`` when
    edges send them). A count stands from its time until the edge's next count, or until
    ``stale_ms`` after the edge's last tick of that run (``alive``; without a record of the
    edge's ticks, the count's own time), inclusive. A sweep over the spans: O(n log n)."""
    alive = alive or {}
    changes: list[tuple[int, int, Mapping[str, int]]] = []  # (time, +1 or -1, the count's metrics)
    reported: set[int] = set()
    times: set[int] = set()
    for edge, counts in edges.items():
        spans = alive.get(edge, ())
        last = len(counts) - 1
        for i, (when, value) in enumerate(counts):
            following = counts[i + 1][0] if i < last else None
            if following == when:
                continue  # two values at one millisecond: the later entry stands
            until = (hls_alive.last_tick(spans, when) or when) + stale_ms + 1
            if following is not None and following < until:
                until = following
            changes.append((when, 1, value))
            changes.append((until, -1, value))
            if low_ms <= when <= high_ms:
                reported.add(when)
        if counts:
            times.update(end for _, end in spans if low_ms <= end <= high_ms and end >= counts[0][0])
    times |= reported or {low_ms}
    changes.sort(key=lambda change: (change[0], change[1]))
    out = []
    totals: dict[str, int] = {"listeners": 0}
    hosts = position = 0
    for when in sorted(times):
        while position < len(changes) and changes[position][0] <= when:
            _, sign, value = changes[position]
            hosts += sign
            for name, n in value.items():
                totals[name] = totals.get(name, 0) + sign * n
            position += 1
        if hosts or when in reported:
            out.append((when, {"hosts": hosts, **{k: v for k, v in totals.items() if v or k == "listeners"}}))
    return out


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
