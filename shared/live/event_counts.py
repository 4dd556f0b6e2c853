"""Events per type and minute: counters written with the events, read without touching the log.

Why counters: the page and the API need only how many events of each type came each minute.
1.0.0 counted them by reading the log inside one script, paging by offset: O(events²), 4.95 s
of Redis at 200,000 events, during which Redis answered every other client ``BUSY`` (and the
client re-sent the script after its own timeout). Now the write adds each event to the log and,
only when the log did not hold it yet (a redelivery is not counted twice), one to its minute's
counter, in one script per tenant and batch: its work is the batch's, never the log's. A read
is one ``HGETALL`` per minute of the range (121 for two hours), whatever the log holds.

Keys (the tenant's hash tag: one slot): ``fabrik:events:{tenant}:m:<minute ms>`` (hash: type ->
count; it expires when its minute leaves the window) and ``fabrik:events:{tenant}:counted`` (the
time counting began: ``0`` for a log that started with counters, the write's time for a log a
1.0.0 writer had already filled, whose older events have no counters; reads say ``truncated``
until those have left the window). Redis 6.0 commands only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

MINUTE_MS = 60_000

# KEYS[1]: the event log, KEYS[2]: the "counted" marker, KEYS[3..]: minute counters.
# ARGV: now ms, cutoff ms (the window's start), log ttl ms, then per minute key (in KEYS order
# from 3) its ttl ms, then per event: score, member, minute key index (3..), type.
WRITE = """
local log, marker = KEYS[1], KEYS[2]
if redis.call('EXISTS', marker) == 0 then
  local since = '0'
  if redis.call('EXISTS', log) == 1 then since = ARGV[1] end
  redis.call('SET', marker, since)
end
local minutes = #KEYS - 2
for i = 4 + minutes, #ARGV, 4 do
  if redis.call('ZADD', log, ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('HINCRBY', KEYS[tonumber(ARGV[i + 2])], ARGV[i + 3], 1)
  end
end
for k = 3, #KEYS do redis.call('PEXPIRE', KEYS[k], ARGV[1 + k]) end
redis.call('ZREMRANGEBYSCORE', log, '-inf', '(' .. ARGV[2])
redis.call('PEXPIRE', log, ARGV[3])
redis.call('PEXPIRE', marker, ARGV[3])
return 1
"""
WRITE_SHA = hashlib.sha1(WRITE.encode()).hexdigest()


@dataclass
class EventCounts:
    per_minute: dict[str, list[list[int]]] = field(default_factory=dict)  # type -> [[minute ms, n], ...]
    total: int = 0
    truncated: bool = False  # the range starts before counting began (a log 1.0.0 wrote): older events are not counted


def minute_key(prefix: str, tenant: str, minute_ms: int) -> str:
    return f"{prefix}:events:{{{tenant}}}:m:{minute_ms}"


def marker_key(prefix: str, tenant: str) -> str:
    return f"{prefix}:events:{{{tenant}}}:counted"


def minutes_between(low_ms: int, high_ms: int) -> list[int]:
    """The minutes (start, epoch ms) that start in ``[low_ms, high_ms]``: whole minutes only, so a
    minute the window's start cuts (whose older events were trimmed) is left out."""
    return list(range(-(-low_ms // MINUTE_MS) * MINUTE_MS, high_ms + 1, MINUTE_MS))


def add_write(
    pipe: Any,
    *,
    prefix: str,
    tenant: str,
    log_key: str,
    members: Mapping[str, tuple[int, str]],
    now_ms: int,
    window_ms: int,
) -> None:
    """Queue one tenant's events (``member -> (time ms, type)``): the log, the counters, trimming."""
    index: dict[int, int] = {}  # minute -> its KEYS position
    events: list[Any] = []
    for member, (time_ms, kind) in members.items():
        minute = time_ms // MINUTE_MS * MINUTE_MS
        position = index.setdefault(minute, 3 + len(index))
        events += [time_ms, member, position, kind]
    minutes = sorted(index, key=index.__getitem__)
    keys = [log_key, marker_key(prefix, tenant), *(minute_key(prefix, tenant, m) for m in minutes)]
    ttls = [max(1, m + MINUTE_MS + window_ms - now_ms) for m in minutes]  # gone when the minute leaves the window
    # execute_command: redis-py's cluster pipeline has no evalsha(), but routes EVALSHA by its keys
    pipe.execute_command("EVALSHA", WRITE_SHA, len(keys), *keys, now_ms, now_ms - window_ms, window_ms, *ttls, *events)


def add_read(pipe: Any, *, prefix: str, tenant: str, low_ms: int, high_ms: int) -> int:
    """Queue the read of the counters of ``[low_ms, high_ms]``; returns how many answers it adds."""
    pipe.get(marker_key(prefix, tenant))
    minutes = minutes_between(low_ms, high_ms)
    for minute in minutes:
        pipe.hgetall(minute_key(prefix, tenant, minute))
    return 1 + len(minutes)


def decode(answers: Sequence[Any], *, low_ms: int, high_ms: int) -> EventCounts:
    """``add_read``'s answers, in order: counts of the minutes that start in the range (a started
    minute counts its events stamped ahead of now too), oldest first per type."""
    marker, *hashes = answers
    counts = EventCounts(truncated=marker is not None and int(marker) > low_ms)
    for minute, mapping in zip(minutes_between(low_ms, high_ms), hashes):
        for kind, n in _items(mapping or {}):
            counts.per_minute.setdefault(kind, []).append([minute, n])
            counts.total += n
    return counts


def _items(mapping: Mapping[Any, Any]) -> Iterable[tuple[str, int]]:
    for kind, n in mapping.items():
        yield (kind.decode() if isinstance(kind, bytes) else str(kind)), int(n)
