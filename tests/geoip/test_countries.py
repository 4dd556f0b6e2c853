"""Issue 31: listeners by country, from a country database the tests write (mmdb-writer) and the
real maxminddb reader: Icecast (real icecast2), HLS (real HAProxy, the agent, eventhub_to_redis
summing two edges), the live API and page; a damaged or missing database costs the countries,
not the listener numbers or the process;
no address reaches Redis or the Event Hub."""

import json
import time

import pytest
import urllib3

import eventhub_to_redis
import icecast_poller
from devstack.geoip import write_country_db
from haproxy_agent.agent import Agent
from haproxy_agent.config import AgentConfig
from icecast_poller.aggregate import aggregate
from icecast_poller.fetch import ServerResult
from icecast_poller.parse import parse_listclients, parse_stats
from icecast_poller.tenant import MountOwners
from shared.core.tenants import parse_tenants
from shared.privacy.geoip import GeoIP, country_metrics
from shared.privacy.identity import IdentityHasher
from tests.conftest import _start
from tests.eventhub_to_redis.test_function import batch, store_of
from tests.haproxy_agent.test_agent import Collect
from tests.helpers import dump_redis, run_cli, write_settings

NETWORKS = {"127.0.5.0/24": "DE", "127.0.6.0/24": "AT", "2001:db8:1::/48": "FR", "81.2.69.0/24": "GB"}
HASHER = IdentityHasher(b"test-identity-hash-key-0123456789")


@pytest.fixture(scope="module")
def country_db(tmp_path_factory):
    return write_country_db(tmp_path_factory.mktemp("geoip") / "countries.mmdb", NETWORKS)


def test_ipv4_ipv6_mapped_and_unplaced_addresses(country_db):
    geoip = GeoIP(str(country_db))
    assert geoip.countries(
        ["127.0.5.9", "2001:db8:1::7", "::ffff:81.2.69.5", "198.51.100.1", "not an ip", "[::1]"]
    ) == ["DE", "FR", "GB", "unknown", "unknown", "unknown"]
    assert country_metrics(["DE"] * 5 + ["AT"] * 3 + ["FR", "GB", "unknown"], top=2) == {
        "country:DE": 5,
        "country:AT": 3,
        "country:other": 2,
        "country:unknown": 1,
    }


def test_icecast_listclients_with_ipv6_listeners_count_per_country(country_db):
    listclients = (
        b"<icestats><source mount='/a.mp3'>"
        + b"".join(
            f"<listener><IP>{ip}</IP><UserAgent>VLC/3.0</UserAgent><Connected>5</Connected></listener>".encode()
            for ip in ["127.0.5.2", "127.0.5.3", "2001:db8:1::2", "192.0.2.1"]
        )
        + b"</source></icestats>"
    )
    stats = parse_stats(
        b"<icestats><server_id>Icecast 2.4.4</server_id><source mount='/a.mp3'><listeners>4"
        b"</listeners><bitrate>128</bitrate></source></icestats>"
    )
    records = parse_listclients(listclients, ip_tokens=HASHER.ip_tokens, countries=GeoIP(str(country_db)).countries)
    assert [r.country for r in records] == ["DE", "DE", "FR", "unknown"]
    from icecast_poller.settings import IcecastServer

    server = IcecastServer(name="ice1", url="http://ice1:8000", username="admin", password="x")
    result = ServerResult(server=server, stats=stats, listeners={"/a.mp3": records})
    tenants = parse_tenants(json.dumps({"acme-fm": {"icecast": {"mounts": ["/a.mp3"]}}}))
    [sample] = aggregate([result], MountOwners.of(tenants), time_ms=0, top_countries=10).samples
    assert {k: v for k, v in sample.metrics.items() if k.startswith("country:")} == {
        "country:DE": 2,
        "country:FR": 1,
        "country:unknown": 1,
    }
    [plain] = aggregate([result], MountOwners.of(tenants), time_ms=0).samples  # no database: no country metrics at all
    assert not any(k.startswith("country:") for k in plain.metrics)


def test_a_real_icecast_run_stores_countries_and_no_address(base_env, country_db, tmp_path, key_prefix):
    from devstack.icecast import Icecast

    ice = _start(lambda: Icecast(tmp_path / "ice").start())
    try:
        ice.add_source("/a.mp3")
        for address in ("127.0.5.2", "127.0.5.3", "127.0.6.2", "127.0.7.2"):
            ice.add_listener("/a.mp3", user_agent="VLC/3.0.20 LibVLC/3.0.20", address=address)
        ice.wait_for_listeners()
        env = {
            **base_env,
            "GEOIP_DATABASE": str(country_db),
            "TENANTS": json.dumps({"acme-fm": {"icecast": {"mounts": ["/a.mp3"]}}}),
            "ICECAST_SERVERS": json.dumps([{"url": ice.url, "password": "hackme-admin"}]),
        }
        report = icecast_poller.run(env=env)
        assert report.ok, [(f.source, f.error) for f in report.failures]  # says which, if it ever flakes
    finally:
        ice.stop()
    store, client = store_of(env)
    [sample] = store.read_series("acme-fm", "icecast")
    assert {k: v for k, v in sample.metrics.items() if k.startswith("country:")} == {
        "country:DE": 2,
        "country:AT": 1,
        "country:unknown": 1,
    }
    everything = dump_redis(client, key_prefix)
    assert not any(a in everything for a in ("127.0.5.2", "127.0.5.3", "127.0.6.2", "127.0.7.2"))


def _bad_database(path, damage, good):
    if damage == "damaged":
        path.write_bytes(b"\x00" * 4096)
    elif damage == "not a country database":
        from mmdb_writer import MMDBWriter
        from netaddr import IPSet

        writer = MMDBWriter(
            ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN", languages=["en"], description="asn"
        )
        writer.insert_network(IPSet(["127.0.5.0/24"]), {"autonomous_system_number": 64500})
        writer.to_db_file(str(path))
    elif damage == "a pipe":
        import os

        os.mkfifo(path)  # opening it would wait for a writer forever
    elif damage == "truncated":
        path.write_bytes(good.read_bytes()[:-200])


@pytest.mark.parametrize("damage", ["missing", "damaged", "not a country database", "a pipe", "truncated"])
def test_a_bad_database_costs_the_countries_not_the_listener_numbers(base_env, country_db, tmp_path, damage):
    """Issue 37.3: a missing or damaged database stopped every Icecast number (a settings error)
    or crashed the worker. Now the run stores its listeners, countries are left out, and the
    run's status has a failing source naming GEOIP_DATABASE."""
    from devstack.icecast import Icecast

    path = tmp_path / "countries.mmdb"
    _bad_database(path, damage, country_db)
    ice = _start(lambda: Icecast(tmp_path / "ice").start())
    try:
        ice.add_source("/a.mp3")
        for address in ("127.0.5.2", "127.0.6.2"):
            ice.add_listener("/a.mp3", user_agent="VLC/3.0.20 LibVLC/3.0.20", address=address)
        ice.wait_for_listeners()
        env = {
            **base_env,
            "GEOIP_DATABASE": str(path),
            "TENANTS": json.dumps({"acme-fm": {"icecast": {"mounts": ["/a.mp3"]}}}),
            "ICECAST_SERVERS": json.dumps([{"url": ice.url, "password": "hackme-admin"}]),
        }
        report = icecast_poller.run(env=env)
        shown = run_cli("status", settings=write_settings(tmp_path / "s.json", env))
    finally:
        ice.stop()
    outcome = report.outcomes["geoip"]
    assert not outcome.ok and "GEOIP_DATABASE" in outcome.error
    assert report.outcomes["tenant:acme-fm"].ok
    store, _ = store_of(env)
    [sample] = store.read_series("acme-fm", "icecast")
    assert sample.metrics["listeners"] == 2
    assert {k: v for k, v in sample.metrics.items() if k.startswith("country:")} == {"country:unknown": 2}
    assert shown.returncode == 1 and "GEOIP_DATABASE" in shown.stdout and "Traceback" not in shown.stderr


def test_mutated_databases_never_crash_the_process(country_db, tmp_path):
    """Issue 37.3, fuzzed: a few changed bytes anywhere in a real database. maxminddb's C
    extension crashed the process (SIGSEGV) on some; a file is now read whole by another
    process before this one maps it, so here every lookup answers a country or 'unknown'."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    good = country_db.read_bytes()
    runs = iter(range(10**6))

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)), min_size=1, max_size=4))
    def check(changes):
        data = bytearray(good)
        for position, value in changes:
            data[position] = value
        path = tmp_path / f"mutated-{next(runs)}.mmdb"
        path.write_bytes(bytes(data))
        geoip = GeoIP(str(path))
        codes = geoip.countries(["127.0.5.9", "127.0.6.9", "2001:db8:1::9", "81.2.69.160", "10.0.0.1", "::1"])
        assert all(c == "unknown" or (len(c) == 2 and c.isalpha()) for c in codes)
        if geoip.problem:
            assert geoip.problem.startswith("GEOIP_DATABASE: ") and set(codes) == {"unknown"}

    check()


def test_a_database_rewritten_in_place_is_checked_again_before_use(country_db, tmp_path):
    path = tmp_path / "countries.mmdb"
    path.write_bytes(country_db.read_bytes())
    geoip = GeoIP(str(path))
    assert geoip.countries(["127.0.5.9"]) == ["DE"] and geoip.problem is None
    with open(path, "r+b") as handle:  # the same file (inode), new bytes: the mapping is of a private copy
        handle.seek(0)
        handle.write(b"\xff" * 2048)
    assert geoip.countries(["127.0.5.9"]) == ["unknown"] and "GEOIP_DATABASE" in geoip.problem
    path.write_bytes(country_db.read_bytes())  # fixed: used again, no restart
    assert geoip.countries(["127.0.5.9"]) == ["DE"] and geoip.problem is None


def test_hls_countries_from_two_edges_are_summed_and_no_address_is_sent(
    base_env, country_db, tmp_path, azurite_server, key_prefix
):
    from devstack.azurite import connection_string
    from devstack.haproxy import HAProxy

    edges = [_start(lambda name=name: HAProxy(tmp_path / name).start()) for name in ("one", "two")]
    sent = []
    try:
        for proxy, addresses in zip(edges, (["127.0.5.2", "127.0.5.3", "127.0.7.9"], ["127.0.6.2", "127.0.5.4"])):
            for address in addresses:
                pool = urllib3.HTTPConnectionPool("127.0.0.1", proxy.port, source_address=(address, 0))
                assert pool.request("GET", "/acme-fm/live/index.m3u8").status == 200
        now = time.time() - 5
        for proxy, host in zip(edges, ("edge-1", "edge-2")):
            sink = Collect()
            config = AgentConfig(socket=proxy.socket, tenants=("acme-fm",), host=host, geoip=GeoIP(str(country_db)))
            Agent(config=config, sender=sink, clock=lambda: now).tick()
            sent += sink.sent[0]
    finally:
        for proxy in edges:
            proxy.stop()
    assert [m["tenants"]["acme-fm"]["countries"] for m in sent] == [{"DE": 2, "unknown": 1}, {"AT": 1, "DE": 1}]
    assert not any(a in json.dumps(sent) for a in ("127.0.5", "127.0.6", "127.0.7"))  # counts only
    env = {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
    }
    import datetime as dt

    eventhub_to_redis.run(
        batch([json.dumps(m).encode() for m in sent], enqueued=dt.datetime.fromtimestamp(now, dt.timezone.utc)), env=env
    )
    store, _ = store_of(env)
    latest = store.read_series("acme-fm", "hls")[-1].metrics
    countries = {k: v for k, v in latest.items() if k.startswith("country:") or k in ("hosts", "listeners")}
    assert countries == {"hosts": 2, "listeners": 5, "country:DE": 3, "country:AT": 1, "country:unknown": 1}
    assert latest["excluded:bot"] == 5  # urllib3's User-Agent: a bot by the lists, still a listener
