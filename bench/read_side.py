"""The live API for one tenant with a full two-hour window of every series: per request
latency (median, p95) and Redis round trips, against reading the same keys one command at a
time (what a dashboard's naive API does)."""

from __future__ import annotations

import json
import statistics
import time
import uuid

import redis

from bench.common import Row
from bench.eventhub import CountingConnection as Counting

REQUESTS = 60


def run(redis_url: str) -> list[Row]:
    from shared.core.settings import load_store_settings
    from shared.live import series_codec as codec
    from shared.live.store import Event, LiveStore, Sample, _events
    from shared.read import api as read_side

    prefix = f"r{uuid.uuid4().hex[:8]}"
    env = {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix, "TENANTS": json.dumps({"acme-fm": {}})}
    settings = load_store_settings(env)
    client = redis.Redis.from_url(redis_url, decode_responses=True, connection_class=Counting)
    store = LiveStore(client, settings=settings)
    now = int(time.time() * 1000)
    samples = [
        Sample("acme-fm", "icecast", now - i * 30_000, {"listeners": i, "mount:/a.mp3": i, "relays": 0})
        for i in range(240)
    ]
    samples += [Sample("acme-fm", "hls", now - i * 10_000, {"listeners": i}, host="edge-1") for i in range(720)]
    samples += [
        Sample("acme-fm", "matomo", now - i * 60_000, {"visitors": i, "visits": i, "actions": i}) for i in range(120)
    ]
    events = [Event("acme-fm", f"app.{i % 4}", now - i * 3_000, "0", i, '{"station":"x"}') for i in range(2400)]
    store.write(samples=samples, events=events)

    def ours() -> None:
        status, _, _ = read_side.live("acme-fm", {}, env=env, redis=client)
        assert status == 200

    def naive() -> None:
        from collections import Counter

        from shared.live import hls_edges
        from shared.live.event_counts import EventCounts

        low = now - settings.window_seconds * 1000
        data = {}
        for series, spec in store.series.items():  # one command, one round trip, per key
            if spec.per_edge:
                edges = {}
                for edge in client.hkeys(store.keys.hls_hosts("acme-fm")):
                    answer = []
                    for bucket in range((low - 30_000) // hls_edges.BUCKET_MS, now // hls_edges.BUCKET_MS + 1):
                        entries = client.hgetall(store.keys.hls_edge_bucket("acme-fm", edge, bucket))
                        answer += [edge, bucket, [x for pair in entries.items() for x in pair]]
                    edges.update(hls_edges.decode(answer))
                rows = hls_edges.sums(edges, stale_ms=30_000, low_ms=low, high_ms=now)
            else:
                fields = client.hgetall(store.keys.live_fields("acme-fm", series))
                rows = []
                for bucket in codec.buckets_between(low, now, spec.bucket_ms):
                    mapping = client.hgetall(store.keys.live_hash_bucket("acme-fm", series, bucket))
                    rows += codec.decode_bucket(bucket, spec.bucket_ms, mapping, fields, low=low, high=now)
                rows.sort(key=lambda row: row[0])
            data[series] = [Sample("acme-fm", series, t, m) for t, m in rows]
        got = _events("acme-fm", client.zrangebyscore(store.keys.events("acme-fm"), low, now))  # every body
        per_minute: dict = {}
        for event in got:
            per_minute.setdefault(event.type, Counter())[event.time_ms // 60_000 * 60_000] += 1
        counts = EventCounts({t: sorted([m, n] for m, n in c.items()) for t, c in per_minute.items()}, len(got))
        json.dumps(read_side.payload("acme-fm", data, counts, got[-20:], since_ms=low, now_ms=now))  # the same answer

    results = {}
    for name, fn in (("ours", ours), ("naive", naive)):
        fn()
        Counting.sends = 0
        fn()
        trips = Counting.sends
        times = []
        for _ in range(REQUESTS):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        results[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1], trips)
    (m_ours, p_ours, t_ours), (m_naive, p_naive, t_naive) = results["ours"], results["naive"]
    client.delete(*client.keys(f"{prefix}:*"))
    return [
        Row(
            "live API",
            "GET /api/live/{tenant}, full 2 h of 3 series + 2,400 events: median",
            m_ours,
            m_naive,
            "ms",
            "one command per key, same answer built",
            higher_is_better=False,
            note=f"p95 {p_ours:.1f} ms (naive {p_naive:.1f} ms); Redis round trips per request: {t_ours} "
            f"(naive {t_naive}); includes building the JSON answer",
        )
    ]
