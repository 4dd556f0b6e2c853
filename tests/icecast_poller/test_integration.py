"""icecast_poller end to end: real icecast2 servers, real Redis, run through the CLI."""

import json

import pytest
import redis

from devstack.process import free_port
from shared.core.measurement import METRICS
from shared.core.settings import load_store_settings
from shared.live.store import LiveStore
from shared.runtime.status import parse_status
from tests.conftest import _start
from tests.helpers import dump_redis, run_cli, write_settings

ADMIN_PASSWORD = "ice-admin-pw-7d1f"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SAFARI = "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"


@pytest.fixture(scope="module")
def icecasts(tmp_path_factory):
    from devstack.icecast import Icecast

    base = tmp_path_factory.mktemp("icecast")
    a = _start(lambda: Icecast(base / "a", admin_password=ADMIN_PASSWORD).start())
    b = _start(lambda: Icecast(base / "b", admin_password=ADMIN_PASSWORD).start())
    try:
        for mount in ("/acme.mp3", "/acme.aac", "/metro.mp3", "/unclaimed.mp3"):
            a.add_source(mount)
        b.add_source("/acme.mp3")
        a.add_listener("/acme.mp3", user_agent="AcmeRadio/3.2 (iPhone; iOS 17.1) CFNetwork/1474", address="127.0.0.2")
        a.add_listener("/acme.mp3", user_agent=CHROME, address="127.0.0.3")
        a.add_listener("/acme.aac", user_agent="VLC/3.0.20 LibVLC/3.0.20", address="127.0.0.2")
        a.add_listener("/metro.mp3", user_agent="Lavf/60.3.100", address="127.0.0.4")
        a.add_listener("/unclaimed.mp3", user_agent="curl/8.5.0", address="127.0.0.5")
        b.add_listener("/acme.mp3", user_agent=SAFARI, address="127.0.0.6")
        b.add_listener("/acme.mp3", user_agent="Icecast 2.4.4", address="127.0.0.7")
        a.wait_for_listeners()
        b.wait_for_listeners()
        yield a, b
    finally:
        a.stop()
        b.stop()


def settings_for(base_env, icecasts, *, password=ADMIN_PASSWORD, extra_server=None):
    a, b = icecasts
    servers = [
        {"name": "ice-a", "url": a.url, "username": "admin", "password": password},
        {"name": "ice-b", "url": b.url, "username": "admin", "password": password},
    ]
    if extra_server:
        servers.append(extra_server)
    tenants = {
        "acme-fm": {"icecast": {"mounts": ["/acme.mp3", "/acme.aac"], "app_user_agent": "^AcmeRadio/"}},
        "metro-kids": {"icecast": {"mounts": ["/metro.mp3"]}},
    }
    return {
        **base_env,
        "TENANTS": json.dumps(tenants),
        "ICECAST_SERVERS": json.dumps(servers),
        "ICECAST_READ_TIMEOUT_SECONDS": "3",
        "ICECAST_RUN_DEADLINE_SECONDS": "10",
    }


def test_cli_run_writes_each_tenants_sample_and_status(base_env, icecasts, tmp_path, key_prefix):
    dead = {"name": "dead", "url": f"http://127.0.0.1:{free_port()}", "password": ADMIN_PASSWORD}
    values = settings_for(base_env, icecasts, extra_server=dead)
    done = run_cli("run", "icecast_poller", settings=write_settings(tmp_path / "s.json", values))

    assert done.returncode == 1, done.stderr  # one server down is a failure worth an exit code
    assert "dead" in done.stderr and "cannot connect" in done.stderr
    assert "server:ice-a: ok" in done.stdout

    settings = load_store_settings(values)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    store = LiveStore(client, settings=settings)
    [acme] = store.read_series("acme-fm", "icecast")
    timed = acme.metrics["median_listening_seconds"]  # depends on when the listeners connected: checked below
    sessions = {k: acme.metrics[k] for k in METRICS}  # the same (shared.core.measurement: tests/shared/)
    assert sessions["active_sessions"] + sessions["excluded:short"] == 4  # the 4 listeners, by their age
    assert (sessions["excluded:relay"], sessions["excluded:bot"]) == (1, 0)
    assert {k: v for k, v in acme.metrics.items() if k != "median_listening_seconds" and k not in METRICS} == {
        "listeners": 4,  # 3 on ice-a + 2 on ice-b - the relay connection
        "unique_listeners": 3,  # 127.0.0.2 (twice), .3, .6
        "client:app": 1,
        "client:browser": 2,
        "client:player": 1,
        "client:other": 0,
        "client:bot": 0,
        "device:computer": 3,  # the browsers and VLC on Linux
        "device:mobile": 1,  # the app on an iPhone
        "relays": 1,
        "mount:/acme.mp3": 3,
        "mount:/acme.aac": 1,
        "servers_failed": 1,  # mounts add up to listeners
        "on_fallback": 0,
        "fallback_listeners": 0,
    }
    assert 0 <= timed < 120
    [metro] = store.read_series("metro-kids", "icecast")
    assert (metro.metrics["listeners"], metro.metrics["client:bot"]) == (1, 1)  # Lavf: OPAWG's bot, still a connection

    status = {r.source: r for r in parse_status("icecast_poller", client.hgetall(store.keys.status("icecast_poller")))}
    assert status["server:dead"].ok is False and "cannot connect" in status["server:dead"].last_error
    assert status["server:ice-a"].ok and status["server:ice-a"].counts["mounts"] == 4
    assert status["unclaimed-mounts"].counts == {"/unclaimed.mp3": 1}

    everything = dump_redis(client, key_prefix) + done.stdout + done.stderr
    for leak in ("127.0.0.2", "127.0.0.3", "127.0.0.6", ADMIN_PASSWORD):
        assert leak not in everything

    shown = run_cli("show", "acme-fm", "--json", settings=tmp_path / "s.json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["icecast"][0]["listeners"] == 4


def test_wrong_password_is_a_configuration_error_in_status(base_env, icecasts, tmp_path):
    import icecast_poller

    values = settings_for(base_env, icecasts, password="not-the-password")
    report = icecast_poller.run(env=values)
    assert not report.ok
    errors = {o.source: o.error for o in report.failures}
    assert set(errors) == {"server:ice-a", "server:ice-b"}
    assert "ICECAST_SERVERS" in errors["server:ice-a"] and "401" in errors["server:ice-a"]
    assert "not-the-password" not in json.dumps(errors)
    settings = load_store_settings(values)
    store = LiveStore(redis.Redis.from_url(settings.redis_url, decode_responses=True), settings=settings)
    assert store.read_series("acme-fm", "icecast") == []  # no server answered: no made-up zeros


def test_settings_error_reaches_status_and_names_keys(base_env, tmp_path):
    values = {**base_env, "ICECAST_SERVERS": '[{"url": "ftp://x"}]', "IDENTITY_HASH_KEY": "short"}
    done = run_cli("run", "icecast_poller", settings=write_settings(tmp_path / "s.json", values))
    assert done.returncode == 2
    assert "ICECAST_SERVERS" in done.stderr and "IDENTITY_HASH_KEY" in done.stderr
    assert "short" not in done.stderr.replace("shorten", "")
    status = run_cli("status", "--json", settings=tmp_path / "s.json")
    rows = [
        r
        for r in json.loads(status.stdout)["sources"]
        if r["function"] == "icecast_poller" and r["source"] == "settings"
    ]
    assert rows and rows[0]["state"] == "fail" and "ICECAST_SERVERS" in rows[0]["reason"]
