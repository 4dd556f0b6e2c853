"""Issue 19: the live API, health and the live page, through the same HTTP adapter `make run`
serves (real azure.functions.HttpRequest objects), against real Redis; the page in a real
headless Chromium."""

import json
import shutil
import subprocess
import time

import pytest
import redis as redis_lib

import eventhub_to_redis
import matomo_live_poller
from devstack.http_host import HttpHost
from devstack.matomo import matomo_handler
from devstack.process import free_port
from shared.core.settings import load_store_settings
from shared.live.store import LiveStore, Sample
from shared.read import api as read_side
from tests.eventhub_to_redis.test_function import batch, iso
from tests.helpers import ROOT, run_cli, write_settings
from tests.matomo_live_poller.test_integration import SITES, TOKEN

LEAK_IP = "198.51.100.23"
VIEW_KEY = "dGVzdC12aWV3LXNpZ25pbmcta2V5LTAxMjM0NTY3ODlhYmNkZWY="  # base64 of 35 test bytes


@pytest.fixture
def stack(base_env, httpserver, azurite_server, key_prefix):
    """acme-fm with icecast and hls samples, events (one with an IP), and a fresh matomo run."""
    from devstack.azurite import connection_string

    httpserver.expect_request("/index.php", method="POST").respond_with_handler(matomo_handler(SITES, token=TOKEN))
    tenants = {
        "acme-fm": {"icecast": {"mounts": ["/acme.mp3", "/acme.aac"]}, "matomo": {"site_id": 3}},
        "metro-kids": {"matomo": {"site_id": 7}},
    }
    env = {
        **base_env,
        "TENANTS": json.dumps(tenants),
        "MATOMO_URL": httpserver.url_for("/"),
        "MATOMO_TOKEN": TOKEN,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"d{key_prefix.lower()}",
        "VIEW_SIGNING_KEYS": VIEW_KEY,
    }
    settings = load_store_settings(env)
    store = LiveStore(redis_lib.Redis.from_url(settings.redis_url, decode_responses=True), settings=settings)
    now = int(time.time() * 1000)
    store.write(
        samples=[
            Sample(
                "acme-fm",
                "icecast",
                now - i * 30_000,
                {
                    "listeners": 40 - i,
                    "mount:/acme.mp3": 30 - i,
                    "mount:/acme.aac": 10,
                    "active_sessions": 31 - i,
                    "listening_seconds": 900,  # 30 sessions of 30 s: 20 samples in the last hour, 5.0 h
                    "aqh_persons": 12,
                },
            )
            for i in range(20)
        ]
        + [
            Sample("acme-fm", "hls", now - i * 10_000, {"listeners": 7, "active_sessions": 5, "listening_seconds": 60})
            for i in range(30)
        ]
    )
    eventhub_to_redis.run(
        batch(
            [
                {
                    "tenant": "acme-fm",
                    "type": "app.play",
                    "time": iso(60 * (i % 5)),
                    "user_id": "u-1",
                    "title": f"from {LEAK_IP}",
                    "ip": LEAK_IP,
                }
                for i in range(12)
            ]
            + [{"tenant": "acme-fm", "type": "app.stop", "time": iso(5)}]
        ),
        env=env,
    )
    assert matomo_live_poller.run(env=env).ok
    return env, store, now


def call(env, path):
    host = HttpHost(env=env)
    status, headers, body = host.handle("GET", f"{path}{'&' if '?' in path else '?'}code={host.key}", {})
    return status, headers, body


def test_live_api_returns_the_series_as_show_json_and_the_events(stack, tmp_path):
    env, store, now = stack
    status, headers, body = call(env, "/api/live/acme-fm")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    doc = json.loads(body)
    shown = run_cli("show", "acme-fm", "--json", settings=write_settings(tmp_path / "s.json", env))
    assert doc["series"] == json.loads(shown.stdout)  # the same JSON as show --json
    assert doc["series"]["icecast"][-1]["listeners"] == 40 and len(doc["series"]["hls"]) == 30
    assert doc["events"]["total"] == 13 and sum(n for _, n in doc["events"]["per_minute"]["app.play"]) == 12
    assert doc["events"]["latest"][-1]["type"] in ("app.play", "app.stop")
    assert (
        LEAK_IP not in body.decode() and "hmac:" in body.decode()
    )  # pseudonyms arrive hashed, addresses inside declared fields too, undeclared fields not at all
    part = json.loads(call(env, "/api/live/acme-fm?series=hls&minutes=2")[2])
    assert list(part["series"]) == ["hls"] and len(part["series"]["hls"]) == 12


def test_one_redis_round_trip_per_request_whatever_the_series(stack):
    env, store, now = stack

    class Counting(redis_lib.connection.Connection):
        sends = 0

        def send_packed_command(self, command, check_health=True):
            type(self).sends += 1
            return super().send_packed_command(command, check_health)

    client = redis_lib.Redis.from_url(env["REDIS_URL"], decode_responses=True, connection_class=Counting)
    read_side.live("acme-fm", {}, env=env, redis=client)  # once: Redis learns the read scripts
    Counting.sends = 0
    status, _, _ = read_side.live("acme-fm", {}, env=env, redis=client)
    assert status == 200 and Counting.sends == 1


@pytest.mark.parametrize(
    "path,status,says",
    [
        ("/api/live/nobody", 404, "unknown tenant 'nobody'"),
        ("/api/live/acme-fm?series=radio", 400, "parameter 'series'"),
        ("/api/live/acme-fm?minutes=0", 400, "parameter 'minutes'"),
        ("/api/live/acme-fm?minutes=999", 400, "from 1 to 120"),
        ("/api/live/acme-fm?minutes=abc", 400, "parameter 'minutes'"),
        ("/api/live/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400, "tenant name must be"),
        ("/api/live/acme-fm%0A", 400, "tenant name must be"),
        ("/api/live/acme-fm?minutes=%C2%B2", 400, "parameter 'minutes'"),  # "²": str.isdigit() says yes
        ("/api/live/acme-fm?limit=5", 400, "unknown parameter 'limit'"),
    ],
)
def test_bad_requests_say_what_is_wrong(stack, path, status, says):
    env, _, _ = stack
    got, headers, body = call(env, path)
    assert got == status and says in json.loads(body)["error"]
    assert "<script>" not in body.decode()


def test_an_empty_window_and_redis_down(stack):
    env, _, _ = stack
    without = {k: v for k, v in env.items() if k != "TENANTS"}
    status, _, body = call(without, "/api/live/quiet-fm")
    assert status == 404 and "no live data for tenant 'quiet-fm'" in json.loads(body)["error"]
    status, _, body = call({**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, "/api/live/acme-fm")
    assert status == 503 and "live data unavailable" in json.loads(body)["error"]


def test_health_is_ok_when_fresh_and_503_naming_what_is_stale(stack):
    env, store, now = stack
    status, _, body = call(env, "/api/health")
    doc = json.loads(body)
    assert status == 200 and doc["status"] == "ok" and doc["functions"] == ["matomo_live_poller"], doc
    matomo_live_poller.run(env={**env, "MATOMO_TOKEN": "wrong-token-123"})  # Matomo refuses the token
    status, _, body = call(env, "/api/health")
    doc = json.loads(body)
    assert status == 503 and doc["status"] == "failing"
    assert any(
        p["function"] == "matomo_live_poller" and p["state"] == "fail" and "MATOMO_TOKEN" in p["reason"]
        for p in doc["problems"]
    )
    stale = {**env, "HEALTH_MAX_AGE_MATOMO_LIVE_POLLER_SECONDS": "1"}
    assert matomo_live_poller.run(env=env).ok
    status, _, body = read_side.health(env=stale, clock=lambda: time.time() + 2)  # two seconds later
    problems = json.loads(body)["problems"]
    assert status == 503 and {p["state"] for p in problems} == {"fail"}
    assert all("no success within 1 s" in p["reason"] for p in problems)
    assert "wrong-token-123" not in body.decode() and TOKEN not in body.decode()


def test_keys_are_required_except_for_static_assets(stack):
    env, _, _ = stack
    host = HttpHost(env=env)
    assert host.handle("GET", "/api/live/acme-fm", {})[0] == 401
    assert host.handle("GET", "/api/health?code=wrong", {})[0] == 401
    assert host.handle("GET", "/api/live/acme-fm", {"x-functions-key": host.key})[0] == 200
    status, headers, body = host.handle("GET", "/api/assets/uplot.js", {})
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"uPlot" in body
    assert host.handle("GET", "/api/assets/..%2Fshared%2Fsettings.py", {})[0] == 404


def test_the_page_escapes_the_tenant_and_sets_a_content_security_policy(stack):
    env, _, _ = stack
    status, headers, body = call(env, "/api/view/acme-fm")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]
    text = body.decode()
    assert 'data-tenant="acme-fm"' in text and "<script>" not in text  # no inline script: CSP allows none
    assert env["REDIS_URL"] not in text and TOKEN not in text
    status, headers, body = call(env, "/api/view/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert status == 400 and headers["Content-Type"].startswith("text/plain") and b"<img" not in body
    # the page is the same for every well-formed name: it tells nobody which tenants exist
    assert call(env, "/api/view/nobody")[2] == call(env, "/api/view/acme-fm")[2].replace(b"acme-fm", b"nobody")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is missing: scripts/setup.sh installs Debian's chromium", pytrace=False)
    return path


def browse(url, tmp_path, *args, budget_ms=15000, size="1280,1700"):
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={size}",
            f"--virtual-time-budget={budget_ms}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_the_page_draws_the_stored_values_in_a_real_browser(stack, tmp_path):
    from shared.read.view_tokens import issue, parse_keys

    env, _, _ = stack
    host = HttpHost(env=env).start()
    try:
        url = f"{host.url}/api/view/acme-fm#token={issue(parse_keys(VIEW_KEY), 'acme-fm', days=1)}"
        page = page_dom(url, tmp_path)
        app = page.get_element_by_id("app")
        assert int(app.get("data-drawn", "0")) >= 1
        value = lambda i: page.get_element_by_id(i).get("data-value")
        # sessions by one rule on both paths add up; connections and devices (two units) never do
        assert (value("tile-sessions"), value("tile-icecast"), value("tile-hls")) == ("36", "40", "7")
        assert value("tile-hours") == "5.5"  # 20 x 900 s + 30 x 60 s in the last hour
        assert value("tile-visitors") == "12" and value("tile-events") == "13"
        listeners = page.get_element_by_id("chart-listeners")
        assert listeners.get("data-points") == "40"
        assert listeners.get("data-last") == (
            "A minute or more (audio stream)=31|A minute or more (app and web player)=5|"
            "Audio stream connections=40|App and web player devices=7"
        )
        assert listeners.get("data-gaps") == "0"
        assert page.get_element_by_id("chart-mounts").get("data-last") == "/acme.aac=10|/acme.mp3=30"
        assert len(page.xpath("//div[@id='chart-listeners']//canvas")) == 1  # uPlot drew
        assert "up to date" in page.get_element_by_id("freshness-list").text_content()
        shot = tmp_path / "live-page.png"
        assert browse(url, tmp_path, f"--screenshot={shot}").returncode == 0 and shot.stat().st_size > 10_000
        artefacts = ROOT / ".devstack" / "artefacts"
        artefacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, artefacts / "live-page.png")
    finally:
        host.stop()


def page_dom(url, tmp_path, *, size="1280,1700"):
    from lxml import html

    dom = browse(url, tmp_path, "--dump-dom", size=size)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return html.fromstring(dom.stdout)
