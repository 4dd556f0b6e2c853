"""HLS listener counts from several HAProxy hosts, summed per tenant in Redis (one Lua script).

Each message records its host's count in the tenant's per-host log
(``fabrik:hls-hosts:{tenant}``, members ``<host>|<time ms>|<count>`` scored by time); the
``hls`` sample at the message's time is the sum over hosts of each host's latest count at or
before that time, leaving out hosts older than the staleness limit (a host that stops
reporting drops out). It depends only on counts up to that time, so a redelivered batch writes
the same sums. A script, so the read and the write are one step inside the batch's one round
trip; one call per tenant and batch, run by ``shared.live_scripts.execute``. The sample goes
into the series' hash bucket as ``shared.live_scripts.WRITE`` writes it. All its keys carry the
tenant's hash tag: cluster-safe. Redis 6.0 commands only.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable

from shared import series_codec as codec

SCRIPT = """
local hosts, fields = KEYS[1], KEYS[2]
local stale, window, sid, names = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
redis.call('HSET', fields, sid, names)
redis.call('PEXPIRE', fields, window)
local newest = 0
for i = 5, #ARGV, 6 do
  local host, t, count = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local bucket, ttl = KEYS[tonumber(ARGV[i + 4])], tonumber(ARGV[i + 5])
  redis.call('ZADD', hosts, t, host .. '|' .. ARGV[i + 1] .. '|' .. count)
  local seen, sum, n = {}, 0, 0
  local recent = redis.call('ZREVRANGEBYSCORE', hosts, t, t - stale)
  for j = 1, #recent do
    local h, c = string.match(recent[j], '^(.*)|%d+|(%d+)$')
    if h and not seen[h] then
      seen[h] = true
      sum, n = sum + tonumber(c), n + 1
    end
  end
  local s = redis.call('HGET', bucket, 's')
  if not s then
    redis.call('HSET', bucket, 's', sid)
    s = sid
  end
  local prefix = ''
  if s ~= sid then prefix = sid .. '|' end
  redis.call('HSET', bucket, ARGV[i + 3], prefix .. n .. ',' .. sum)
  redis.call('PEXPIRE', bucket, ttl)
  if t > newest then newest = t end
end
redis.call('ZREMRANGEBYSCORE', hosts, '-inf', '(' .. (newest - window))
redis.call('PEXPIRE', hosts, window)
return 1
"""
SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
NAMES = ["hosts", "listeners"]


def add_calls(pipe: Any, samples: Iterable[Any], keys: Any, *, now_ms: int, stale_ms: int, window_ms: int,
              ttl: Callable[[int, str, int], int]) -> None:
    """One EVALSHA per tenant (and series) for this batch's host counts, in time order."""
    by_tenant: dict[tuple[str, str], list[Any]] = {}
    for sample in samples:
        by_tenant.setdefault((sample.tenant, sample.series), []).append(sample)
    sid = codec.schema_id(NAMES)
    for (tenant, series), group in by_tenant.items():
        buckets: list[str] = []
        args: list[Any] = []
        for sample in sorted(group, key=lambda s: s.time_ms):  # each sees the hosts before it
            bucket = codec.bucket_of(sample.time_ms, series)
            key = keys.live_hash_bucket(tenant, series, bucket)
            if key not in buckets:
                buckets.append(key)
            args += [sample.host, sample.time_ms, int(sample.metrics.get("listeners", 0)),
                     sample.time_ms % codec.bucket_ms(series), 3 + buckets.index(key), ttl(bucket, series, now_ms)]
        # execute_command: redis-py's cluster pipeline has no evalsha(), but routes EVALSHA by its keys
        pipe.execute_command("EVALSHA", SHA, 2 + len(buckets), keys.hls_hosts(tenant), keys.live_fields(tenant, series),
                             *buckets, stale_ms, window_ms, sid, json.dumps(NAMES, separators=(",", ":")), *args)

