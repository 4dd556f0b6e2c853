"""Issue 24: a real edge in miniature. HAProxy logs to a real rsyslogd running the shipped rule,
Debian's logrotate runs the shipped config with its reopen hook, ship-logs ships to Azurite;
every numbered request is accounted for, once, and nothing identifying leaves the host."""

import datetime as dt
import gzip
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import urllib3

from devstack.azurite import ACCOUNT, KEY, connection_string
from devstack.process import free_port
from haproxy_agent.access_log import client_hash
from haproxy_agent.ship_config import derive_logs_key
from shared.privacy.identity import IdentityHasher
from tests.conftest import ROOT, TEST_HASH_KEY, _start

LOGS_KEY = derive_logs_key(TEST_HASH_KEY)
HASHER = IdentityHasher(LOGS_KEY.encode())
ADDRESSES = ["127.0.7.2", "127.0.7.3", "127.0.7.4"]
NUMBER = re.compile(r"/seg(\d+)\.ts")


@pytest.fixture
def edge(tmp_path):
    """rsyslogd with the shipped rule, and HAProxy logging to its socket as to /dev/log."""
    from devstack.haproxy import HAProxy
    from devstack.rsyslog import Rsyslog

    syslog = _start(lambda: Rsyslog(tmp_path / "rsyslog").start())
    proxy = _start(lambda: HAProxy(tmp_path / "haproxy", log_socket=syslog.socket).start())
    pools = [urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, source_address=(a, 0), maxsize=1) for a in ADDRESSES]
    yield syslog, proxy, pools
    proxy.stop()
    syslog.stop()


def send(pools, numbers):
    for n in numbers:
        pools[n % len(pools)].request(
            "GET",
            f"/acme-fm/live/seg{n}.ts?token=s3cret{n}",
            headers={"User-Agent": "VLC/3.0.18 LibVLC/3.0.18", "X-Forwarded-For": "198.51.100.77"},
        )


def env_for(azurite_server, key_prefix, tmp_path, **more):
    return {
        "LOGS_STORAGE_CONNECTION": connection_string(azurite_server.port),
        "LOGS_CONTAINER": f"l{key_prefix.lower()}",
        "LOGS_SALT_CONTAINER": f"s{key_prefix.lower()}",
        "AGENT_HOST": "edge-1",
        "LOGS_HASH_KEY": LOGS_KEY,
        "AGENT_STATE_DIR": str(tmp_path / "state"),
        "LOGS_SETTLE_SECONDS": "2",
        **more,
    }


def container_for(env, *, create=True, name="LOGS_CONTAINER"):
    """The logs container (or the salts'); ``create``: both made, as the deploy step makes them."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(
        connection_string(int(re.search(r"127\.0\.0\.1:(\d+)", env["LOGS_STORAGE_CONNECTION"])[1]))
    )
    if create:
        for made in (env["LOGS_CONTAINER"], env["LOGS_SALT_CONTAINER"]):
            if not service.get_container_client(made).exists():
                service.get_container_client(made).create_container()  # ship-logs never creates them
    return service.get_container_client(env[name])


def day_hasher(env, second):
    """The hasher of the UTC day of ``second``, from that day's salt as the edges share it."""
    day = dt.datetime.fromtimestamp(second, dt.timezone.utc).date().isoformat()
    salt = bytes.fromhex(container_for(env, name="LOGS_SALT_CONTAINER").download_blob(f"{day}.salt").readall().decode())
    return IdentityHasher(hmac.new(LOGS_KEY.encode(), b"fabrik-daily-salt-v1\x00" + salt, hashlib.sha256).digest())


def records(env):
    container = container_for(env)
    out = {}
    for blob in container.list_blobs():
        if blob.name.startswith("_"):
            continue
        out[blob.name] = [
            json.loads(l) for l in gzip.decompress(container.download_blob(blob.name).readall()).decode().splitlines()
        ]
    return out


def ship(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "haproxy_agent", "ship-logs", *map(str, args)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def logrotate(tmp_path, log, pidfile, *, reopen=True):
    # Rotated names carry the second: two rotations in one second would collide. Wait for the
    # next whole second (a condition on the clock, however slow the machine).
    next_second = int(time.time()) + 1
    while time.time() < next_second:
        time.sleep(0.01)
    conf = (ROOT / "haproxy_agent" / "logrotate-fabrik-hls.conf").read_text()
    conf = conf.replace("/var/log/fabrik-hls/haproxy-hls.log", str(log)).replace("/run/rsyslogd.pid", str(pidfile))
    conf = conf.replace(
        "/opt/fabrik-haproxy-agent/haproxy_agent/reopen-rsyslog",
        str(ROOT / "haproxy_agent" / "reopen-rsyslog") if reopen else "true",
    )
    path = tmp_path / "logrotate.conf"
    path.write_text(conf)
    os.chmod(path, 0o644)
    done = subprocess.run(
        ["logrotate", "-f", "-s", str(tmp_path / "logrotate.state"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def settle(log):
    """Date the rotated files an hour back, as if their writer had moved on long ago: a run then
    ships them to the end and marks them complete (no waiting out LOGS_SETTLE_SECONDS)."""
    old = time.time() - 3600
    for path in log.parent.glob(f"{log.name}-*"):
        os.utime(path, (old, old))


def written_numbers(directory):
    """The request numbers in rsyslog's files (current, rotated, compressed)."""
    return sorted(
        int(n)
        for p in (directory.iterdir() if directory.exists() else ())
        if p.name.startswith("haproxy-hls.log")
        for n in NUMBER.findall((gzip.open if p.suffix == ".gz" else open)(p, "rt").read())
    )


def wait_for_lines(directory, count, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        seen = len(written_numbers(directory))
        if seen >= count or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def dropped_logs(proxy) -> int:
    """HAProxy's own count of log lines it could not send: the syslog socket's queue was full."""
    from haproxy_agent.runtime_api import command

    info = command(proxy.socket, "show info")
    return int(re.search(r"^DroppedLogs: (\d+)$", info, re.M)[1])


def shipped_numbers(env):
    found = [
        int(NUMBER.search(r["path"])[1])
        for rs in records(env).values()
        for r in rs
        if "path" in r and NUMBER.search(r["path"])
    ]
    return sorted(found)


def test_every_line_written_by_rsyslog_is_shipped_once_across_rotations(edge, azurite_server, key_prefix, tmp_path):
    syslog, proxy, pools = edge
    env = env_for(azurite_server, key_prefix, tmp_path)
    container_for(env)
    pattern = f"{syslog.log_file}-*"
    sent = 0
    for _ in range(4):  # requests keep coming while logrotate renames and rsyslog reopens
        send(pools, range(sent, sent + 150))
        sent += 150
        logrotate(tmp_path, syslog.log_file, syslog.pidfile)
        assert ship(env, pattern).returncode == 0
    send(pools, range(sent, sent + 50))
    sent += 50
    # HAProxy never blocks on its log socket: in a burst that outruns rsyslog (Linux queues 10
    # datagrams per socket by default) it drops lines and counts them. Those are the only ones
    # allowed to be missing; every line rsyslog wrote must be shipped, once.
    missing = sent - wait_for_lines(syslog.log_file.parent, sent)
    assert missing <= dropped_logs(proxy)
    written = written_numbers(syslog.log_file.parent)
    settle(syslog.log_file)  # every file settled: the last run marks them complete
    logrotate(tmp_path, syslog.log_file, syslog.pidfile)
    assert ship(env, pattern).returncode == 0
    deadline = time.monotonic() + 60  # on a loaded machine rsyslog may write its last lines late
    while True:
        settle(syslog.log_file)  # a file rsyslog wrote to since is fresh again, and waits
        done = ship(env, pattern)
        assert done.returncode == 0, done.stderr
        pending = json.loads((tmp_path / "state" / "status.json").read_text())["files_pending"]
        if pending == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert shipped_numbers(env) == written  # none lost, none twice
    assert len(written) == sent - missing
    stored = records(env)
    text = json.dumps(stored)
    for secret in [*ADDRESSES, "198.51.100.77", "s3cret", "token"]:
        assert secret not in text
    for name, rows in stored.items():  # each record in its own hour's blob
        hour = re.search(r"date=(\d{4}-\d\d-\d\d)/hour=(\d\d)/", name)
        assert all(r["time"].startswith(f"{hour[1]}T{hour[2]}:") for r in rows), name
        requests = [r for r in rows if r["path"] != "*"]  # "*": the readiness probe's connect, a <BADREQ>
        hasher = day_hasher(env, dt.datetime.fromisoformat(rows[0]["time"]).timestamp())
        assert all(
            r["format"] == "fabrik" and r["client"] in {client_hash(a, hasher) for a in ADDRESSES} for r in requests
        )
    assert not (syslog.other_file.exists() and "fabrik-hls" in syslog.other_file.read_text())  # "& stop"
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert status["files_pending"] == 0 and status["lines_unparsed"] == 0


def test_lines_appended_to_a_rotated_file_without_a_reopen_are_shipped_later(
    edge, azurite_server, key_prefix, tmp_path
):
    syslog, _proxy, pools = edge
    env = env_for(azurite_server, key_prefix, tmp_path)
    container_for(env)
    send(pools, range(0, 40))
    assert wait_for_lines(syslog.log_file.parent, 40) == 40
    logrotate(tmp_path, syslog.log_file, syslog.pidfile, reopen=False)  # rsyslog keeps the renamed file open
    assert ship(env, f"{syslog.log_file}-*").returncode == 0
    send(pools, range(40, 80))  # ... and goes on appending to it
    assert wait_for_lines(syslog.log_file.parent, 80) == 80
    settle(syslog.log_file)
    assert ship(env, f"{syslog.log_file}-*").returncode == 0
    assert shipped_numbers(env) == list(range(80))


def test_a_container_sas_with_create_and_write_only_is_enough(azurite_server, key_prefix, tmp_path):
    """The logs container: create and write only (the edge cannot read what it shipped); the
    salts container, through LOGS_SALT_CONNECTION: what sharing and deleting salts needs."""
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    env = env_for(azurite_server, key_prefix, tmp_path)
    second = int(time.time())
    log = tmp_path / "haproxy-hls.log-2026112910"
    log.write_text(
        "".join(
            f'fabrik-hls {second}.{i:03d} 203.0.113.{i} 200 10 4 acme-fm "/acme-fm/live/seg{i}.ts" "VLC" ""\n'
            for i in range(30)
        )
    )

    def sas_for(container, **rights):
        sas = generate_container_sas(
            ACCOUNT,
            container,
            account_key=KEY,
            permission=ContainerSasPermissions(**rights),
            expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
        )
        return f"BlobEndpoint=http://127.0.0.1:{azurite_server.port}/{ACCOUNT};SharedAccessSignature={sas}"

    env["LOGS_STORAGE_CONNECTION"] = sas_for(env["LOGS_CONTAINER"], create=True, write=True)
    env["LOGS_SALT_CONNECTION"] = sas_for(
        env["LOGS_SALT_CONTAINER"], read=True, create=True, write=True, delete=True, list=True
    )
    missing = ship(env, log)  # the containers were never created: the run says what to do
    assert missing.returncode == 1 and "ContainerNotFound" in missing.stderr and "deploy" in missing.stderr
    container_for(env)
    check = ship(env, "--check")
    assert check.returncode == 0 and "fingerprint" in check.stdout and "salt" in check.stdout, check.stderr
    assert ship(env, log).returncode == 0 and shipped_numbers(env) == list(range(30))


def test_a_storage_outage_costs_one_failure_and_unshipped_files_are_kept_and_counted(
    azurite_server, key_prefix, tmp_path
):
    files = []
    for hour in range(3):
        log = tmp_path / f"haproxy-hls.log-202611291{hour}"
        log.write_text(
            "".join(
                f"fabrik-hls {1795980000 + hour * 3600}.{i:03d} 203.0.113.9 200 10 4 acme-fm "
                f'"/acme-fm/live/seg{hour * 100 + i}.ts" "VLC" ""\n'
                for i in range(10)
            )
        )
        old = time.time() - 3 * 3600
        os.utime(log, (old, old))
        files.append(log)
    dead_port = free_port()
    dead = env_for(
        azurite_server,
        key_prefix,
        tmp_path,
        LOGS_KEEP_HOURS="1",
        LOGS_STORAGE_CONNECTION=(
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{dead_port}/{ACCOUNT};"
        ),
    )
    failed = ship(dead, f"{tmp_path}/haproxy-hls.log-*")
    assert failed.returncode == 1
    assert failed.stderr.count("connection refused") == 1 and failed.stderr.count("not tried:") == 2, failed.stderr
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert status["files_pending"] == 3 and status["oldest_pending"].endswith("-2026112910")
    assert f"127.0.0.1:{dead_port}" in status["last_error"]
    assert all(f.exists() for f in files)  # never deleted unshipped
    good = env_for(azurite_server, key_prefix, tmp_path, LOGS_KEEP_HOURS="1")
    container_for(good)
    assert ship(good, f"{tmp_path}/haproxy-hls.log-*").returncode == 0
    assert shipped_numbers(good) == [h * 100 + i for h in range(3) for i in range(10)]
    assert not any(f.exists() for f in files)  # shipped completely and older than LOGS_KEEP_HOURS: pruned
    assert json.loads((tmp_path / "state" / "status.json").read_text())["files_pending"] == 0


def test_a_file_of_mostly_unparsed_lines_fails_the_run_and_ships_no_text(azurite_server, key_prefix, tmp_path):
    env = env_for(azurite_server, key_prefix, tmp_path)
    container_for(env)
    log = tmp_path / "haproxy-hls.log-2026112911"
    log.write_text(
        "".join(
            f"Nov 29 11:0{i % 10}:00 edge1 haproxy[1]: Connect from 203.0.113.{i} to alice@x.org\n" for i in range(30)
        )
    )
    done = ship(env, log)
    assert done.returncode == 1 and "could not be parsed" in done.stderr
    rows = [r for rs in records(env).values() for r in rs]
    assert len(rows) == 30 and all(set(r) == {"time", "host", "unparsed", "chars"} for r in rows)
    assert all(r["time"].startswith(f"{dt.date.today().year}-11-29T11:") for r in rows)  # the header's hour


def test_the_edge_key_is_derived_as_documented_and_never_the_apps(tmp_path):
    openssl = subprocess.run(
        f"printf %s fabrik-logs-hash-key-v1 | openssl dgst -sha256 -hmac '{TEST_HASH_KEY}' -binary | base64",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    derived = subprocess.run(
        [sys.executable, "-m", "haproxy_agent", "derive-logs-key"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "IDENTITY_HASH_KEY": TEST_HASH_KEY},
        capture_output=True,
        text=True,
    )
    assert derived.stdout.strip() == openssl.stdout.strip() == LOGS_KEY
    same = ship(
        {
            "LOGS_STORAGE_CONNECTION": "UseDevelopmentStorage=true",
            "LOGS_HASH_KEY": TEST_HASH_KEY,
            "IDENTITY_HASH_KEY": TEST_HASH_KEY,
            "AGENT_STATE_DIR": str(tmp_path),
        },
        tmp_path / "x.log",
    )
    assert same.returncode == 2 and "is the app's IDENTITY_HASH_KEY itself" in same.stderr
    none = ship({"AGENT_STATE_DIR": str(tmp_path)}, tmp_path / "x.log")
    assert none.returncode == 2 and "LOGS_STORAGE_CONNECTION" in none.stderr and "LOGS_HASH_KEY" in none.stderr


def test_a_quoted_key_in_the_env_file_hashes_as_the_unquoted_one(azurite_server, key_prefix, tmp_path):
    env = env_for(azurite_server, key_prefix, tmp_path)
    container_for(env)
    log = tmp_path / "haproxy-hls.log-2026112912"
    second = int(time.time())  # today: its salt is shared (an older day's is of the run only)
    log.write_text(f'fabrik-hls {second}.000 203.0.113.5 200 10 4 acme-fm "/acme-fm/live/seg1.ts" "VLC" ""\n')
    key = env.pop("LOGS_HASH_KEY")
    (tmp_path / "ship-logs.env").write_text(f'# written by hand\nLOGS_HASH_KEY = "{key}"\n')
    done = ship(env, "--env-file", tmp_path / "ship-logs.env", log)
    assert done.returncode == 0, done.stderr
    expected = client_hash("203.0.113.5", day_hasher(env, second))
    assert [r["client"] for rs in records(env).values() for r in rs] == [expected]
    (tmp_path / "bad.env").write_text('LOGS_HASH_KEY="unterminated\n')
    bad = ship(env, "--env-file", tmp_path / "bad.env", log)
    assert bad.returncode == 2 and "line 1: LOGS_HASH_KEY" in bad.stderr


def test_haproxys_default_http_format_is_understood(tmp_path):
    """HAProxy's own `option httplog` format, from a real haproxy, parsed with the client hashed."""
    from devstack.haproxy import HAProxy
    from haproxy_agent.access_log import LineParser
    from tests.haproxy_agent.test_agent import fetch

    proxy = _start(lambda: HAProxy(tmp_path / "httplog", httplog=True).start())
    try:
        fetch(proxy, "/acme-fm/live/index.m3u8", "127.0.8.2")
        deadline = time.monotonic() + 10
        while True:
            lines = [
                l
                for l in proxy.server.log.read_text(errors="replace").splitlines()
                if "fe_hls" in l and "index.m3u8" in l
            ]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        proxy.stop()
    text, second, parsed = LineParser(lambda day: HASHER, "edge-1").parse(lines[0])
    record = json.loads(text)
    assert parsed and second and record["format"] == "httplog", lines[0]
    assert (record["client"], record["tenant"], record["path"], record["status"]) == (
        client_hash("127.0.8.2", HASHER),
        "acme-fm",
        "/acme-fm/live/index.m3u8",
        200,
    )
    assert "127.0.8.2" not in text


def test_rsyslogs_traditional_template_parses_too(tmp_path):
    """The same lines through rsyslog's RSYSLOG_TraditionalFileFormat (no year, no zone): every line
    parses, to the time HAProxy wrote in it."""
    from devstack.haproxy import HAProxy
    from devstack.rsyslog import Rsyslog
    from haproxy_agent.access_log import LineParser

    syslog = _start(lambda: Rsyslog(tmp_path / "rsyslog", template="RSYSLOG_TraditionalFileFormat").start())
    try:
        proxy = _start(lambda: HAProxy(tmp_path / "haproxy", log_socket=syslog.socket).start())
        try:
            send([urllib3.HTTPConnectionPool("127.0.0.1", proxy.port)], range(5))
            assert wait_for_lines(syslog.log_file.parent, 5) == 5
        finally:
            proxy.stop()
    finally:
        syslog.stop()
    lines = syslog.log_file.read_text().splitlines()
    assert lines and all(re.match(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ", line) for line in lines)
    parser = LineParser(lambda day: HASHER, "edge-1")
    parsed = [parser.parse(line) for line in lines]
    assert all(ok for _text, _second, ok in parsed)
    numbers = sorted(
        int(NUMBER.search(json.loads(text)["path"])[1])
        for text, _s, _ok in parsed
        if NUMBER.search(json.loads(text)["path"])
    )
    assert numbers == list(range(5))
    assert all(abs(second - time.time()) < 120 for _text, second, _ok in parsed)


QLEN = Path("/proc/sys/net/unix/max_dgram_qlen")


def _stalled_burst(tmp_path, qlen: int) -> tuple[int, int]:
    """``(lines rsyslog wrote, lines HAProxy dropped)`` for 100 requests sent while rsyslog is
    stopped, with Unix sockets created under ``net.unix.max_dgram_qlen = qlen``."""
    from devstack.haproxy import HAProxy
    from devstack.rsyslog import Rsyslog

    before = QLEN.read_text()
    QLEN.write_text(str(qlen))
    try:
        syslog = _start(lambda: Rsyslog(tmp_path / f"rsyslog-{qlen}").start())
    finally:
        QLEN.write_text(before)
    proxy = _start(lambda: HAProxy(tmp_path / f"haproxy-{qlen}", log_socket=syslog.socket).start())
    try:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, maxsize=1)
        pid = int(syslog.pidfile.read_text())
        os.kill(pid, signal.SIGSTOP)  # rsyslog busy: a rotation, a slow disk
        try:
            for n in range(100):
                pool.request("GET", f"/acme-fm/live/seg{n}.ts")
        finally:
            os.kill(pid, signal.SIGCONT)
        return wait_for_lines(syslog.log_file.parent, 100, timeout=5), dropped_logs(proxy)
    finally:
        proxy.stop()
        syslog.stop()


def test_the_shipped_sysctl_keeps_haproxy_from_dropping_lines_while_rsyslog_stalls(tmp_path):
    shipped = (ROOT / "haproxy_agent" / "sysctl-fabrik-hls.conf").read_text()
    qlen = int(re.search(r"^net\.unix\.max_dgram_qlen = (\d+)$", shipped, re.M)[1])
    written, dropped = _stalled_burst(tmp_path, 10)  # Linux's default
    assert written < 100 and written + dropped >= 100  # lost before rsyslog, and counted by HAProxy
    assert _stalled_burst(tmp_path, qlen) == (100, 0)
