"""Issue 20: HAProxy writing its log with the shipped format, Debian's logrotate running the
shipped snippet with its post-rotate hook, Azurite receiving the blobs; every address hashed."""
import gzip
import json
import os
import re
import subprocess
import sys
import time

import pytest
import urllib3

from devstack.azurite import connection_string
from devstack.process import free_port
from shared.identity import IdentityHasher
from tests.conftest import ROOT, TEST_HASH_KEY, _start
from tests.haproxy_agent.test_agent import fetch

ADDRESSES = ["127.0.7.2", "127.0.7.3", "127.0.7.4"]
FORWARDED = "198.51.100.77, 2001:db8::77"


@pytest.fixture(scope="module")
def access_lines(tmp_path_factory):
    """Real log lines of the shipped log-format, from a real haproxy."""
    from devstack.haproxy import HAProxy

    proxy = _start(lambda: HAProxy(tmp_path_factory.mktemp("haproxy-log")).start())
    try:
        for i, address in enumerate(ADDRESSES):
            pool = urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, source_address=(address, 0))
            pool.request("GET", f"/acme-fm/live/seg{i}.ts", headers={"User-Agent": 'VLC/3.0 "quoted"',
                                                                     "X-Forwarded-For": FORWARDED})
        fetch(proxy, "/metro-kids/hls/index.m3u8", "::1" if False else "127.0.7.5")
        deadline = time.monotonic() + 10
        while True:
            lines = [l for l in proxy.server.log.read_text(errors="replace").splitlines() if l.startswith("fabrik-hls ")]
            if len(lines) >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(lines) >= 4, proxy.server.log.read_text()[-2000:]
        return lines
    finally:
        proxy.stop()


def env_for(azurite_server, key_prefix, tmp_path, **more):
    return {"LOGS_STORAGE_CONNECTION": connection_string(azurite_server.port), "LOGS_CONTAINER": f"l{key_prefix.lower()}",
            "AGENT_HOST": "edge-1", "IDENTITY_HASH_KEY": TEST_HASH_KEY, "AGENT_STATE_DIR": str(tmp_path / "state"), **more}


def blobs(env):
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(env["LOGS_STORAGE_CONNECTION"]).get_container_client(
        env["LOGS_CONTAINER"])
    if not container.exists():
        return {}
    return {b.name: gzip.decompress(container.download_blob(b.name).readall()) for b in container.list_blobs()}


def ship(env, *files):
    return subprocess.run([sys.executable, "-m", "haproxy_agent", "ship-logs", *map(str, files)], cwd=ROOT,
                          env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=120)


def test_logrotate_runs_the_shipped_snippet_and_every_address_is_hashed(access_lines, azurite_server, key_prefix,
                                                                         tmp_path):
    env = env_for(azurite_server, key_prefix, tmp_path)
    log = tmp_path / "haproxy-hls.log"
    hostile = ["fabrik-hls 1795860900.123 203.0.113.99 200 18800 41 acme-fm \"/acme-fm/live/seg",  # truncated
               "\x00\xff\xfe binary 203.0.113.98 garbage",
               "fabrik-hls 1795860901.000 2001:db8::99 200 10 3 acme-fm \"/acme-fm/x.ts\" \"curl\" \"\"",
               "x" * 10_000_000 + " 203.0.113.97"]
    log.write_bytes(("\n".join(access_lines + hostile) + "\n").encode("utf-8", "surrogateescape"))
    (tmp_path / "agent.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    snippet = (ROOT / "haproxy_agent" / "logrotate-fabrik-hls").read_text()
    snippet = snippet.replace("/var/log/haproxy-hls.log", str(log))
    snippet = snippet.replace("[ -x /usr/lib/rsyslog/rsyslog-rotate ] && /usr/lib/rsyslog/rsyslog-rotate || true", "true")
    snippet = snippet.replace("cd /opt/fabrik-haproxy-agent && .venv/bin/python", f"cd {ROOT} && {sys.executable}")
    snippet = snippet.replace("/etc/fabrik/haproxy-agent.env", str(tmp_path / "agent.env"))
    snippet = snippet.replace("/var/log/fabrik-ship-logs.log", str(tmp_path / "ship.log"))
    conf = tmp_path / "logrotate.conf"
    conf.write_text(snippet)
    os.chmod(conf, 0o644)
    done = subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "logrotate.state"), str(conf)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "ship.log").read_text()
    assert re.search(r"\d+ lines \(3 not parsed, kept hashed\) -> \d+ blobs uploaded", report), report
    stored = blobs(env)
    assert stored and all(re.fullmatch(r"host=edge-1/date=\d{4}-\d\d-\d\d/hour=\d\d/edge-1-\d{8}T\d{6}Z-[0-9a-f]{12}"
                                       r"\.jsonl\.gz", name) for name in stored), list(stored)
    everything = b"".join(stored.values()).decode("utf-8")
    for raw in [*ADDRESSES, "127.0.7.5", "198.51.100.77", "2001:db8::77", "203.0.113.99", "203.0.113.98",
                "2001:db8::99", "203.0.113.97"]:
        assert raw not in everything, raw
    records = [json.loads(line) for data in stored.values() for line in data.decode().splitlines()]
    hasher = IdentityHasher(TEST_HASH_KEY.encode())
    parsed = [r for r in records if r.get("format") == "fabrik"]
    assert {r["client"] for r in parsed} >= {hasher.hash_ip(a) for a in ADDRESSES}  # the collectors' hash
    seg = next(r for r in parsed if r["path"] == "/acme-fm/live/seg0.ts")
    assert seg["tenant"] == "acme-fm" and seg["status"] == 200 and seg["user_agent"] == 'VLC/3.0 "quoted"'
    assert seg["forwarded_for"] == [hasher.hash_ip("198.51.100.77"), hasher.hash_ip("2001:db8::77")]
    assert sum(1 for r in records if "unparsed" in r) == 3 and any(r.get("client") == hasher.hash_ip("2001:db8::99")
                                                                   for r in records)
    # the same rotated file again (the next hour's postrotate): skipped; even without the marker nothing is re-uploaded
    rotated = [p for p in tmp_path.iterdir() if p.name.startswith("haproxy-hls.log-")]
    assert ship(env, *rotated).returncode == 0 and set(blobs(env)) == set(stored)
    for marker in (tmp_path / "state" / "shipped").iterdir():
        marker.unlink()
    again = ship(env, *rotated)
    assert again.returncode == 0 and "0 blobs uploaded" in again.stderr and set(blobs(env)) == set(stored)


def test_a_failed_upload_exits_non_zero_and_the_next_run_ships_the_file(access_lines, azurite_server, key_prefix,
                                                                        tmp_path):
    log = tmp_path / "haproxy-hls.log-2026112810"
    log.write_text("\n".join(access_lines) + "\n")
    dead = env_for(azurite_server, key_prefix, tmp_path, LOGS_STORAGE_CONNECTION=(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"))
    failed = ship(dead, log)
    assert failed.returncode == 1 and "not shipped, left for the next run" in failed.stderr
    assert not (tmp_path / "state" / "shipped").exists()
    good = env_for(azurite_server, key_prefix, tmp_path)
    assert ship(good, log).returncode == 0 and blobs(good)


def test_settings_are_named(tmp_path):
    done = ship({"AGENT_STATE_DIR": str(tmp_path)}, tmp_path / "x.log")
    assert done.returncode == 2 and "LOGS_STORAGE_CONNECTION" in done.stderr and "IDENTITY_HASH_KEY" in done.stderr


def test_haproxys_default_http_format_is_understood(tmp_path):
    """HAProxy's own `option httplog` format, from a real haproxy, parsed with the client hashed."""
    from devstack.haproxy import HAProxy
    from haproxy_agent.access_log import parse

    proxy = _start(lambda: HAProxy(tmp_path / "httplog", httplog=True).start())
    try:
        fetch(proxy, "/acme-fm/live/index.m3u8", "127.0.8.2")
        deadline = time.monotonic() + 10
        while True:
            lines = [l for l in proxy.server.log.read_text(errors="replace").splitlines() if "fe_hls" in l
                     and "index.m3u8" in l]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        proxy.stop()
    hasher = IdentityHasher(TEST_HASH_KEY.encode())
    record, when = parse(lines[0], hasher)
    assert when is not None and record["format"] == "httplog", lines[0]
    assert (record["client"], record["tenant"], record["path"], record["status"]) == (
        hasher.hash_ip("127.0.8.2"), "acme-fm", "/acme-fm/live/index.m3u8", 200)
    assert "127.0.8.2" not in json.dumps(record)
