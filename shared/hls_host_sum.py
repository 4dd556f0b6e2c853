"""HLS listener counts from several HAProxy hosts, summed per tenant in Redis (one Lua script).

Each message records its host's count in the tenant's per-host log; the ``hls`` sample at the
message's time is the sum over hosts of each host's latest count at or before that time,
leaving out hosts older than the staleness limit (a host that stops reporting drops out). It
depends only on counts up to that time, so a redelivered batch writes the same sums.

The log is compact, as the series are (docs/redis-schema.md): a hash per 5 minutes,
``fabrik:hls-hosts:{tenant}:<bucket>``, field ``<host>|<ms into the bucket>``, value the
count, about 20 bytes an entry; the previous release's sorted set
(``fabrik:hls-hosts:{tenant}``, ~120 bytes an entry) is still read for one window after an
upgrade. A script, so the read and the write are one step inside the batch's one round trip;
one call per tenant and batch, run by ``shared.live_scripts.execute``. The sample goes into
the series' hash bucket as ``shared.live_scripts.WRITE`` writes it. All its keys are declared
and carry the tenant's hash tag: cluster-safe. Redis 6.0 commands only.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Iterable

from shared import series_codec as codec
from shared.live_scripts import SCHEMA_PREFIX

LOG_BUCKET_MS = 300_000  # 5 minutes: four hosts at 10 s stay within the compact encoding's 128 entries

# KEYS: the old sorted-set log, the series' fields, the log buckets first..last, then the
# series buckets. ARGV: stale ms, window ms, schema id, names, log bucket length, first log
# bucket, then per sample (in time order): host, time, count, series bucket (KEYS index), ms
# into it, its ttl, log ttl.
SCRIPT = SCHEMA_PREFIX + """
local old, fields = KEYS[1], KEYS[2]
local stale, window, sid, names = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local log_ms, first = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('HSET', fields, sid, names)
redis.call('PEXPIRE', fields, window)
for i = 7, #ARGV, 7 do
  local host, t, count = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local bucket, offset, ttl = KEYS[tonumber(ARGV[i + 3])], ARGV[i + 4], ARGV[i + 5]
  local own = math.floor(t / log_ms)
  local log = KEYS[3 + own - first]
  redis.call('HSET', log, host .. '|' .. (t - own * log_ms), count)
  redis.call('PEXPIRE', log, ARGV[i + 6])
  local latest = {}
  local function consider(h, when, c)
    if when <= t and when >= t - stale and (not latest[h] or when > latest[h][1]) then
      latest[h] = {when, tonumber(c)}
    end
  end
  for b = math.floor((t - stale) / log_ms), own do
    local entries = redis.call('HGETALL', KEYS[3 + b - first])
    for j = 1, #entries, 2 do
      local h, off = string.match(entries[j], '^(.*)|(%d+)$')
      if h then consider(h, b * log_ms + tonumber(off), entries[j + 1]) end
    end
  end
  local recent = redis.call('ZRANGEBYSCORE', old, t - stale, t)
  for j = 1, #recent do
    local h, when, c = string.match(recent[j], '^(.*)|(%d+)|(%d+)$')
    if h then consider(h, tonumber(when), c) end
  end
  local sum, n = 0, 0
  for _, v in pairs(latest) do
    sum, n = sum + v[2], n + 1
  end
  redis.call('HSET', bucket, offset, schema_prefix(bucket, sid) .. n .. ',' .. sum)
  redis.call('PEXPIRE', bucket, ttl)
end
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
        group.sort(key=lambda s: s.time_ms)  # each sees the hosts before it
        first = (group[0].time_ms - stale_ms) // LOG_BUCKET_MS
        logs = [keys.hls_host_log(tenant, b) for b in range(first, group[-1].time_ms // LOG_BUCKET_MS + 1)]
        buckets: list[str] = []
        args: list[Any] = []
        for sample in group:
            bucket = codec.bucket_of(sample.time_ms, series)
            key = keys.live_hash_bucket(tenant, series, bucket)
            if key not in buckets:
                buckets.append(key)
            log_bucket = sample.time_ms // LOG_BUCKET_MS
            args += [sample.host, sample.time_ms, int(sample.metrics.get("listeners", 0)),
                     3 + len(logs) + buckets.index(key), sample.time_ms % codec.bucket_ms(series),
                     ttl(bucket, series, now_ms), max(1, (log_bucket + 1) * LOG_BUCKET_MS + window_ms - now_ms)]
        # execute_command: redis-py's cluster pipeline has no evalsha(), but routes EVALSHA by its keys
        pipe.execute_command("EVALSHA", SHA, 2 + len(logs) + len(buckets), keys.hls_hosts(tenant),
                             keys.live_fields(tenant, series), *logs, *buckets, stale_ms, window_ms, sid,
                             json.dumps(NAMES, separators=(",", ":")), LOG_BUCKET_MS, first, *args)
