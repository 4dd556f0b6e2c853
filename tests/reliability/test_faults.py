"""Break the real components during runs: Redis stopped and restarted, Azurite stopped,
a Redis Cluster node restarted, sources that hang. Each collector must say what happened,
keep what was valid, and recover on the next run."""

import json
import time

import pytest
import redis

import eventhub_to_redis
import icecast_poller
import matomo_live_poller
import store_downloads_fetcher
from devstack.azurite import azurite, connection_string
from devstack.redis_servers import redis_server
from shared.clients.redis_client import connect, forget_clients
from shared.core.errors import RetriableError
from shared.core.settings import load_store_settings
from shared.live.store import LiveStore
from shared.runtime.status import parse_status
from tests.conftest import TEST_HASH_KEY
from tests.eventhub_to_redis.test_function import batch, iso
from tests.faulty import FaultyServer

STATS = (
    __import__("pathlib").Path(__file__).parents[1] / "icecast_poller" / "testdata" / "icecast-2.4.4_admin_stats.xml"
).read_bytes()


@pytest.fixture
def own_redis(tmp_path):
    server = redis_server(tmp_path / "redis", persistent=True).start()
    yield server
    server.stop()
    forget_clients()


def env_for(server, **more):
    return {
        "REDIS_URL": f"redis://127.0.0.1:{server.port}/0",
        "IDENTITY_HASH_KEY": TEST_HASH_KEY,
        "TENANTS": json.dumps({"tenant-a": {"icecast": {"mounts": ["/tenant-a/live.mp3"]}}}),
        **more,
    }


def test_icecast_redis_down_then_back(own_redis):
    source = FaultyServer("respond", body=STATS)
    try:
        env = env_for(own_redis, ICECAST_SERVERS=json.dumps([{"name": "ice", "url": source.url, "password": "p"}]))
        own_redis.stop()
        with pytest.raises(RetriableError, match="redis unavailable"):
            icecast_poller.run(env=env)
        own_redis.start()
        report = icecast_poller.run(env=env)  # the next tick recovers (cached client reconnects)
        assert report.ok
        store = LiveStore(connect(load_store_settings(env)), settings=load_store_settings(env))
        assert len(store.read_series("tenant-a", "icecast")) == 1
    finally:
        source.close()


def test_eventhub_redelivery_after_redis_restart_stores_everything_exactly_once(own_redis, azurite_server):
    env = env_for(own_redis, AzureWebJobsStorage=connection_string(azurite_server.port), TENANTS="")
    env.pop("TENANTS")
    batches = [
        batch(
            [{"tenant": f"t{i % 3}", "type": "app.play", "time": iso(i)} for i in range(b * 50, b * 50 + 50)],
            partition="1",
            first_sequence=b * 50,
        )
        for b in range(6)
    ]
    for b in batches[:3]:
        eventhub_to_redis.run(b, env=env)
    own_redis.stop()
    with pytest.raises(RetriableError):
        eventhub_to_redis.run(batches[3], env=env)  # the host keeps the checkpoint and retries
    own_redis.start()
    for b in batches[2:]:  # the retry, plus an overlapping redelivery of batch 2
        eventhub_to_redis.run(b, env=env)
    store = LiveStore(connect(load_store_settings(env)), settings=load_store_settings(env))
    stored = [e.sequence for t in range(3) for e in store.read_events(f"t{t}")]
    assert sorted(stored) == list(range(300))


def test_store_downloads_azurite_stopped_then_back(tmp_path, httpserver):
    import datetime as dt

    from devstack.appstore import apple_tsv, appstore_handler
    from devstack.keys import apple_key
    from tests.store_downloads_fetcher.conftest import ISSUER, KEY_ID, VENDOR

    pair = apple_key()
    private, public = pair.private, pair.public
    now = dt.datetime(2026, 11, 28, 17, tzinfo=dt.timezone.utc).timestamp()
    httpserver.expect_request("/v1/salesReports").respond_with_handler(
        appstore_handler(
            public,
            issuer=ISSUER,
            key_id=KEY_ID,
            vendor=VENDOR,
            days={"2026-11-27": apple_tsv("2026-11-27", [("1234567890", "1F", "DE", 3)])},
        )
    )
    blob = azurite(tmp_path / "azurite").start()
    try:
        env = {
            "AzureWebJobsStorage": connection_string(blob.port),
            "DOWNLOADS_CONTAINER": "downloads",
            "APPLE_ISSUER_ID": ISSUER,
            "APPLE_KEY_ID": KEY_ID,
            "APPLE_PRIVATE_KEY": private,
            "APPLE_VENDOR_NUMBER": VENDOR,
            "APPLE_API_URL": httpserver.url_for("/").rstrip("/"),
            "TENANTS": json.dumps({"acme-fm": {"apple": {"app_id": "1234567890"}}}),
        }
        store_downloads_fetcher.run(env=env, clock=lambda: now)  # creates the container
        blob.stop()
        with pytest.raises(RetriableError):
            store_downloads_fetcher.run(env=env, clock=lambda: now + 86400)
        blob.start()
        report = store_downloads_fetcher.run(env=env, clock=lambda: now + 86400)
        assert report.ok
        from azure.storage.blob import BlobServiceClient

        names = [
            b.name
            for b in BlobServiceClient.from_connection_string(env["AzureWebJobsStorage"])
            .get_container_client("downloads")
            .list_blobs()
        ]
        assert any("/2026-11-27/" in n for n in names if n.startswith("normalised/"))
    finally:
        blob.stop()


def test_matomo_that_hangs_ends_within_its_timeout_and_says_so(base_env):
    hang = FaultyServer("hang")
    try:
        env = {**base_env, "MATOMO_URL": hang.url, "MATOMO_TOKEN": "tok-123456", "MATOMO_TIMEOUT_SECONDS": "1"}
        start = time.monotonic()
        report = matomo_live_poller.run(env=env)
        assert time.monotonic() - start < 60  # the 1 s timeout ends it; without one it never ends
        assert all("no answer within 1 s" in o.error for o in report.failures) and report.failures
        assert len(hang._conns) == 1  # issue 16.4: a hanging server is asked once, not again after the timeout
    finally:
        hang.close()


def test_cluster_run_of_every_live_collector_with_a_node_restarted(
    redis_cluster, key_prefix, azurite_server, httpserver
):
    from devstack.matomo import matomo_handler

    source = FaultyServer("respond", body=STATS)
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(
        matomo_handler({3: {3: {"visits": 2, "visitors": 2, "actions": 3}}}, token="tok-123456")
    )
    env = {
        "REDIS_URL": redis_cluster.url,
        "REDIS_CLUSTER": "true",
        "REDIS_KEY_PREFIX": key_prefix,
        "IDENTITY_HASH_KEY": TEST_HASH_KEY,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "TENANTS": json.dumps({"tenant-a": {"icecast": {"mounts": ["/tenant-a/live.mp3"]}, "matomo": {"site_id": 3}}}),
        "ICECAST_SERVERS": json.dumps([{"name": "ice", "url": source.url, "password": "p"}]),
        "MATOMO_URL": httpserver.url_for("/"),
        "MATOMO_TOKEN": "tok-123456",
    }
    hls = lambda seq: batch(
        [{"type": "hls.listeners", "tenant": "tenant-a", "time": iso(seq), "listeners": seq}],
        partition="0",
        first_sequence=seq,
    )
    try:
        for round_ in range(2):
            assert icecast_poller.run(env=env).ok
            assert matomo_live_poller.run(env=env).ok
            eventhub_to_redis.run(hls(round_ + 1), env=env)
            time.sleep(0.01)
            if round_ == 0:
                settings = load_store_settings(env)
                slot = connect(settings).keyslot(f"{key_prefix}:live:{{tenant-a}}:icecast")
                owner = next(i for i, n in enumerate(redis_cluster.nodes) if slot in _slots(n.port))
                redis_cluster.restart_node(owner)  # the node holding the tenant's keys
        settings = load_store_settings(env)
        store = LiveStore(connect(settings), settings=settings)
        assert len(store.read_series("tenant-a", "icecast")) == 2
        assert len(store.read_series("tenant-a", "matomo")) == 2
        assert [s.metrics["listeners"] for s in store.read_series("tenant-a", "hls")] == [2, 1]
        rows = parse_status("icecast_poller", store.redis.hgetall(store.keys.status("icecast_poller")))
        assert all(r.ok for r in rows)
    finally:
        source.close()


def _slots(port: int) -> set[int]:
    """The hash slots the node on ``port`` serves as master."""
    client = redis.Redis(port=port, decode_responses=True)
    me = client.execute_command("CLUSTER MYID")
    slots = set()
    for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
        if master[2] == me:
            slots.update(range(start, end + 1))
    return slots
