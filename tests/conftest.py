"""Fixtures that start the real components on loopback (never skipped: a missing one fails).

Each xdist worker starts its own servers; each test gets its own Redis key prefix, so tests
run in parallel against one server without cleaning up after each other.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devstack.process import MissingComponent  # noqa: E402

TEST_HASH_KEY = "test-identity-hash-key-0123456789"
# Microsoft's v1 worker library serves Python 3.13+: its contract tests belong to `make test-313`
# (CI runs both); on 3.11 they are not collected rather than skipped.
collect_ignore = [] if sys.version_info >= (3, 13) else ["worker"]
# Spark (a JVM, ~40 s to start) runs in `make test-consumers`, which CI runs; not in every `make test`.
if not os.environ.get("FABRIK_TEST_SPARK"):
    collect_ignore.append("spark")


def pytest_report_header(config):
    if sys.version_info < (3, 13):
        return (
            "tests/worker (Microsoft's v1 worker library) is not collected on Python "
            f"{sys.version_info.major}.{sys.version_info.minor}: it runs on 3.13+ in make test-313"
        )
    return None


def _start(factory):
    try:
        return factory()
    except MissingComponent as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def redis_server(workdir):
    from devstack.redis_servers import redis_server as make

    server = _start(lambda: make(workdir / "redis").start())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(workdir):
    from devstack.redis_servers import RedisCluster

    cluster = _start(lambda: RedisCluster(workdir / "cluster").start())
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def azurite_server(workdir):
    from devstack.azurite import azurite

    server = _start(lambda: azurite(workdir / "azurite").start())
    yield server
    server.stop()


@pytest.fixture
def key_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_url(redis_server) -> str:
    return f"redis://127.0.0.1:{redis_server.port}/0"


@pytest.fixture
def base_env(redis_url, key_prefix) -> dict[str, str]:
    """The settings every Redis-writing function needs, pointing at this worker's Redis."""
    return {
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": key_prefix,
        "LIVE_WINDOW_SECONDS": "7200",
        "IDENTITY_HASH_KEY": TEST_HASH_KEY,
        "TENANTS": json.dumps(
            {
                "acme-fm": {"icecast": {"mounts": ["/acme.mp3", "/acme.aac"]}, "matomo": {"site_id": 3}},
                "metro-kids": {"icecast": {"mounts": ["/metro.mp3"]}, "matomo": {"site_id": 7}},
            }
        ),
    }


@pytest.fixture
def store_for():
    """Build a LiveStore for an env; clients are closed after the test."""
    from shared.clients.redis_client import connect
    from shared.core.settings import load_store_settings
    from shared.live.store import LiveStore

    clients = []

    def make(env, **overrides):
        settings = load_store_settings(env)
        client = connect(settings, **overrides)
        clients.append(client)
        return LiveStore(client, settings=settings)

    yield make
    for client in clients:
        client.close()


@pytest.fixture(autouse=True)
def _messages_timed_when_the_test_starts():
    """Test messages (``tests.eventhub_to_redis.test_function.iso`` and ``batch``) are timed from
    when each test starts, not from when the module was imported: on a busy machine a suite
    slower than five minutes saw its own messages as Event Hub lag (issue 39.5)."""
    import datetime as dt

    module = sys.modules.get("tests.eventhub_to_redis.test_function")
    if module is not None:
        module.NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    yield
