"""Redis memory (and Redis time) of one tenant's live series after a full two-hour window.

``MEMORY USAGE`` summed over every key a series uses, divided by its samples, against the
naive encoding in the same Redis: one sorted set per series, ``<time>|<metrics JSON>``
members. HLS as the agents send it, from 1, 3 and 20 HAProxy edges every 10 s: memory per
message and Redis's own time per message (``INFO commandstats``), and the time of one read
of the whole window. Icecast also with a long value (4 mounts, ~20,000 listeners: over
the 64 bytes of the hash compact encoding).
"""

from __future__ import annotations

import json
import time
import uuid

import redis

from bench.common import Row, best_of

ICECAST = {
    "listeners": 1234,
    "unique_listeners": 1100,
    "median_listening_seconds": 1800,
    "relays": 0,
    "servers_failed": 0,
    "client:app": 600,
    "client:browser": 300,
    "client:player": 300,
    "client:other": 34,
    "mount:/acme.mp3": 900,
    "mount:/acme.aac": 334,
    "on_fallback": 0,
    "fallback_listeners": 0,
}
BIG_ICECAST = {
    **ICECAST,
    "listeners": 21234,
    "unique_listeners": 20100,
    "median_listening_seconds": 12345,
    "client:app": 10600,
    "client:browser": 5300,
    "client:player": 4300,
    "client:other": 1034,
    "mount:/acme.mp3": 10000,
    "mount:/acme.aac": 6334,
    "mount:/acme-hi.aac": 3000,
    "mount:/acme-lo.mp3": 1900,
}
SERIES = {
    "icecast": (30_000, ICECAST),
    "icecast, 4 mounts and ~20,000 listeners": (30_000, BIG_ICECAST),
    "matomo": (60_000, {"visitors": 321, "visits": 345, "actions": 1234}),
}


def _usage(client: redis.Redis, keys: list[str]) -> int:
    return sum(client.memory_usage(k, samples=0) or 0 for k in keys)


def _naive(client: redis.Redis, key: str, samples: list) -> None:
    client.zadd(
        key,
        {
            f"{x.time_ms}|{json.dumps(dict(x.metrics), separators=(',', ':'), sort_keys=True)}": x.time_ms
            for x in samples
        },
    )


def _store(client: redis.Redis, redis_url: str):
    from shared.core.settings import load_store_settings
    from shared.live.store import LiveStore

    prefix = f"m{uuid.uuid4().hex[:8]}"
    return prefix, LiveStore(client, settings=load_store_settings({"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix}))


def run(redis_url: str) -> list[Row]:
    from shared.live.store import Sample

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    rows = []
    now = int(time.time() * 1000)
    for name, (every_ms, metrics) in SERIES.items():
        series = name.split(",")[0]
        prefix, store = _store(client, redis_url)
        n = 7_200_000 // every_ms
        samples = [
            Sample(
                "acme-fm",
                series,
                now - i * every_ms,
                {**metrics, "listeners": metrics.get("listeners", 0) + i}
                if "listeners" in metrics
                else {**metrics, "visitors": 300 + i},
            )
            for i in range(n)
        ]
        store.write(samples=samples)
        ours = client.keys(f"{prefix}:live:*")
        naive_key = f"{prefix}:naive:{{acme-fm}}:{series}"
        _naive(client, naive_key, samples)
        size, naive = _usage(client, ours), _usage(client, [naive_key])
        encoding = client.object("encoding", next(k for k in ours if not k.endswith(":fields")))
        rows.append(
            Row(
                "redis memory",
                f"{name}: 2 h at {every_ms // 1000} s ({n} samples, {len(metrics)} metrics), bytes a sample",
                size / n,
                naive / n,
                "bytes",
                "one sorted set, JSON members",
                higher_is_better=False,
                note=f"per tenant {size:,} bytes (naive: {naive:,}); bucket encoding: {encoding}",
            )
        )
        client.delete(*ours, naive_key)
    per_sample = {}
    for edges in (1, 3, 20):
        row, per_sample[edges] = _hls_from_edges(client, redis_url, now, edges)
        rows += row
    rows[-2].note += f"; 20 edges cost {per_sample[20] / per_sample[3]:.2f}x the 3-edge bytes a message (the bound: 2x)"
    return rows


def _redis_usec(client: redis.Redis) -> int:
    return sum(v["usec"] for k, v in client.info("commandstats").items())


def _hls_from_edges(client: redis.Redis, redis_url: str, now: int, edges: int) -> tuple[list[Row], float]:
    """HLS as the agents send it: ``edges`` HAProxy edges every 10 s for two hours, in Event Hub batches."""
    from shared.live.store import Sample

    prefix, store = _store(client, redis_url)
    messages = [
        Sample("acme-fm", "hls", now - i * 10_000 - 397 * h, {"listeners": 2000 + i + h}, host=f"edge-{h + 1}")
        for i in range(719, -1, -1)
        for h in range(edges)
    ]
    before = _redis_usec(client)
    for i in range(0, len(messages), 100):
        store.write(samples=messages[i : i + 100])
    usec = (_redis_usec(client) - before) / len(messages)
    ours = client.keys(f"{prefix}:*")
    naive_key = f"{prefix}:naive:{{acme-fm}}:hls"
    client.zadd(naive_key, {f"{m.host}|{m.time_ms}|{m.metrics['listeners']}": m.time_ms for m in messages})
    size, naive = _usage(client, ours), _usage(client, [naive_key])
    encodings = sorted({client.object("encoding", k) for k in ours})
    before_read = _redis_usec(client)
    store.read_series("acme-fm", "hls")
    read_usec = _redis_usec(client) - before_read  # Redis's own time for one read (the script included)
    read = best_of(lambda: store.read_series("acme-fm", "hls"), repeat=5)
    raw = best_of(lambda: client.zrangebyscore(naive_key, now - 7_200_000, now), repeat=5)
    points = len(store.read_series("acme-fm", "hls"))
    client.delete(*ours, naive_key)
    n = len(messages)
    return [
        Row(
            "redis memory",
            f"hls from {edges} HAProxy edge{'s' if edges > 1 else ''}, 2 h at 10 s ({n} messages), bytes a message",
            size / n,
            naive / n,
            "bytes",
            "one sorted set of host|time|count",
            higher_is_better=False,
            note=f"per tenant {size:,} bytes; Redis time {usec:.1f} µs a message (commandstats); "
            f"encodings {', '.join(encodings)}",
        ),
        Row(
            "hls read",
            f"{edges} edge{'s' if edges > 1 else ''}: the whole window summed ({points} points)",
            read * 1000,
            raw * 1000,
            "ms",
            "fetching the naive sorted set alone, no sums",
            higher_is_better=False,
            note=f"Redis busy {read_usec / 1000:.2f} ms for the read",
        ),
    ], size / n
