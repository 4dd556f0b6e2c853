"""Issue 14 on the HAProxy side: junk paths, reloads, a full table, long keys and several edges.

Real haproxy running the shipped snippet (master-worker, as systemd runs it), real HLS
requests from loopback addresses, real eventhub_to_redis and Redis for the sum over hosts.
"""

import datetime as dt
import json
import logging
import time

import pytest
import urllib3

import eventhub_to_redis
from haproxy_agent.agent import Agent
from haproxy_agent.config import AgentConfig
from haproxy_agent.runtime_api import command
from tests.conftest import _start
from tests.eventhub_to_redis.test_function import batch, store_of
from tests.haproxy_agent.test_agent import Collect


def start_haproxy(path):
    from devstack.haproxy import HAProxy

    return _start(lambda: HAProxy(path).start())


@pytest.fixture
def edge(tmp_path):
    proxy = start_haproxy(tmp_path / "edge")
    yield proxy
    proxy.stop()


def fetch(proxy, path, address):
    pool = urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, source_address=(address, 0))
    assert pool.request("GET", path).status == 200


def entries(proxy):
    return [line for line in command(proxy.socket, "show table hls_listeners").splitlines() if line.startswith("0x")]


def test_junk_paths_never_become_tenants(edge, caplog):
    for path, address in [
        ("/favicon.m3u8", "127.0.3.2"),
        ("/index.m3u8", "127.0.3.3"),
        ("/wp-admin/x.ts", "127.0.3.4"),
        ("/acme-fm/live/index.m3u8", "127.0.3.5"),
    ]:
        fetch(edge, path, address)
    keys = " ".join(entries(edge))
    assert "favicon" not in keys and "index.m3u8" not in keys  # single-segment paths are not tracked
    sink = Collect()
    agent = Agent(config=AgentConfig(socket=edge.socket, tenants=("acme-fm", "metro-kids"), host="edge-1"), sender=sink)
    with caplog.at_level(logging.INFO, logger="haproxy_agent"):
        sent = agent.tick()
    assert {t: e["listeners"] for t, e in sent[0]["tenants"].items()} == {
        "acme-fm": 1,
        "metro-kids": 0,
    }  # the first tick
    assert "unknown: 1 listeners under 1 paths" in caplog.text and "wp-admin" not in json.dumps(sink.sent)


def peers_ready(proxy) -> bool:
    """HAProxy's own readiness: the peers section finished its start-up resync (flags end in 3).

    A process only hands its table over once this is true, about 5 s after it started (its
    wait for remote peers, of which the snippet has none): a reload sooner drops the table.
    """
    first = command(proxy.socket, "show peers").splitlines()[0]
    return int(first.split(" flags=")[1].split()[0], 16) & 0x3 == 0x3


def test_the_table_survives_reloads(edge):
    for i in range(3):
        fetch(edge, "/acme-fm/live/index.m3u8", f"127.0.4.{i + 2}")
    assert len(entries(edge)) == 3

    def worker():
        try:
            return next(line for line in command(edge.socket, "show info").splitlines() if line.startswith("Pid:"))
        except Exception:
            return None  # between two workers

    for _ in range(2):  # the second reload proves that a worker which learnt the table also teaches it
        # One deadline per step, each far above what it takes (HAProxy's resync waits 5 s by design; a
        # reload under a loaded suite took over 30 s once):
        # a busy 2-core machine slows every step, and a shared deadline made one slow step fail the next.
        deadline = time.monotonic() + 90
        while not peers_ready(edge):
            assert time.monotonic() < deadline, "the peers section never finished its resync"
            time.sleep(0.25)
        before = worker()
        edge.reload()  # systemctl reload: a new worker; the old one teaches it the table through the local peer
        deadline = time.monotonic() + 90
        while worker() in (before, None):
            assert time.monotonic() < deadline, "haproxy did not reload: " + edge.server.log.read_text()[-3000:]
            time.sleep(0.1)
        wanted = {f"key=acme-fm|127.0.4.{i + 2}" for i in range(3)}
        deadline = time.monotonic() + 90
        # keys are "<tenant>|<address>|<hash of the User-Agent>": the clients by their address
        while (keys := {line.split()[1].rsplit("|", 1)[0] for line in entries(edge)}) != wanted and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)  # the teaching takes a moment; without the local peer the table stays empty
        assert keys == wanted


def test_the_agent_warns_when_a_reload_would_empty_the_table(tmp_path, edge, caplog):
    from devstack.haproxy import HAProxy

    bare = _start(lambda: HAProxy(tmp_path / "bare", peers=False).start())
    try:
        with caplog.at_level(logging.WARNING, logger="haproxy_agent"):
            shipped = Agent(config=AgentConfig(socket=edge.socket, tenants=("acme-fm",)), sender=Collect())
            assert shipped.check_reload_handover() and not caplog.text
            without = Agent(config=AgentConfig(socket=bare.socket, tenants=("acme-fm",)), sender=Collect())
            assert not without.check_reload_handover()
    finally:
        bare.stop()
    assert "table hls_listeners is not shared with a peers section: every HAProxy reload empties it" in caplog.text


def test_a_long_ipv6_key_is_kept_whole_and_a_nearly_full_table_is_reported(edge, caplog):
    key = "t" * 64 + "|" + "0000:0000:0000:0000:0000:ffff:203.000.113.255"  # the longest key the rule makes
    command(edge.socket, f"set table hls_listeners key {key} data.http_req_cnt 1")
    assert any(f"key={key} " in line for line in entries(edge))
    answer = "# table: hls_listeners, type: string, size:10, used:9\n0x1: key=acme-fm|1.2.3.4 use=0 exp=9\n\n"
    agent = Agent(config=AgentConfig(tenants=("acme-fm",), host="edge-1"), sender=Collect(), query=lambda s, l: answer)
    with caplog.at_level(logging.WARNING, logger="haproxy_agent"):
        agent.tick()
    assert "is 90% full (9 of 10 entries)" in caplog.text


def test_two_edges_sum_per_tenant_and_a_silent_edge_drops_out(tmp_path, base_env, azurite_server, key_prefix):
    from devstack.azurite import connection_string

    one, two = start_haproxy(tmp_path / "one"), start_haproxy(tmp_path / "two")
    try:
        for i in range(3):
            fetch(one, "/acme-fm/live/index.m3u8", f"127.0.5.{i + 2}")
        for i in range(2):
            fetch(two, "/acme-fm/live/index.m3u8", f"127.0.6.{i + 2}")
        now = time.time() - 50  # the first counts 50 s ago, the later one 10 s ago
        sent = []
        for proxy, host in ((one, "edge-1"), (two, "edge-2")):
            sink = Collect()
            Agent(
                config=AgentConfig(socket=proxy.socket, tenants=("acme-fm",), host=host), sender=sink, clock=lambda: now
            ).tick()
            sent += sink.sent[0]
        env = {
            **base_env,
            "AzureWebJobsStorage": connection_string(azurite_server.port),
            "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
        }
        sent_at = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        eventhub_to_redis.run(batch([json.dumps(m).encode() for m in sent], enqueued=sent_at), env=env)
        store, _ = store_of(env)
        newest = store.read_series("acme-fm", "hls")[-1].metrics
        assert (newest["listeners"], newest["hosts"], newest["excluded:bot"]) == (5, 2, 5)  # urllib3: a bot
        # edge-2 goes silent: 40 s later only edge-1 reports, past the 30 s staleness limit
        later = dict(
            sent[0],
            time=(
                dt.datetime.fromtimestamp(now + 40, dt.timezone.utc)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z")
            ),
        )
        eventhub_to_redis.run(
            batch([json.dumps(later).encode()], first_sequence=500, enqueued=sent_at + dt.timedelta(seconds=40)),
            env=env,
        )
        newest = store.read_series("acme-fm", "hls")[-1].metrics
        assert (newest["listeners"], newest["hosts"]) == (3, 1)
        # a redelivery of the first batch changes nothing
        eventhub_to_redis.run(batch([json.dumps(m).encode() for m in sent], enqueued=sent_at), env=env)
        assert [s.metrics["listeners"] for s in store.read_series("acme-fm", "hls")] == [5, 3]
    finally:
        one.stop()
        two.stop()


def test_one_message_per_tick_and_a_zero_sent_once_stands_while_the_edge_ticks(
    edge, base_env, azurite_server, key_prefix
):
    """Issue 35.3 end to end: a real edge with 40 configured stations sends one message a
    tick; a station whose listeners leave is sent as 0 once, and reads 0 (not 'no data')
    ten minutes later because the edge kept ticking."""
    from devstack.azurite import connection_string

    tenants = tuple(f"station-{i:02d}" for i in range(40))
    for i in range(3):
        fetch(edge, "/station-07/live/index.m3u8", f"127.0.8.{i + 2}")
    start = time.time() - 900
    clock = {"now": start}
    sink = Collect()
    agent = Agent(
        config=AgentConfig(socket=edge.socket, tenants=tenants, host="edge-z"), sender=sink, clock=lambda: clock["now"]
    )
    agent.tick()
    command(edge.socket, "clear table hls_listeners")  # the listeners leave
    for step in range(1, 61):  # ten more minutes of ticks
        clock["now"] = start + 10 * step
        agent.tick()
    assert [len(tick) for tick in sink.sent] == [1] * 61
    named = [sorted(tick[0]["tenants"]) for tick in sink.sent]
    assert len(named[0]) == 40 and named[1] == ["station-07"] and named[2:] == [[]] * 59
    env = {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
        "TENANTS": json.dumps({t: {} for t in tenants[1:]}),  # station-00 is not: its entry is left out
    }
    enqueued = dt.datetime.fromtimestamp(clock["now"], dt.timezone.utc)
    report = eventhub_to_redis.run(
        batch([json.dumps(m).encode() for tick in sink.sent for m in tick], enqueued=enqueued), env=env
    )
    counts = report.outcomes["partition:0"].counts
    assert (counts["hls"], counts["hls_not_tenants"], counts["deadlettered"]) == (61, 1, 0)
    store, _ = store_of(env)
    series = store.read_series("station-07", "hls", since_ms=int((start + 300) * 1000))
    assert [x.metrics for x in series] == [{"hosts": 1, "listeners": 0}] * 2  # the range's start, the last tick
    assert series[-1].time_ms == int(clock["now"] * 1000)
    assert store.read_series("station-07", "hls", since_ms=int(start * 1000))[0].metrics["listeners"] == 3
