"""The agent against a real haproxy running the shipped snippet, with real HLS clients."""

import json
import os
import subprocess
import sys

import pytest
import urllib3
from azure.eventhub import EventDataBatch

from haproxy_agent.agent import Agent
from haproxy_agent.config import AgentConfig, load
from haproxy_agent.errors import SendFailed
from haproxy_agent.senders import EventHubSender
from shared.core.errors import ConfigError
from tests.conftest import ROOT, _start
from tests.faulty import FaultyServer

CONN = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2VuZGtleTEyMzQ1Ng=="


@pytest.fixture(scope="module")
def haproxy(tmp_path_factory):
    from devstack.haproxy import HAProxy

    proxy = _start(lambda: HAProxy(tmp_path_factory.mktemp("haproxy")).start())
    yield proxy
    proxy.stop()


def fetch(proxy, path, address):
    """One HLS request from a chosen loopback address (a distinct listener to HAProxy)."""
    pool = urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, source_address=(address, 0))
    assert pool.request("GET", path).status == 200


class Collect:
    def __init__(self):
        self.sent = []

    def send(self, messages):
        self.sent.append(list(messages))


def test_dry_run_counts_distinct_listeners_per_tenant(haproxy):
    for path, address in [
        ("/acme-fm/live/index.m3u8", "127.0.0.2"),
        ("/acme-fm/live/seg1.ts", "127.0.0.2"),
        ("/acme-fm/live/seg2.ts", "127.0.0.2"),
        ("/acme-fm/live/index.m3u8", "127.0.0.3"),
        ("/metro-kids/hls/index.m3u8", "127.0.0.4"),
        ("/metro-kids/hls/seg9.ts", "127.0.0.4"),
        ("/robots.txt", "127.0.0.5"),
        ("/acme-fm/cover.jpg", "127.0.0.6"),
    ]:
        fetch(haproxy, path, address)
    env = {
        "PATH": os.environ["PATH"],
        "HAPROXY_SOCKET": haproxy.socket,
        "AGENT_TENANTS": "acme-fm,metro-kids",
        "AGENT_HOST": "edge-1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "haproxy_agent", "--once", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [message] = [json.loads(line) for line in done.stdout.splitlines()]  # the whole tick, one message
    assert {t: e["listeners"] for t, e in message["tenants"].items()} == {"acme-fm": 2, "metro-kids": 1}
    # urllib3's own User-Agent is a bot by the lists: flagged on the edge, never a session
    assert message["tenants"]["acme-fm"]["excluded:bot"] == 2 and message["tenants"]["acme-fm"]["active_sessions"] == 0
    assert (message["type"], message["host"], message["time"][-1]) == ("hls.tick", "edge-1", "Z")
    assert "127.0.0" not in done.stdout + done.stderr


def table(*keys):
    rows = "".join(f"0x{i}: key={key} use=0 exp=9\n" for i, key in enumerate(keys, 1))
    return f"# table: hls_listeners, type: string, size:100, used:{len(keys)}\n{rows}\n"


def test_a_zero_is_sent_once_when_a_tenant_drops_and_bad_answers_do_not_crash():
    """Issue 35.3: zeros go out when they change (and for every configured tenant at start),
    not every tick; a tick with no listeners anywhere still goes out, naming no tenant."""
    answers = iter(
        [
            table("acme-fm|1.2.3.4", "metro-kids|1.2.3.5"),
            "garbage from something that is not haproxy",
            table("metro-kids|1.2.3.5"),
            table("metro-kids|1.2.3.5"),
            table(),
            table(),
        ]
    )
    sink = Collect()
    agent = Agent(
        config=AgentConfig(tenants=("acme-fm", "metro-kids", "quiet-fm"), host="edge-1"),
        sender=sink,
        query=lambda socket, line: next(answers),
    )
    ticks = [agent.tick() for _ in range(6)]
    assert ticks[1] is None  # logged, nothing sent, no exception
    sent = [[m["tenants"] for m in tick] for tick in ticks if tick is not None]
    assert sent == [
        [{"acme-fm": {"listeners": 1}, "metro-kids": {"listeners": 1}, "quiet-fm": {"listeners": 0}}],
        [{"acme-fm": {"listeners": 0}, "metro-kids": {"listeners": 1}}],
        [{"metro-kids": {"listeners": 1}}],
        [{"metro-kids": {"listeners": 0}}],
        [{}],
    ]
    assert all(m["host"] == "edge-1" and m["type"] == "hls.tick" for tick in sink.sent for m in tick)


def test_a_zero_that_could_not_be_sent_goes_out_with_the_next_tick():
    answers = iter([table("acme-fm|1.2.3.4"), table(), table()])
    sink = Collect()
    failing = {"now": False}

    class Flaky:
        def send(self, messages):
            if failing["now"]:
                raise SendFailed("hub down")
            sink.send(messages)

    agent = Agent(config=AgentConfig(tenants=("acme-fm",), host="e"), sender=Flaky(), query=lambda s, l: next(answers))
    agent.tick()
    failing["now"] = True
    assert agent.tick() is None
    failing["now"] = False
    assert agent.tick()[0]["tenants"] == {"acme-fm": {"listeners": 0}}


def test_a_large_tick_is_split_under_the_message_limit():
    from haproxy_agent.agent import MESSAGE_BYTES, tick_messages

    entries = {f"station-{i:04d}": {"listeners": i, "countries": {"DE": i, "other": 1}} for i in range(3000)}
    messages = tick_messages("edge-1", "2027-01-15T08:00:00.000Z", entries)
    assert 1 < len(messages) < 10
    assert all(len(json.dumps(m, separators=(",", ":"))) <= MESSAGE_BYTES for m in messages)
    merged = {t: e for m in messages for t, e in m["tenants"].items()}
    assert merged == entries
    assert {(m["host"], m["time"]) for m in messages} == {("edge-1", "2027-01-15T08:00:00.000Z")}


def test_socket_that_resets_or_is_missing_does_not_crash(tmp_path):
    reset = FaultyServer("reset")
    try:
        for socket_spec in (f"tcp://127.0.0.1:{reset.port}", str(tmp_path / "missing.sock")):
            agent = Agent(config=AgentConfig(socket=socket_spec), sender=Collect())
            assert agent.tick() is None
    finally:
        reset.close()


class StandInProducer:
    """EventHubProducerClient's contract: create_batch(partition_key=...) -> EventDataBatch, send_batch."""

    def __init__(self, fail_times=0):
        self.fail_times, self.sent = fail_times, []

    def create_batch(self, *, partition_key=None):
        return EventDataBatch(partition_key=partition_key)

    def send_batch(self, batch):
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("link detached")
        self.sent.append(batch)

    def close(self):
        pass


def test_eventhub_sender_keys_a_tick_by_its_edge_and_a_1_0_message_by_its_tenant():
    producer = StandInProducer()
    made = []
    sender = EventHubSender(
        CONN,
        "events",
        client_factory=lambda c, eventhub_name, **retry: made.append((c, eventhub_name)) or producer,
    )
    sender.send(
        [
            {"type": "hls.tick", "host": "edge-1", "time": "2027-01-15T08:00:00Z", "tenants": {}},
            {"type": "hls.tick", "host": "edge-1", "time": "2027-01-15T08:00:00Z", "tenants": {}},
            {"type": "hls.listeners", "tenant": "metro-kids", "time": "2027-01-15T08:00:00Z", "listeners": 1},
        ]
    )
    assert made == [(CONN, "events")]
    assert [(b._partition_key, len(b)) for b in producer.sent] == [("edge-1", 2), ("metro-kids", 1)]


def test_eventhub_sender_sends_a_full_batch_and_goes_on():
    producer = StandInProducer()
    producer.create_batch = lambda *, partition_key=None: EventDataBatch(
        max_size_in_bytes=2_000, partition_key=partition_key
    )
    sender = EventHubSender(CONN, "events", client_factory=lambda c, eventhub_name, **retry: producer)
    tenants = {f"s-{i}": {"listeners": i} for i in range(40)}
    sender.send([{"type": "hls.tick", "host": "e", "time": "t", "tenants": dict([kv])} for kv in tenants.items()])
    assert len(producer.sent) > 1
    got = {}
    for batch in producer.sent:
        for data in batch._internal_events:
            got.update(json.loads(data.body_as_str())["tenants"])
    assert got == tenants


def test_the_sdk_retries_and_a_send_it_gave_up_on_fails_the_tick_not_the_agent():
    """Issue 39.4: no loop of ours around the SDK's retries (up to 12 tries): the real client
    carries the retry policy, and what it gives up on is one failed tick."""
    real = EventHubSender(CONN, "events")
    try:
        assert (real.client._config.retry_total, real.client._config.backoff_factor) == (2, 0.5)
        assert real.client._config.backoff_max == 4
    finally:
        real.close()
    producer = StandInProducer(fail_times=10)
    sender = EventHubSender(CONN, "events", client_factory=lambda c, eventhub_name, **retry: producer)
    with pytest.raises(SendFailed, match="edge-9"):
        sender.send([{"type": "hls.tick", "host": "edge-9", "time": "t", "tenants": {}}])
    agent = Agent(
        config=AgentConfig(tenants=("acme-fm",)),
        sender=sender,
        query=lambda s, l: "# table: t, type: string, size:1, used:1\n0x1: key=acme-fm|x use=0 exp=1\n",
    )
    assert agent.tick() is None


def test_config_file_and_environment(tmp_path):
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({"socket": "/run/haproxy/x.sock", "tenants": ["acme-fm"], "interval_seconds": 5}))
    config = load({"HAPROXY_TABLE": "hls2", "EVENTHUB_CONNECTION": CONN, "EVENTHUB_NAME": "events"}, str(path))
    assert (config.socket, config.table, config.tenants, config.interval_seconds) == (
        "/run/haproxy/x.sock",
        "hls2",
        ("acme-fm",),
        5.0,
    )
    assert "SharedAccessKey" not in repr(config)
    with pytest.raises(ConfigError, match="EVENTHUB_CONNECTION"):
        load({}, None)
    path.write_text(json.dumps({"sokket": "x"}))
    with pytest.raises(ConfigError, match="unknown keys"):
        load({}, str(path), need_eventhub=False)


@pytest.mark.parametrize(
    "variable,key,value",
    [
        ("AGENT_INTERVAL_SECONDS", "interval_seconds", "0.1"),
        ("AGENT_SEGMENT_SECONDS", "segment_seconds", "soon"),
        ("AQH_MIN_SECONDS", "aqh_seconds", "901"),
        ("HAPROXY_TABLE", "table", "a table"),
        ("AGENT_HOST", "host", "10.0.0.1"),
        ("AGENT_TENANTS", "tenants", "a b"),
        ("AGENT_ANY_TENANT", "any_tenant", "maybe"),
    ],
)
def test_a_bad_setting_is_named_by_its_variable_from_the_file_or_the_environment(tmp_path, variable, key, value):
    """Issue 39: the edge reads its settings with the app's reader: one ConfigError whose
    ``setting`` is the variable to fix, whether the value came from --config or the environment;
    the command exits 2 for it, as the app's CLI does."""
    from haproxy_agent.__main__ import main

    base = {"AGENT_TENANTS": "acme-fm", "EVENTHUB_CONNECTION": CONN, "EVENTHUB_NAME": "events", "AGENT_HOST": "e1"}
    path = tmp_path / "agent.json"
    path.write_text(json.dumps({key: value}))
    for env, file in (({**base, variable: value}, None), ({k: v for k, v in base.items() if k != variable}, path)):
        with pytest.raises(ConfigError) as caught:
            load(env, str(file) if file else None)
        assert caught.value.setting == variable and list(caught.value.problems) == [variable]
    assert main(["--config", str(path), "--once"]) == 2
