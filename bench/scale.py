"""``make bench-scale``: the app as a platform of 5, 50, 500 and 1,000 stations (issue 35).

Every function runs in a fresh process against real local servers (``bench.scale_world``) and
is measured there (``bench.scale_run``); the month's bill comes from ``bench.scale_cost``. The
naive baseline, in the same run, is 1.0.0's Event Hub traffic: a message per tenant and edge
every 10 s, runs taking what arrived (host.json without a minimum batch).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import scale_cost as cost
from bench.scale_world import (
    EDGES,
    EVENTS_PER_STATION_S,
    Platform,
    eventhub_bodies,
    fill_table,
    start_icecasts,
    start_matomo,
)

ROOT = Path(__file__).resolve().parent.parent
SIZES = (5, 50, 500, 1000)
TOKEN = "f3c2d1e0b9a8c7d6e5f4a3b2c1d0e9f8"
VIEW_KEY = base64.b64encode(b"bench-view-signing-key-0123456789abcdef").decode()
WINDOW_S = 7200
BUSY_EVENTS = 200_000


def run_job(job: dict, tmp: Path) -> dict[str, float]:
    path = tmp / f"{job['kind']}.json"
    path.write_text(json.dumps(job))
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale_run", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    if done.returncode != 0:
        raise RuntimeError(f"{job['kind']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def base_env(url: str, platform: Platform, icecasts: list[Any], matomo: Any) -> dict[str, str]:
    return {
        "REDIS_URL": url,
        "REDIS_KEY_PREFIX": "scale",
        "LIVE_WINDOW_SECONDS": str(WINDOW_S),
        "IDENTITY_HASH_KEY": "bench-key-0123456789abcdef",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "TENANTS": json.dumps(platform.tenants() | {"busy-fm": {}}),
        "ICECAST_SERVERS": json.dumps(
            [
                {"name": f"ice{i}", "url": f"http://127.0.0.1:{s.server_port}", "password": "x"}
                for i, s in enumerate(icecasts)
            ]
        ),
        "MATOMO_URL": f"http://127.0.0.1:{matomo.server_port}/",
        "MATOMO_TOKEN": TOKEN,
        "VIEW_SIGNING_KEYS": VIEW_KEY,
    }


def fill_window(store: Any, tenant: str, *, icecast: dict, matomo: dict, hls: int, events_per_s: float) -> None:
    """A full window of one station, as the functions write it over two hours."""
    from shared.live.store import Event, Sample

    now_ms = int(time.time() * 1000)
    start = now_ms - WINDOW_S * 1000 + 60_000
    for chunk in range(start, now_ms, 600_000):  # ten minutes a write
        end = min(chunk + 600_000, now_ms)
        samples = [Sample(tenant, "icecast", t, icecast) for t in range(chunk, end, 30_000)]
        samples += [Sample(tenant, "matomo", t, matomo) for t in range(chunk, end, 60_000)]
        samples += [
            Sample(tenant, "hls", t, {"listeners": hls}, host=f"edge-{e}")
            for t in range(chunk, end, 10_000)
            for e in range(EDGES)
        ]
        step = int(1000 / events_per_s)
        events = [
            Event(tenant, "app.play", t, "0", t, json.dumps({"tenant": tenant, "type": "app.play", "ip": "ip:3f2a9c"}))
            for t in range(chunk, end, step)
        ]
        store.write(samples=samples, events=events)


def station_bytes(client: Any, tenant: str) -> int:
    keys = list(client.scan_iter(match=f"scale:*{{{tenant}}}*", count=1000))
    return sum(client.memory_usage(k) or 0 for k in keys)


def measure_size(platform: Platform, url: str, haproxy: Any, tmp: Path) -> dict[str, Any]:
    import redis

    from shared.core.settings import load_store_settings
    from shared.live.store import LiveStore
    from shared.read.view_tokens import issue, parse_keys

    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushall()
    icecasts, matomo = start_icecasts(platform), start_matomo(platform, TOKEN)
    try:
        env = base_env(url, platform, icecasts, matomo)
        now_iso = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        out: dict[str, Any] = {}
        out["icecast_poller"] = run_job({"kind": "icecast_poller", "env": env}, tmp)
        out["matomo_live_poller"] = run_job({"kind": "matomo_live_poller", "env": env}, tmp)
        bodies = eventhub_bodies(platform, partitions=cost.PARTITIONS, now_iso=now_iso, batch=cost.BATCH)
        out["eventhub_to_redis"] = run_job({"kind": "eventhub_to_redis", "env": env, "bodies": bodies}, tmp)
        out["eventhub_to_redis"]["batch"] = len(bodies)
        from haproxy_agent.runtime_api import command

        # the table is filled just before the tick: its entries expire after 30 s

        command(haproxy.socket, "clear table hls_listeners")
        entries = fill_table(haproxy.socket, platform)
        tenants = [platform.name(r) for r in platform.ranks]
        out["agent_tick"] = run_job(
            {"kind": "agent_tick", "env": env, "socket": haproxy.socket, "tenants": tenants}, tmp
        )
        out["agent_tick"]["entries"] = entries
        out["health"] = run_job({"kind": "health", "env": env}, tmp)
        store = LiveStore(client, settings=load_store_settings(env))
        sample = {k: int(v) for k, v in store.read_series(platform.name(1), "icecast")[-1].metrics.items()}
        visits = store.read_series(platform.name(1), "matomo")[-1].metrics
        ranks = sorted({1, *range(1, platform.stations + 1, max(1, platform.stations // 5))})[:6]
        sizes = []
        for r in ranks:
            fill_window(
                store,
                platform.name(r),
                icecast=sample,
                matomo=dict(visits),
                hls=platform.hls_per_edge(r),
                events_per_s=EVENTS_PER_STATION_S,
            )
            sizes.append(station_bytes(client, platform.name(r)))
        out["redis_bytes_per_station"] = sum(sizes) / len(sizes)
        token = issue(parse_keys(VIEW_KEY), platform.name(1), days=1)
        out["page_read"] = run_job({"kind": "page_read", "env": env, "tenant": platform.name(1), "token": token}, tmp)
        return out
    finally:
        for server in icecasts:
            server.shutdown()
        matomo.shutdown()


def busy_read(url: str, tmp: Path, platform: Platform) -> dict[str, float]:
    """A page read of a station with 200,000 events in its window: Redis time per request."""
    import redis

    from shared.core.settings import load_store_settings
    from shared.live.store import Event, LiveStore
    from shared.read.view_tokens import issue, parse_keys

    env = {"REDIS_URL": url, "REDIS_KEY_PREFIX": "scale", "LIVE_WINDOW_SECONDS": str(WINDOW_S),
           "IDENTITY_HASH_KEY": "bench-key-0123456789abcdef", "VIEW_SIGNING_KEYS": VIEW_KEY,
           "TENANTS": json.dumps({"busy-fm": {}})}  # fmt: skip
    client = redis.Redis.from_url(url, decode_responses=True)
    store = LiveStore(client, settings=load_store_settings(env))
    now_ms = int(time.time() * 1000)
    step = (WINDOW_S * 1000 - 120_000) // BUSY_EVENTS
    for first in range(0, BUSY_EVENTS, 20_000):
        store.write(
            events=[
                Event("busy-fm", f"app.t{i % 7}", now_ms - 60_000 - i * step, "1", i, '{"tenant":"busy-fm"}')
                for i in range(first, first + 20_000)
            ]
        )
    token = issue(parse_keys(VIEW_KEY), "busy-fm", days=1)
    return run_job({"kind": "page_read", "env": env, "tenant": "busy-fm", "token": token}, tmp)


def rows_for(size: int, out: dict[str, Any]) -> list[dict[str, Any]]:
    """Per function: what one run took, and the month's executions at its schedule or rate."""
    executions = dict(cost.SCHEDULED, eventhub_to_redis=cost.eventhub_executions(size))
    rows = []
    for name in ("icecast_poller", "matomo_live_poller", "eventhub_to_redis", "health", "agent_tick", "page_read"):
        m = out[name]
        rows.append({"size": size, "function": name, "executions": executions.get(name), **m})
    return rows


def bill(size: int, out: dict[str, Any]) -> dict[str, float]:
    runs = {
        name: (n, cost.Measured(out[name]["wall_s"], out[name]["cpu_s"]))
        for name, n in dict(cost.SCHEDULED, eventhub_to_redis=cost.eventhub_executions(size)).items()
    }
    naive = dict(runs, eventhub_to_redis=(cost.naive_executions(size), runs["eventhub_to_redis"][1]))
    page = cost.Measured(out["page_read"]["wall_s"], out["page_read"]["cpu_s"])
    result = {}
    for mb in (512, 2048):
        executions, gb_s, euros = cost.platform_euros(runs, mb)
        result[f"eur_station_{mb}"] = euros / size
        result[f"gb_s_{mb}"] = gb_s
        result[f"naive_eur_station_{mb}"] = cost.platform_euros(naive, mb)[2] / size
        result[f"page_viewer_hour_{mb}"] = cost.per_viewer_hour(page, mb, reads=60)
        result["executions"] = executions
    result["messages_s"] = EVENTS_PER_STATION_S * size + EDGES / 10
    result["naive_messages_s"] = cost.eventhub_messages_1_0(size)
    return result


def main(sizes: tuple[int, ...] = SIZES) -> int:
    from bench.scale_table import print_tables
    from devstack.haproxy import HAProxy
    from devstack.redis_servers import redis_server

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server = redis_server(tmp / "redis").start()
        haproxy = HAProxy(tmp / "haproxy").start()
        try:
            url = f"redis://127.0.0.1:{server.port}/0"
            results = {}
            for size in sizes:
                started = time.perf_counter()
                results[size] = measure_size(Platform(size), url, haproxy, tmp)
                results[size]["bill"] = bill(size, results[size])
                print(f"# {size} stations measured in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            busy = busy_read(url, tmp, Platform(1))
            print_tables(results, rows_for, busy)
        finally:
            haproxy.stop()
            server.stop()
    print(f"\nmachine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(tuple(int(a) for a in sys.argv[1:]) or SIZES))
