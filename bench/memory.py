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
    return rows
