"""Issue 13: messages written by an attacker or a buggy producer, each case reproduced first.

Real Redis, real Azurite, real ``azure.functions.EventHubEvent`` objects.
"""

import json
import socket
import threading
import time

import pytest

import eventhub_to_redis
from devstack.azurite import connection_string
from shared.core.errors import RetriableError
from shared.core.tenants import parse_tenants
from tests.eventhub_to_redis import test_function
from tests.eventhub_to_redis.test_function import batch, deadletters, iso, store_of
from tests.helpers import ROOT, dump_redis, run_cli, write_settings


@pytest.fixture
def env(base_env, azurite_server, key_prefix):
    return {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
    }


def test_1_lone_surrogate_next_to_a_personal_field_costs_only_that_message(env, key_prefix):
    poison = ('{"tenant":"acme-fm","type":"app.x","time":"%s","ip":"203.0.113.13","title":"\\ud800"}' % iso(5)).encode()
    good = {"tenant": "acme-fm", "type": "app.play", "time": iso(4)}
    report = eventhub_to_redis.run(batch([poison, good]), env=env)
    assert report.outcomes["partition:0"].counts["deadlettered"] == 1
    store, client = store_of(env)
    assert [e.type for e in store.read_events("acme-fm")] == ["app.play"]
    letter = next(iter(deadletters(env).values()))
    assert "lone UTF-16 surrogate" in letter["reason"] and "203.0.113.13" not in json.dumps(letter)


def test_1_lone_surrogate_replayed_from_a_file_is_a_dead_letter_not_a_traceback(env, tmp_path):
    source = tmp_path / "poison.jsonl"
    source.write_text(
        '{"tenant":"acme-fm","type":"app.x","time":"%s","ip":"203.0.113.13","title":"\\ud800"}\n' % iso(5)
    )
    result = run_cli(
        "run", "eventhub_to_redis", "--input", str(source), settings=write_settings(tmp_path / "s.json", env)
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "deadlettered=1" in result.stdout


@pytest.mark.parametrize(
    "field,value",
    [
        ("type", "app.play\n"),
        ("tenant", "acme-fm\n"),
        ("tenant", "203.0.113.5"),
        ("type", "app.2001:db8::1"),
        ("type", "app.10.0.0.1"),
    ],
)
def test_2_names_are_whole_string_checks(env, field, value):
    without_tenants = {k: v for k, v in env.items() if k != "TENANTS"}
    body = {"tenant": "acme-fm", "type": "app.play", "time": iso(5), field: value}
    report = eventhub_to_redis.run(batch([body]), env=without_tenants)
    assert {
        k: v for k, v in report.outcomes["partition:0"].counts.items() if "enqueued" not in k and k != "lag_ms"
    } == {"events": 0, "hls": 0, "deadlettered": 1, "last_sequence": 100}
    _, client = store_of(env)
    assert value.strip() not in dump_redis(client, env["REDIS_KEY_PREFIX"]) or field == "type" and value == "app.play\n"


def test_2_tenants_refuses_a_name_a_key_cannot_carry():
    for name in ("acme-fm\n", "203.0.113.5", "acme fm"):
        with pytest.raises(ValueError, match="it is part of Redis keys"):
            parse_tenants(json.dumps({name: {}}))


def test_2_one_damaged_member_does_not_hide_a_tenants_log(env):
    eventhub_to_redis.run(batch([{"tenant": "acme-fm", "type": "app.play", "time": iso(5)}]), env=env)
    store, client = store_of(env)
    key = store.keys.events("acme-fm")
    client.zadd(key, {"not json\nbody": int(test_function.NOW.timestamp() * 1000)})
    assert [e.type for e in store.read_events("acme-fm")] == ["app.play"]


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_4_non_finite_numbers_are_refused(env, raw):
    body = b'{"tenant":"acme-fm","type":"app.x","time":"%s","score":%s}' % (iso(5).encode(), raw)
    report = eventhub_to_redis.run(batch([body]), env=env)
    assert report.outcomes["partition:0"].counts["deadlettered"] == 1
    assert "not JSON" in next(iter(deadletters(env).values()))["reason"]


def test_5_replay_lines_split_on_newline_only_and_bad_lines_are_dead_letters(env, tmp_path):
    lines = [
        json.dumps(
            {"tenant": "acme-fm", "type": "app.a", "time": iso(9), "title": "x\u2028y\u0085z"}, ensure_ascii=False
        ),
        "[" * 30_000,  # 2: nested too deep
        '{"tenant":"acme-fm","type":"app.b","time":"%s"}' % iso(8),
        '{"tenant":"acme-fm","type":"app.c","note":"\xff"}',  # 4: invalid UTF-8 (written below)
        '{"body":{"tenant":"acme-fm","type":"app.d","time":"%s"},"position":5}' % iso(7),
        '{"tenant":"acme-fm","type":"app.e","time":"%s"}' % iso(6),
    ]
    source = tmp_path / "hostile.jsonl"
    data = "\n".join(["[1,2]"] + lines).encode("utf-8").replace("\xff".encode("utf-8"), b"\xff")
    source.write_bytes(data + b"\n")
    result = run_cli(
        "run", "eventhub_to_redis", "--input", str(source), settings=write_settings(tmp_path / "s.json", env)
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    store, _ = store_of(env)
    events = store.read_events("acme-fm")
    assert sorted(e.type for e in events) == ["app.a", "app.b", "app.e"]
    assert json.loads(next(e for e in events if e.type == "app.a").body)["title"] == "x\u2028y\u0085z"
    assert {e.sequence for e in events} == {2, 4, 7}  # line numbers: nothing shifted
    reasons = {d["sequence_number"]: d["reason"] for d in deadletters(env).values()}
    assert set(reasons) == {1, 3, 5, 6}
    assert "expected a JSON object" in reasons[1] and "not JSON" in reasons[3]
    assert "not UTF-8" in reasons[5] and "line 6: position must be" in reasons[6]


def test_5_replay_is_read_in_host_sized_batches(tmp_path):
    from eventhub_to_redis.cli import BATCH_SIZE, read_batches

    host = json.loads((ROOT / "host.json").read_text())
    assert BATCH_SIZE == host["extensions"]["eventHubs"]["maxEventBatchSize"]
    source = tmp_path / "many.jsonl"
    source.write_text("".join('{"n":%d}\n' % i for i in range(2500)) + "garbage \xff\n")
    sizes = [(len(events), len(rejected)) for events, rejected in read_batches(source)]
    assert sizes == [(1000, 0), (1000, 0), (501, 0)]  # the last line is kept as sent, for check() to judge


def test_6_dead_letters_of_two_files_with_the_same_name_do_not_overwrite_each_other(env, tmp_path):
    settings = write_settings(tmp_path / "s.json", env)
    for folder in ("a" * 50, "b" * 50):
        (tmp_path / folder).mkdir()
        source = tmp_path / folder / "batch.jsonl"
        source.write_text('{"tenant":"acme-fm","type":"app.x"}\n')
        assert run_cli("run", "eventhub_to_redis", "--input", str(source), settings=settings).returncode == 0
    assert len(deadletters(env)) == 2


class DyingBlobService:
    """Answers container creation and the first uploads like Blob Storage, then resets every
    connection: storage that dies in the middle of a batch."""

    def __init__(self, healthy_requests: int):
        self.healthy, self.requests = healthy_requests, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            while True:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                self.requests += 1
                if self.requests > self.healthy:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return  # reset
                header, _, rest = head.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in header.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                while len(rest) < length:
                    rest += conn.recv(65536)
                status = b"201 Created"
                conn.sendall(
                    b"HTTP/1.1 " + status + b'\r\nContent-Length: 0\r\nETag: "0x1"\r\n'
                    b"Last-Modified: Sat, 28 Nov 2026 00:00:00 GMT\r\nx-ms-request-id: 1\r\n"
                    b"x-ms-version: 2025-01-05\r\n\r\n"
                )


def test_7_dead_letter_storage_dying_mid_batch_fails_the_batch_fast(env):
    service = DyingBlobService(healthy_requests=3)  # create container + 2 uploads
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{service.port}/devstoreaccount1;"
    )
    bad = [{"tenant": "acme-fm", "type": "app.x"} for _ in range(100)]
    started = time.monotonic()
    with pytest.raises(RetriableError):
        eventhub_to_redis.run(batch(bad), env={**env, "DEADLETTER_STORAGE_CONNECTION": conn})
    assert time.monotonic() - started < 60
    assert service.requests < 40  # stopped asking after the first failures, no retry storm


def test_9_a_new_consumer_group_starts_at_the_live_edge():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensions"]["eventHubs"]["initialOffsetOptions"]["type"] == "fromEnd"


def test_utf16_bodies_are_always_dead_letters(env):
    with_ip = json.dumps({"tenant": "acme-fm", "type": "app.x", "time": iso(3), "ip": "203.0.113.5"})
    plain = json.dumps({"tenant": "acme-fm", "type": "app.y", "time": iso(3)})
    report = eventhub_to_redis.run(batch([with_ip.encode("utf-16"), plain.encode("utf-16-le")]), env=env)
    assert report.outcomes["partition:0"].counts["deadlettered"] == 2
    assert all("internal error" not in d["reason"] for d in deadletters(env).values())
