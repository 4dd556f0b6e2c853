"""Issue 36: HLS sessions by the same rules as the audio stream, counted on the edge. Real
clients of a real HAProxy running the shipped snippet; how long each has been listening is set
in the table itself (its first request, its segments), as the runtime API allows, so a 2-minute
session needs no 2-minute test. Then through eventhub_to_redis into Redis, and read back."""

import datetime as dt
import json

import pytest
import urllib3

import eventhub_to_redis
from devstack.azurite import connection_string
from haproxy_agent.agent import Agent
from haproxy_agent.config import AgentConfig
from haproxy_agent.runtime_api import command
from tests.conftest import _start
from tests.eventhub_to_redis.test_function import batch, store_of
from tests.haproxy_agent.test_agent import Collect

PLAYER = "VLC/3.0.20 LibVLC/3.0.20"
CLIENTS = {  # address: (User-Agent, paths fetched)
    "127.0.5.2": (PLAYER, ["/acme-fm/live/index.m3u8", "/acme-fm/live/seg1.ts"]),
    "127.0.5.3": ("AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X)", ["/acme-fm/live/index.m3u8"]),
    "127.0.5.4": (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ["/acme-fm/live/seg1.ts"],
    ),
    "127.0.5.5": (PLAYER, ["/acme-fm/live/seg1.ts"]),
}


@pytest.fixture
def edge(tmp_path):
    from devstack.haproxy import HAProxy

    proxy = _start(lambda: HAProxy(tmp_path / "haproxy").start())
    for address, (agent, paths) in CLIENTS.items():
        pool = urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, source_address=(address, 0), maxsize=1)
        for path in paths:
            assert pool.request("GET", path, headers={"User-Agent": agent}).status == 200
    yield proxy
    proxy.stop()


def set_entry(proxy, address, **data):
    """Age one client's entry: ``gpt0`` (its first request, epoch s) and ``gpc0`` (segments)."""
    [key] = [
        line.split()[1][4:]
        for line in command(proxy.socket, "show table hls_listeners").splitlines()
        if f"|{address}|" in line
    ]
    for name, value in data.items():
        assert command(proxy.socket, f"set table hls_listeners key {key} data.{name} {value}").strip() == ""


def test_sessions_on_the_edge_follow_the_rules_and_add_up_in_redis(edge, base_env, azurite_server, key_prefix):
    now = int(dt.datetime.now(dt.timezone.utc).timestamp()) - 30  # the ticks: 30 s and 20 s ago
    set_entry(edge, "127.0.5.2", gpt0=now - 120, gpc0=15)  # listening 2 minutes, 15 segments of 6 s: 90 s
    set_entry(edge, "127.0.5.3", gpt0=now - 600)  # 10 minutes of playlists only: never a session
    set_entry(edge, "127.0.5.4", gpt0=now - 600, gpc0=100)  # a bot, however long
    sink = Collect()
    clock = [now]
    agent = Agent(
        config=AgentConfig(socket=edge.socket, tenants=("acme-fm",), host="edge-1", segment_seconds=6),
        sender=sink,
        clock=lambda: clock[0],
    )
    first = agent.tick()[0]["tenants"]["acme-fm"]
    assert first == {
        "listeners": 4,
        "active_sessions": 1,
        "session_starts": 1,
        "listening_seconds": 90,  # its whole time, now that it qualifies
        "aqh_persons": 0,  # at most 120 s in this quarter hour
        "excluded:bot": 1,
        "excluded:short": 2,  # the playlist-only client, and the one that just came
    }
    clock[0] += 10
    set_entry(edge, "127.0.5.2", gpc0=20)  # 5 more segments: 30 s
    second = agent.tick()[0]["tenants"]["acme-fm"]
    assert (second["active_sessions"], second["session_starts"], second["listening_seconds"]) == (1, 0, 30)
    env = {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
    }
    for i, messages in enumerate(sink.sent):
        sent_at = dt.datetime.fromtimestamp(now + 10 * i, dt.timezone.utc)
        eventhub_to_redis.run(batch([json.dumps(m).encode() for m in messages], enqueued=sent_at), env=env)
    store, _ = store_of(env)
    series = store.read_series("acme-fm", "hls")
    assert sum(s.metrics.get("listening_seconds", 0) for s in series) == 120  # each tick's seconds once
    assert sum(s.metrics.get("session_starts", 0) for s in series) == 1
    assert series[-1].metrics["active_sessions"] == 1 and series[-1].metrics["excluded:bot"] == 1


def test_a_1_0_0_reader_keeps_the_counts_of_an_edge_that_sends_sessions(base_env):
    """During a rolling deploy a 1.0.0 reader meets what 1.1.0 writes: the sessions sit in a field
    of their own (``<ms>s``), which it skips as a damaged field, and the count stays readable."""
    import redis

    from shared.live import hls_edges
    from shared.live.store import Sample
    from tests.shared import hls_edges_1_0_0 as released

    client = redis.Redis.from_url(base_env["REDIS_URL"])
    prefix = base_env["REDIS_KEY_PREFIX"]
    when = 1_800_000 * 1000 + 5_000
    sample = Sample(
        "acme-fm", "hls", when, {"listeners": 4, "active_sessions": 1, "listening_seconds": 90, "excluded:bot": 1}, "e1"
    )
    pipe = client.pipeline()
    hls_edges.add_writes(pipe, [sample], prefix=prefix, now_ms=when, keep_ms=7_200_000)
    pipe.execute()
    bucket = when // hls_edges.BUCKET_MS
    raw = client.hgetall(f"{hls_edges.bucket_prefix(prefix, 'acme-fm')}e1:{bucket}")
    flat = [x for pair in raw.items() for x in pair]
    assert released.decode(["e1", bucket, flat]) == {"e1": [(when, 4)]}
    text = "\n".join(x.decode() for x in flat)
    assert hls_edges.decode(["e1", bucket, text]) == {"e1": [(when, {**sample.metrics})]}
