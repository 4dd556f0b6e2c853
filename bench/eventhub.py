"""eventhub_to_redis: events/s by batch size, against a per-event write loop and a bare pipeline."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import azure.functions as func
import redis
from azure.functions import meta

from bench.common import Row, interleaved

BATCH_SIZES = (1, 10, 100, 1000)
EVENTS_PER_CASE = 5000


class CountingConnection(redis.connection.Connection):
    sends = 0

    def send_packed_command(self, command, check_health=True):
        type(self).sends += 1
        return super().send_packed_command(command, check_health)


def make_batches(size: int, total: int) -> list[list[func.EventHubEvent]]:
    now = dt.datetime.now(dt.timezone.utc)
    context = meta.Datum(json.dumps({"PartitionId": "0"}), "json")
    batches, seq = [], 0
    for _ in range(max(1, total // size)):
        batch = []
        for _ in range(size):
            body = {
                "tenant": f"tenant-{seq % 20}",
                "type": "app.play",
                "station": "acme",
                "time": (now - dt.timedelta(milliseconds=seq)).isoformat(),
            }
            if seq % 10 == 0:
                body = {
                    "type": "hls.listeners",
                    "tenant": f"tenant-{seq % 20}",
                    "time": body["time"],
                    "listeners": seq % 300,
                }
            batch.append(
                func.EventHubEvent(
                    body=json.dumps(body).encode(),
                    trigger_metadata={"PartitionContext": context},
                    sequence_number=seq,
                    enqueued_time=now,
                )
            )
            seq += 1
        batches.append(batch)
    return batches


def per_event_loop(client: redis.Redis, prefix: str, batch: list) -> None:
    """The naive forwarder: parse, then one ZADD, one trim and one PEXPIRE per event."""
    window_ms = 7_200_000
    for event in batch:
        doc = json.loads(event.get_body())
        t = int(dt.datetime.fromisoformat(doc["time"]).timestamp() * 1000)
        key = f"{prefix}:events:{{{doc['tenant']}}}"
        client.zadd(key, {f"{event.sequence_number}|{event.get_body().decode()}": t})
        client.zremrangebyscore(key, "-inf", f"({int(time.time() * 1000) - window_ms}")
        client.pexpire(key, window_ms)


def bare_pipeline(client: redis.Redis, prefix: str, batch: list) -> None:
    """One pipeline, no validation, no personal-data check, no status: the floor."""
    pipe = client.pipeline(transaction=False)
    for event in batch:
        doc = json.loads(event.get_body())
        t = int(dt.datetime.fromisoformat(doc["time"]).timestamp() * 1000)
        pipe.zadd(f"{prefix}:events:{{{doc['tenant']}}}", {f"{event.sequence_number}|{event.get_body().decode()}": t})
    pipe.execute()


def run_with_latency(redis_url: str, *, delay_s: float = 0.0005) -> list[Row]:
    """Batch 100 through a proxy adding ``delay_s`` each way: the round trip of a same-region Redis."""
    from bench.latency import DelayProxy

    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = DelayProxy(port, delay_s=delay_s)
    try:
        rows = run(f"redis://127.0.0.1:{proxy.port}/0", sizes=(100,), total=2000)
    finally:
        proxy.stop()
    for row in rows:
        row.case += f", {delay_s * 2000:g} ms round trip (same-region Azure)"
    return rows


def run(redis_url: str, *, sizes: tuple[int, ...] = BATCH_SIZES, total: int = EVENTS_PER_CASE) -> list[Row]:
    import eventhub_to_redis
    from shared.clients.redis_client import connect
    from shared.core.settings import load_store_settings
    from shared.live.store import LiveStore

    rows = []
    for size in sizes:
        prefix = f"b{uuid.uuid4().hex[:8]}"
        env = {
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": prefix,
            "IDENTITY_HASH_KEY": "bench-key-0123456789abcdef",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        }
        client = connect(load_store_settings(env), connection_class=CountingConnection)
        plain = redis.Redis.from_url(redis_url, decode_responses=True)
        batches = make_batches(size, total)
        n = sum(len(b) for b in batches)

        def ours():
            for b in batches:
                eventhub_to_redis.run(b, env=env, redis=client)

        def naive():
            for b in batches:
                per_event_loop(plain, prefix + "n", b)

        def floor():
            for b in batches:
                bare_pipeline(plain, prefix + "p", b)

        t_ours, t_naive, t_floor = interleaved([ours, naive, floor], rounds=5)
        CountingConnection.sends = 0
        eventhub_to_redis.run(batches[0], env=env, redis=client)
        trips = CountingConnection.sends
        rows.append(
            Row(
                "eventhub_to_redis",
                f"batch {size}",
                n / t_ours,
                n / t_naive,
                "events/s",
                "per-event ZADD+trim+PEXPIRE loop",
                note=f"bare pipeline (no checks) {n / t_floor:,.0f} events/s; Redis round trips per batch: {trips}",
            )
        )
        store = LiveStore(plain, settings=load_store_settings(env))
        assert sum(len(store.read_events(f"tenant-{i}")) for i in range(20)) == n - n // 10
    return rows
