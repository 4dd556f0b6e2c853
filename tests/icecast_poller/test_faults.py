"""A poll over servers that fail in every way: each failure is named, the good server is written."""

import json
import time
from pathlib import Path

import pytest

import icecast_poller
from shared.clients.redis_client import connect
from shared.core.settings import load_store_settings
from shared.live.store import LiveStore
from tests.faulty import FaultyServer

DATA = Path(__file__).parent / "testdata"


@pytest.fixture
def faulty():
    servers = {
        "hangs": FaultyServer("hang"),
        "trickles": FaultyServer("trickle"),
        "resets": FaultyServer("reset"),
        "garbage": FaultyServer("respond", body=b"\x00\x01binary junk that is not xml"),
        "error500": FaultyServer("respond", status=500, body=b"Internal Server Error"),
        "htmlpage": FaultyServer("respond", body=(DATA / "proxy_error_page.html").read_bytes()),
        "good": FaultyServer("respond", body=(DATA / "icecast-2.4.4_admin_stats.xml").read_bytes()),
    }
    yield servers
    for server in servers.values():
        server.close()


def test_every_failure_is_named_and_the_good_server_is_written(base_env, faulty):
    tenants = {"tenant-a": {"icecast": {"mounts": ["/tenant-a/live.mp3"]}}}
    servers = [{"name": name, "url": s.url, "password": "pw-for-tests"} for name, s in faulty.items()]
    env = {
        **base_env,
        "TENANTS": json.dumps(tenants),
        "ICECAST_SERVERS": json.dumps(servers),
        "ICECAST_CONNECT_TIMEOUT_SECONDS": "1",
        "ICECAST_READ_TIMEOUT_SECONDS": "2",
        "ICECAST_RUN_DEADLINE_SECONDS": "4",
    }
    start = time.monotonic()
    report = icecast_poller.run(env=env)
    elapsed = time.monotonic() - start
    # Bounded by the run deadline (4 s), not by the trickling server (hours): generous for a busy machine.
    assert elapsed < 60

    errors = {o.source: o.error for o in report.failures}
    assert "no answer within 2 s" in errors["server:hangs"] or "deadline" in errors["server:hangs"]
    assert "deadline" in errors["server:trickles"]
    assert "connection" in errors["server:resets"].lower()
    assert "not XML" in errors["server:garbage"] or "expected <icestats>" in errors["server:garbage"]
    assert "HTTP 500" in errors["server:error500"]
    assert "expected <icestats>, got <html>" in errors["server:htmlpage"]
    # the good server answers every path with its stats document: counts come through, no listeners listed
    assert "server:good" in report.outcomes and report.outcomes["server:good"].counts["listeners"] == 4

    settings = load_store_settings(env)
    store = LiveStore(connect(settings), settings=settings)
    [sample] = store.read_series("tenant-a", "icecast")
    assert sample.metrics["listeners"] == 3 and sample.metrics["servers_failed"] == 6
