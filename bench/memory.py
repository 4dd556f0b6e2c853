"""Redis memory of one tenant's live series after a full two-hour window, per encoding.

``MEMORY USAGE`` summed over every key a series uses, divided by its samples. Four encodings
are written side by side in the same Redis, so the ratios come from one run:

* legacy: one sorted set per series, ``<time>|<metrics JSON>`` (two releases ago);
* positional: one sorted set, ``<time>|<schema>|v1,v2,…`` (names once, in a hash);
* sorted-set buckets: positional members in sorted sets per 30/10/60 minutes (the previous release);
* hash buckets (the app's): a hash per bucket, field = ms into the bucket, value = positional
  values, the schema once per bucket (``shared.series_codec``).
"""
from __future__ import annotations

import time
import uuid

import redis

from bench.common import Row

ICECAST = {"listeners": 1234, "unique_listeners": 1100, "median_listening_seconds": 1800, "relays": 0,
           "servers_failed": 0, "client:app": 600, "client:browser": 300, "client:player": 300,
           "client:other": 34, "mount:/acme.mp3": 900, "mount:/acme.aac": 334, "on_fallback": 0,
           "fallback_listeners": 0}
SERIES = {"icecast": (30_000, ICECAST), "hls": (10_000, {"hosts": 2, "listeners": 4321}),
          "matomo": (60_000, {"visitors": 321, "visits": 345, "actions": 1234})}


def _usage(client: redis.Redis, keys: list[str]) -> int:
    return sum(client.memory_usage(k, samples=0) or 0 for k in keys)


def run(redis_url: str) -> list[Row]:
    from shared import series_codec as codec
    from shared.live_store import LiveStore, Sample, legacy_sample_member
    from shared.settings import load_store_settings

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    rows = []
    now = int(time.time() * 1000)
    for series, (every_ms, metrics) in SERIES.items():
        prefix = f"m{uuid.uuid4().hex[:8]}"
        settings = load_store_settings({"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix})
        store = LiveStore(client, settings=settings)
        n = 7_200_000 // every_ms
        samples = [Sample("acme-fm", series, now - i * every_ms, {**metrics, "listeners": 1000 + i} if
                          "listeners" in metrics else {**metrics, "visitors": 300 + i}) for i in range(n)]
        store.write(samples=samples)  # the app's encoding (hls goes the per-host way only with a host)
        ours = client.keys(f"{prefix}:live:*")
        legacy_key = f"{prefix}:legacy:{{acme-fm}}:{series}"
        client.zadd(legacy_key, {legacy_sample_member(x): x.time_ms for x in samples})
        names = sorted(samples[0].metrics)
        positional_key = f"{prefix}:positional:{{acme-fm}}:{series}"
        client.zadd(positional_key, {f"{x.time_ms}|{codec.schema_id(names)}|" +
                                     ",".join(str(x.metrics[k]) for k in names): x.time_ms for x in samples})
        zset_keys = set()
        for x in samples:
            key = f"{prefix}:zset:{{acme-fm}}:{series}:{codec.bucket_of(x.time_ms, series)}"
            zset_keys.add(key)
            client.zadd(key, {codec.encode(x.time_ms, x.metrics, series)[0]: x.time_ms})
        fields_key = f"{prefix}:live:{{acme-fm}}:{series}:fields"
        sizes = {"buckets": _usage(client, ours), "legacy": _usage(client, [legacy_key]),
                 "positional": _usage(client, [positional_key, fields_key]),
                 "zset": _usage(client, [*zset_keys, fields_key])}
        per = {k: v / n for k, v in sizes.items()}
        encoding = client.object("encoding", next(k for k in ours if not k.endswith(":fields")))
        rows.append(Row("redis memory", f"{series}: 2 h at {every_ms // 1000} s ({n} samples, {len(names)} metrics), "
                                        "bytes a sample", per["buckets"], per["legacy"], "bytes", "the encoding of two releases ago "
                        "(one sorted set, JSON members)", higher_is_better=False,
                        note=f"per tenant {sizes['buckets']:,} bytes (before: {sizes['legacy']:,}); other options "
                             f"measured: positional members in one sorted set {per['positional']:.0f} B/sample, "
                             f"sorted sets per bucket (the previous release) {per['zset']:.0f} B/sample; "
                             f"bucket encoding: {encoding}"))
        client.delete(*ours, legacy_key, positional_key, *zset_keys)
    rows.append(_hls_from_hosts(client, redis_url, now))
    return rows


def _hls_from_hosts(client: redis.Redis, redis_url: str, now: int) -> Row:
    """HLS as the agents send it: two HAProxy hosts every 10 s. What the tenant's hls costs then
    is the series plus the per-host log its sums are made from."""
    from shared import series_codec as codec
    from shared.live_store import LiveStore, Sample
    from shared.settings import load_store_settings

    prefix = f"m{uuid.uuid4().hex[:8]}"
    store = LiveStore(client, settings=load_store_settings({"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix}))
    messages = [Sample("acme-fm", "hls", now - i * 10_000 - 4_000 * h, {"listeners": 2000 + i}, host=f"edge-{h + 1}")
                for i in range(719, -1, -1) for h in range(2)]
    for i in range(0, len(messages), 100):  # in Event Hub batches
        store.write(samples=messages[i:i + 100])
    ours = client.keys(f"{prefix}:*")
    # The previous release: the log in one sorted set, the sums in sorted-set buckets.
    old_log = f"{prefix}:old-hosts:{{acme-fm}}"
    client.zadd(old_log, {f"{m.host}|{m.time_ms}|{m.metrics['listeners']}": m.time_ms for m in messages})
    old_buckets = set()
    for x in store.read_series("acme-fm", "hls", since_ms=0):
        key = f"{prefix}:old:{{acme-fm}}:hls:{codec.bucket_of(x.time_ms, 'hls')}"
        old_buckets.add(key)
        client.zadd(key, {codec.encode(x.time_ms, x.metrics, "hls")[0]: x.time_ms})
    fields = f"{prefix}:live:{{acme-fm}}:hls:fields"
    size, before = _usage(client, ours), _usage(client, [old_log, *old_buckets, fields])
    client.delete(*ours, old_log, *old_buckets)
    n = len(messages)
    return Row("redis memory", f"hls from 2 HAProxy hosts, 2 h at 10 s each ({n} messages): series + per-host "
                               "log, bytes a message", size / n, before / n, "bytes",
               "the previous release (log in one sorted set, sums in sorted-set buckets)", higher_is_better=False,
               note=f"per tenant {size:,} bytes (before: {before:,})")
