"""Redis memory of one tenant's two-hour icecast series (the schema's cost)."""
from __future__ import annotations

import time
import uuid

import redis


def report(redis_url: str) -> str:
    from shared.live_store import LiveStore, Sample
    from shared.settings import load_store_settings

    prefix = f"m{uuid.uuid4().hex[:8]}"
    settings = load_store_settings({"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": prefix})
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    store = LiveStore(client, settings=settings)
    now = int(time.time() * 1000)
    metrics = {"listeners": 1234, "unique_listeners": 1100, "median_listening_seconds": 1800, "relays": 0,
               "servers_failed": 0, "client:app": 600, "client:browser": 300, "client:player": 300,
               "client:other": 34, "mount:/acme.mp3": 900, "mount:/acme.aac": 334}
    samples = [Sample("acme-fm", "icecast", now - i * 30_000, metrics) for i in range(240)]
    store.write(samples=samples)
    key = store.keys.live("acme-fm", "icecast")
    used = client.memory_usage(key, samples=0)
    return (f"Redis memory: one tenant's icecast series, 240 samples (2 h at 30 s, 11 metrics): "
            f"{used:,} bytes ({used // 240} bytes a sample)")
