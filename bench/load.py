"""Load: 200,000 events through eventhub_to_redis; icecast_poller over a real Icecast with 200
mounts. Each in a fresh process, reporting throughput and peak memory (growth of max RSS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import HWM_SNIPPET, Row

ROOT = Path(__file__).resolve().parent.parent

EVENTS = (
    HWM_SNIPPET
    + r"""
import resource, sys, time
sys.path.insert(0, sys.argv[2])
from tests.eventhub_to_redis.test_function import batch, iso
import eventhub_to_redis
from bench.eventhub import per_event_loop
import redis
url, mode, total = sys.argv[1], sys.argv[3], int(sys.argv[4])
env = {"REDIS_URL": url, "REDIS_KEY_PREFIX": "load" + mode, "IDENTITY_HASH_KEY": "bench-key-0123456789abcdef",
       "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
bodies = [{"tenant": f"load-{i % 40}", "type": "app.play", "time": iso(i % 3600)} for i in range(1000)]
client = redis.Redis.from_url(url, decode_responses=True)
t = time.perf_counter()
for start in range(0, total, 1000):
    events = batch(bodies, partition="0", first_sequence=start)
    if mode == "ours":
        eventhub_to_redis.run(events, env=env)
    else:
        per_event_loop(client, "loadnaive", events)
print(total / (time.perf_counter() - t), hwm_kib() / 1024)
"""
)

REPLAY = (
    HWM_SNIPPET
    + r"""
import argparse, datetime as dt, json, os, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
url, mode, total = sys.argv[1], sys.argv[3], int(sys.argv[4])
env = {"REDIS_URL": url, "REDIS_KEY_PREFIX": "replay" + mode, "IDENTITY_HASH_KEY": "bench-key-0123456789abcdef",
       "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
now = dt.datetime.now(dt.timezone.utc)
path = os.path.join(tempfile.mkdtemp(), "replay.jsonl")
with open(path, "w") as out:
    for i in range(total):
        when = (now - dt.timedelta(milliseconds=i)).isoformat()
        out.write(json.dumps({"tenant": f"r-{i % 50}", "type": "app.play", "time": when, "station": "acme"}) + "\n")
base = hwm_kib()
t = time.perf_counter()
if mode == "ours":
    from eventhub_to_redis.cli import invoke
    report = invoke(argparse.Namespace(input=path), env=env)
    assert report.ok
else:  # the pre-streaming reader: the whole file, every line an event, one batch
    import eventhub_to_redis
    from tests.eventhub_to_redis.test_function import batch
    lines = open(path, encoding="utf-8").read().splitlines()
    eventhub_to_redis.run(batch([line.encode() for line in lines], partition="replay"), env=env)
print(total / (time.perf_counter() - t), hwm_kib() / 1024, os.path.getsize(path) / 2**20)
"""
)

ICECAST = (
    HWM_SNIPPET
    + r"""
import json, resource, statistics, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from devstack.icecast import Icecast
import icecast_poller
from icecast_poller.fetch import fetch_listclients, fetch_stats
from icecast_poller.settings import IcecastServer
from shared.clients.http import make_session
url = sys.argv[1]
with Icecast(Path(tempfile.mkdtemp())) as ice:
    mounts = [f"/m{i}.mp3" for i in range(200)]
    with ThreadPoolExecutor(50) as pool:
        list(pool.map(ice.add_source, mounts))
        list(pool.map(lambda i: ice.add_listener(mounts[i], user_agent="VLC/3.0.20",
                                                 address=f"127.0.{1 + i // 250}.{2 + i % 250}"), range(200)))
    ice.wait_for_listeners()
    tenants = {f"t{k}": {"icecast": {"mounts": mounts[k * 10:(k + 1) * 10]}} for k in range(20)}
    env = {"REDIS_URL": url, "IDENTITY_HASH_KEY": "bench-key-0123456789abcdef", "TENANTS": json.dumps(tenants),
           "ICECAST_SERVERS": json.dumps([{"url": ice.url, "password": "hackme-admin"}])}
    icecast_poller.run(env=env)
    times = []
    for _ in range(5):
        t = time.perf_counter(); report = icecast_poller.run(env=env); times.append(time.perf_counter() - t)
        assert report.ok
    grow = hwm_kib() / 1024
    server = IcecastServer("ice", ice.url, "admin", "hackme-admin")
    session = make_session()
    serial = []
    for _ in range(3):
        t = time.perf_counter()
        for m in fetch_stats(session, server, time.monotonic() + 60).mounts:
            fetch_listclients(session, server, m.mount, lambda x: x, time.monotonic() + 60)
        serial.append(time.perf_counter() - t)
print(statistics.median(times) * 1000, statistics.median(serial) * 1000, grow)
"""
)


def _run(script: str, *args: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, cwd=ROOT)
    return [float(x) for x in out.stdout.split()]


def run(redis_url: str) -> list[Row]:
    ours, ours_mb = _run(EVENTS, redis_url, str(ROOT), "ours", "200000")
    naive, naive_mb = _run(EVENTS, redis_url, str(ROOT), "naive", "20000")
    ice_ms, serial_ms, ice_mb = _run(ICECAST, redis_url, str(ROOT))
    replay, replay_mb, file_mb = _run(REPLAY, redis_url, str(ROOT), "ours", "1000000")
    whole, whole_mb, whole_file_mb = _run(REPLAY, redis_url, str(ROOT), "whole", "200000")
    return [
        Row(
            "load",
            f"replay --input, 1,000,000-line file ({file_mb:.0f} MiB), peak RSS",
            replay_mb,
            whole_mb,
            "MiB",
            f"reading the whole file as one batch (200,000 lines, {whole_file_mb:.0f} MiB)",
            higher_is_better=False,
            note=f"streamed in batches of 100: {replay:,.0f} events/s (whole-file reader: {whole:,.0f} events/s); "
            "peak RSS stays flat as the file grows",
        ),
        Row(
            "load",
            "eventhub_to_redis, 200,000 events in batches of 1,000",
            ours,
            naive,
            "events/s",
            "per-event loop (over 20,000 events)",
            note=f"peak RSS {ours_mb:.0f} MiB (the per-event loop: {naive_mb:.0f} MiB), interpreter included",
        ),
        Row(
            "load",
            "icecast_poller, real Icecast, 200 mounts x 1 listener, 20 tenants",
            ice_ms,
            serial_ms,
            "ms per run",
            "the same requests one after another",
            higher_is_better=False,
            note=f"peak RSS {ice_mb:.0f} MiB, including the Icecast clients the benchmark runs in the same "
            "process; the run includes the Redis write",
        ),
    ]
