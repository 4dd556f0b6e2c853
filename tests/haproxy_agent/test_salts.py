"""Issue 37.6: stored client hashes become unlinkable. Within a UTC day every edge hashes a
client alike; across days nothing links; once a day's salt is deleted (at most 48 h after it
was made), nobody holding every key and setting can recompute that day's hashes."""

import datetime as dt
import gzip
import hashlib
import hmac
import json
import threading
import time

from haproxy_agent.access_log import client_hash
from haproxy_agent.log_shipper import open_salts
from haproxy_agent.log_shipper import ship as ship_logs
from haproxy_agent.ship_config import load_config
from shared.privacy.identity import IdentityHasher
from tests.haproxy_agent.test_ship_logs import HASHER, LOGS_KEY, container_for, day_hasher, env_for, ship

DAY = 86400
ADDRESS = "203.0.113.5"


def write_log(path, seconds, address=ADDRESS):
    path.write_text(
        "".join(
            f'fabrik-hls {s}.000 {address} 200 10 4 acme-fm "/acme-fm/live/seg{i}.ts" "VLC/3.0.20 LibVLC/3.0.20" ""\n'
            for i, s in enumerate(seconds)
        )
    )
    return path


def shipped(env):
    container = container_for(env)
    rows = []
    for blob in container.list_blobs():
        if not blob.name.startswith("_"):
            rows += [
                json.loads(line) for line in gzip.decompress(container.download_blob(blob.name).readall()).splitlines()
            ]
    return rows


def day_hasher_from(salt_hex):
    return IdentityHasher(
        hmac.new(
            LOGS_KEY.encode(), b"fabrik-daily-salt-v1\x00" + bytes.fromhex(salt_hex.decode()), hashlib.sha256
        ).digest()
    )


def salt_names(env):
    return sorted(b.name for b in container_for(env, name="LOGS_SALT_CONTAINER").list_blobs())


def ship_at(env, log, now):
    """One edge's run in process, at the time ``now`` (the salts' rule depends on the day)."""
    [result] = ship_logs([str(log)], load_config(env), clock=lambda: now)
    assert result.error is None, result.error
    return result


def test_two_edges_hash_a_client_alike_within_a_day_and_apart_across_days(azurite_server, key_prefix, tmp_path):
    midnight = int(time.time()) // DAY * DAY
    yesterday, today = midnight - DAY + 60, midnight + 60  # a minute into each UTC day
    for host in ("edge-1", "edge-2"):
        env = env_for(azurite_server, key_prefix, tmp_path / host, AGENT_HOST=host)
        container_for(env)
        ship_at(env, write_log(tmp_path / f"{host}.log", [yesterday, today]), midnight + 3600)  # 01:00
    clients = {}
    for row in shipped(env):
        clients.setdefault(row["time"][:10], []).append(row["client"])
    assert sorted(len(hashes) for hashes in clients.values()) == [2, 2]
    assert all(len(set(hashes)) == 1 for hashes in clients.values())  # both edges alike within a day
    day_a, day_b = (hashes[0] for hashes in clients.values())
    assert day_a != day_b  # a listener's days do not link
    assert {day_a, day_b} == {client_hash(ADDRESS, day_hasher(env, s)) for s in (yesterday, today)}
    assert client_hash(ADDRESS, HASHER) not in {day_a, day_b}  # the key alone recomputes nothing


def test_a_salt_is_deleted_three_hours_after_its_day_and_later_records_link_to_nothing(
    azurite_server, key_prefix, tmp_path
):
    env = env_for(azurite_server, key_prefix, tmp_path)
    salts = container_for(env, name="LOGS_SALT_CONTAINER")
    midnight = int(time.time()) // DAY * DAY
    names = {
        n: f"{dt.datetime.fromtimestamp(midnight - n * DAY, dt.timezone.utc).date().isoformat()}.salt" for n in range(6)
    }
    for n in (0, 1, 2, 5):
        salts.upload_blob(names[n], b"00" * 32)
    salts.upload_blob("left-by-hand.txt", b"x")
    ship_at(env, write_log(tmp_path / "a.log", [midnight - DAY + 60]), midnight + 2 * 3600)
    assert salt_names(env) == sorted([names[0], names[1]])  # yesterday's, within its grace, stays
    ship_at(env, write_log(tmp_path / "b.log", [midnight - DAY + 60]), midnight + 3 * 3600)
    assert salt_names(env) == [names[0]]
    ship_at(env, write_log(tmp_path / "c.log", [midnight - DAY + 60]), midnight + 3 * 3600)
    hashes = [row["client"] for row in shipped(env)]
    assert client_hash(ADDRESS, day_hasher_from(b"00" * 32)) in hashes  # the shared salt, while it lived
    assert len(set(hashes)) == 3  # after: each run's own salt, linked to nothing
    assert client_hash(ADDRESS, HASHER) not in hashes


def test_edges_racing_for_a_new_days_salt_all_use_the_winners(azurite_server, key_prefix, tmp_path):
    env = env_for(azurite_server, key_prefix, tmp_path)
    container_for(env)
    config = load_config(env)
    now = time.time()
    today = int(now) // DAY
    results, barrier = [], threading.Barrier(8)

    def edge():
        salts = open_salts(config, now=now)
        barrier.wait()
        results.append(client_hash(ADDRESS, salts.hasher(today)))

    threads = [threading.Thread(target=edge) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 8 and len(set(results)) == 1
    assert results[0] == client_hash(ADDRESS, day_hasher(env, today * DAY))


def test_without_its_salt_container_nothing_is_shipped_and_the_run_says_why(azurite_server, key_prefix, tmp_path):
    env = env_for(azurite_server, key_prefix, tmp_path)
    container_for(env, create=False).create_container()  # the logs container only
    done = ship(env, write_log(tmp_path / "a.log", [int(time.time())]), write_log(tmp_path / "b.log", [1]))
    assert done.returncode == 1
    assert env["LOGS_SALT_CONTAINER"] in done.stderr and "ContainerNotFound" in done.stderr, done.stderr
    assert "not tried: the daily salt is unavailable" in done.stderr
    assert not list(container_for(env, create=False).list_blobs())


def test_a_salt_is_the_only_secret_that_makes_a_days_hashes(azurite_server, key_prefix, tmp_path):
    """The hasher is HMAC(LOGS_HASH_KEY, label + salt): neither alone recomputes a stored hash.
    (Through the command, at the real time: a record of now uses today's shared salt.)"""
    env = env_for(azurite_server, key_prefix, tmp_path)
    container_for(env)
    second = int(time.time())
    assert ship(env, write_log(tmp_path / "a.log", [second])).returncode == 0
    [row] = shipped(env)
    salt = container_for(env, name="LOGS_SALT_CONTAINER").download_blob(salt_names(env)[0]).readall()
    assert row["client"] == client_hash(ADDRESS, day_hasher(env, second))
    assert row["client"] != client_hash(ADDRESS, IdentityHasher(bytes.fromhex(salt.decode())))
    assert row["client"] != client_hash(ADDRESS, IdentityHasher(LOGS_KEY.encode()))
