"""eventhub_to_redis with real EventHubEvent objects, real Redis (single and cluster) and Azurite."""

import datetime as dt
import json

import azure.functions as func
import pytest
import redis
from azure.functions import meta

import eventhub_to_redis
from devstack.azurite import connection_string
from shared.core.errors import RetriableError
from shared.core.settings import load_store_settings
from shared.live.store import LiveStore
from tests.helpers import dump_redis, run_cli, write_settings

# When the running test started: set by tests/conftest.py before each test, never at import (a
# slow suite would age every message). iso() and batch() time their messages from it.
NOW = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def iso(seconds_ago=0):
    return (NOW - dt.timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


def batch(bodies, *, partition="0", first_sequence=100, enqueued=None):
    context = meta.Datum(json.dumps({"PartitionId": partition, "EventHubName": "events"}), "json")
    out = []
    for i, body in enumerate(bodies):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        out.append(
            func.EventHubEvent(
                body=raw,
                trigger_metadata={"PartitionContext": context},
                sequence_number=first_sequence + i,
                offset=str(4096 + i),
                enqueued_time=enqueued or NOW,
                partition_key=None,
            )
        )
    return out


@pytest.fixture
def env(base_env, azurite_server, key_prefix):
    return {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
    }


def store_of(values):
    settings = load_store_settings(values)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    return LiveStore(client, settings=settings), client


def deadletters(values):
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(values["AzureWebJobsStorage"]).get_container_client(
        values["DEADLETTER_CONTAINER"]
    )
    return {b.name: json.loads(container.download_blob(b.name).readall()) for b in container.list_blobs()}


def mixed():
    """Valid events, bad JSON, a message without a tenant, a bad count: timed when called."""
    return [
        {"tenant": "acme-fm", "type": "app.play", "time": iso(30), "ip": "198.51.100.77"},
        b"{not json at all, from 198.51.100.78",
        {"type": "hls.listeners", "tenant": "acme-fm", "time": iso(20), "listeners": 31},
        {"type": "app.play", "time": iso(10)},  # no tenant
        {"tenant": "metro-kids", "type": "app.stop", "time": iso(5)},
        {"type": "hls.listeners", "tenant": "metro-kids", "time": iso(20), "listeners": "7"},
    ]


def test_mixed_batch_stores_the_valid_and_deadletters_the_rest(env, key_prefix):
    report = eventhub_to_redis.run(batch(mixed()), env=env)
    assert {
        k: v for k, v in report.outcomes["partition:0"].counts.items() if "enqueued" not in k and k != "lag_ms"
    } == {"events": 2, "hls": 1, "deadlettered": 3, "last_sequence": 105, "fields_dropped": 1}

    store, client = store_of(env)
    events = store.read_events("acme-fm")
    assert [(e.type, e.partition, e.sequence) for e in events] == [("app.play", "0", 100)]
    assert "ip" not in json.loads(events[0].body)  # not a declared field: dropped, counted
    assert [e.type for e in store.read_events("metro-kids")] == ["app.stop"]
    [hls] = store.read_series("acme-fm", "hls")
    assert dict(hls.metrics) == {"listeners": 31, "hosts": 1}  # summed over the hosts that report

    letters = deadletters(env)
    assert sorted(letters) == [f"eventhub_to_redis/{NOW:%Y-%m-%d}/p0-s{n:020d}.json" for n in (101, 103, 105)]
    reasons = {v["sequence_number"]: v["reason"] for v in letters.values()}
    assert "not JSON" in reasons[101] and "'tenant'" in reasons[103] and "'listeners'" in reasons[105]
    assert letters[f"eventhub_to_redis/{NOW:%Y-%m-%d}/p0-s{101:020d}.json"]["offset"] == "4097"

    everything = dump_redis(client, key_prefix) + json.dumps(letters)
    assert "198.51.100.77" not in everything and "198.51.100.78" not in everything


def test_redelivered_batch_stores_nothing_twice(env):
    events = batch(mixed())
    eventhub_to_redis.run(events, env=env)
    eventhub_to_redis.run(events, env=env)  # the host redelivers after a crash
    eventhub_to_redis.run(events[2:], env=env)  # or a partial overlap
    store, _ = store_of(env)
    assert len(store.read_events("acme-fm")) == 1 and len(store.read_events("metro-kids")) == 1
    assert len(store.read_series("acme-fm", "hls")) == 1
    assert len(deadletters(env)) == 3


def test_redis_down_raises_so_the_host_retries_and_nothing_is_claimed(env, redis_server):
    down = {**env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    with pytest.raises(RetriableError, match="redis unavailable"):
        eventhub_to_redis.run(batch(mixed()), env=down)
    # the retry after Redis is back stores everything once
    eventhub_to_redis.run(batch(mixed()), env=env)
    store, _ = store_of(env)
    assert len(store.read_events("acme-fm")) == 1


def test_deadletter_storage_down_raises_rather_than_drop(env):
    broken = {**env, "AzureWebJobsStorage": connection_string(1)}
    with pytest.raises(RetriableError):
        eventhub_to_redis.run(batch(mixed()), env=broken)


def test_cluster(env, redis_cluster, key_prefix):
    clustered = {k: v for k, v in env.items() if k != "TENANTS"}  # without TENANTS any tenant is accepted
    clustered.update(REDIS_URL=redis_cluster.url, REDIS_CLUSTER="true")
    bodies = [{"tenant": f"t{i % 9}", "type": "app.play", "time": iso(i)} for i in range(60)]
    bodies += [{"type": "hls.listeners", "tenant": f"t{i}", "time": iso(1), "listeners": i} for i in range(9)]
    eventhub_to_redis.run(batch(bodies, partition="3"), env=clustered)
    eventhub_to_redis.run(batch(bodies, partition="3"), env=clustered)
    from shared.clients.redis_client import connect

    settings = load_store_settings(clustered)
    store = LiveStore(connect(settings), settings=settings)
    assert sum(len(store.read_events(f"t{i}")) for i in range(9)) == 60
    assert [store.read_series(f"t{i}", "hls")[0].metrics["listeners"] for i in range(9)] == list(range(9))


def test_cli_replay_from_file_is_idempotent(env, tmp_path):
    lines = [
        json.dumps({"tenant": "acme-fm", "type": "app.play", "time": iso(3)}),
        json.dumps(
            {
                "body": {"tenant": "acme-fm", "type": "app.stop", "time": iso(2)},
                "position": {"partition": "1", "sequence": 9001},
            }
        ),
        "this line is not JSON",
    ]
    source = tmp_path / "batch.jsonl"
    source.write_text("\n".join(lines) + "\n")
    settings = write_settings(tmp_path / "s.json", env)
    first = run_cli("run", "eventhub_to_redis", "--input", str(source), settings=settings)
    second = run_cli("run", "eventhub_to_redis", "--input", str(source), settings=settings)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "deadlettered=1" in first.stdout
    store, _ = store_of(env)
    events = store.read_events("acme-fm")
    assert sorted((e.partition.split("@")[0], e.sequence, e.type) for e in events) == [
        ("1", 9001, "app.stop"),
        ("replay:batch.jsonl", 1, "app.play"),
    ]  # sequence = line number


def test_an_edge_45_s_ahead_is_clamped_to_the_enqueued_time(env):
    """Issue 27.2: an edge whose clock runs 45 s ahead. Its counts are filed at the hub's
    enqueued time, so the sum never alternates between the full and a partial value."""
    start = NOW - dt.timedelta(seconds=300)
    for step in range(20):
        sent_at = start + dt.timedelta(seconds=10 * step)
        bodies = [
            {
                "type": "hls.listeners",
                "tenant": "acme-fm",
                "host": "edge-1",
                "listeners": 10,
                "time": sent_at.isoformat().replace("+00:00", "Z"),
            },
            {
                "type": "hls.listeners",
                "tenant": "acme-fm",
                "host": "edge-ahead",
                "listeners": 20,
                "time": (sent_at + dt.timedelta(seconds=45)).isoformat().replace("+00:00", "Z"),
            },
        ]
        eventhub_to_redis.run(batch(bodies, first_sequence=1000 + 2 * step, enqueued=sent_at), env=env)
    store, _ = store_of(env)
    series = store.read_series("acme-fm", "hls")
    assert len(series) == 20 and {x.metrics["listeners"] for x in series} == {30}
    assert series[-1].time_ms <= NOW.timestamp() * 1000
