"""matomo_live_poller against a local server answering as Matomo does, writing to real Redis."""

import json
import logging

import pytest
import redis

import matomo_live_poller
from devstack.matomo import matomo_handler
from shared.core.settings import load_store_settings
from shared.live.store import LiveStore
from shared.runtime.status import parse_status
from tests.helpers import dump_redis, run_cli, write_settings

TOKEN = "f3c2d1e0b9a8c7d6e5f4a3b2c1d0e9f8"
SITES = {
    3: {3: {"visits": 17, "visitors": 12, "actions": 60}, 1: {"visits": 6, "visitors": 5, "actions": 21}},
    7: {3: {"visits": 2, "visitors": 2, "actions": 4}},
}


def env_for(base_env, httpserver, **more):
    tenants = {
        "acme-fm": {"matomo": {"site_id": 3}},
        "metro-kids": {"matomo": {"site_id": 7}},
        "ghost": {"matomo": {"site_id": 9}},
        "no-matomo": {"icecast": {"mounts": ["/x"]}},
    }
    return {
        **base_env,
        "MATOMO_URL": httpserver.url_for("/"),
        "MATOMO_TOKEN": TOKEN,
        "TENANTS": json.dumps(tenants),
        **more,
    }


def read(values, tenant):
    settings = load_store_settings(values)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    return LiveStore(client, settings=settings), client


def test_one_bulk_post_for_all_sites_token_only_in_body(base_env, httpserver, caplog, key_prefix):
    seen = []
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(
        matomo_handler(SITES, token=TOKEN, seen=seen)
    )
    values = env_for(base_env, httpserver)
    with caplog.at_level(logging.DEBUG):
        report = matomo_live_poller.run(env=values)

    assert len(seen) == 1  # three tenants, one request
    request = seen[0]
    assert request["method"] == "POST" and request["query"] == {}
    assert TOKEN not in request["url"]
    assert request["form"]["method"] == "API.getBulkRequest"
    assert request["form"]["token_auth"] == TOKEN
    assert sorted(v for k, v in request["form"].items() if k.startswith("urls[")) == sorted(
        [
            "method=Live.getCounters&idSite=3&lastMinutes=3",
            "method=Live.getCounters&idSite=3&lastMinutes=1",
            "method=Live.getCounters&idSite=7&lastMinutes=3",
            "method=Live.getCounters&idSite=7&lastMinutes=1",
            "method=Live.getCounters&idSite=9&lastMinutes=3",
            "method=Live.getCounters&idSite=9&lastMinutes=1",
        ]
    )
    assert TOKEN not in caplog.text

    store, client = read(values, "acme-fm")
    [acme] = store.read_series("acme-fm", "matomo")
    assert dict(acme.metrics) == {"visitors": 12, "visits": 17, "actions": 21}
    [metro] = store.read_series("metro-kids", "matomo")
    assert dict(metro.metrics) == {"visitors": 2, "visits": 2, "actions": 0}
    assert store.read_series("ghost", "matomo") == []  # the failing site is not written as zeros
    failures = {o.source: o.error for o in report.failures}
    assert list(failures) == ["tenant:ghost"] and "website id = 9" in failures["tenant:ghost"]
    assert TOKEN not in dump_redis(client, key_prefix)


def test_wrong_token_is_reported_as_a_settings_problem(base_env, httpserver):
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(
        matomo_handler(SITES, token="another-token-entirely")
    )
    values = env_for(base_env, httpserver)
    report = matomo_live_poller.run(env=values)
    assert {o.source for o in report.failures} == {"tenant:acme-fm", "tenant:metro-kids", "tenant:ghost"}
    assert all("MATOMO_TOKEN" in o.error and "401" in o.error for o in report.failures)
    assert all(TOKEN not in o.error for o in report.failures)


def test_login_page_instead_of_json_is_a_clear_status(base_env, httpserver, tmp_path):
    page = (__import__("pathlib").Path(__file__).parent / "testdata" / "matomo_login_page.html").read_text()
    httpserver.expect_request("/index.php", method="POST").respond_with_data(page, content_type="text/html")
    values = env_for(base_env, httpserver)
    done = run_cli("run", "matomo_live_poller", settings=write_settings(tmp_path / "s.json", values))
    assert done.returncode == 1
    assert "not JSON" in done.stderr
    store, client = read(values, "acme-fm")
    rows = parse_status("matomo_live_poller", client.hgetall(store.keys.status("matomo_live_poller")))
    assert any(r.source == "tenant:acme-fm" and "not JSON" in r.last_error for r in rows)


@pytest.mark.parametrize("status", [500, 502])
def test_a_5xx_then_success_is_retried_and_stored(base_env, httpserver, status):
    httpserver.expect_ordered_request("/index.php", method="POST").respond_with_data("oops", status=status)
    httpserver.expect_ordered_request("/index.php", method="POST").respond_with_handler(
        matomo_handler(SITES, token=TOKEN)
    )
    values = env_for(base_env, httpserver, TENANTS=json.dumps({"acme-fm": {"matomo": {"site_id": 3}}}))
    report = matomo_live_poller.run(env=values)
    assert report.ok, report.summary()
    assert len(httpserver.log) == 2  # the failed request, then the retry
    store, _ = read(values, "acme-fm")
    assert [s.metrics["visitors"] for s in store.read_series("acme-fm", "matomo")] == [SITES[3][3]["visitors"]]


def _many_sites(count):
    """``count`` tenants, one site each, with counts that tell the sites apart."""
    sites = {s: {3: {"visits": s, "visitors": s, "actions": 1}} for s in range(1, count + 1)}
    tenants = {f"station-{s}": {"matomo": {"site_id": s}} for s in sites}
    return sites, tenants


@pytest.mark.parametrize("count", [499, 1000])
def test_a_platform_of_sites_fits_php_max_input_vars(base_env, httpserver, count):
    """Issue 35: one bulk POST carried 4 + 2 x sites fields; PHP keeps the first 1,000
    (max_input_vars), so from 499 sites the answer was short and every tenant failed."""
    sites, tenants = _many_sites(count)
    seen = []
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(
        matomo_handler(sites, token=TOKEN, seen=seen)
    )
    values = env_for(base_env, httpserver, TENANTS=json.dumps(tenants))
    report = matomo_live_poller.run(env=values)
    assert report.ok, report.summary()
    assert all(len(r["form"]) < 1000 for r in seen)  # every request fits PHP's default
    assert len(seen) == -(-count // 100)  # MATOMO_SITES_PER_REQUEST's default: 100 sites a request
    store, _ = read(values, "station-1")
    for s in (1, count // 2, count):
        [sample] = store.read_series(f"station-{s}", "matomo")
        assert sample.metrics["visitors"] == s


def test_a_failing_chunk_fails_only_its_own_tenants(base_env, httpserver):
    sites, tenants = _many_sites(30)
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(
        matomo_handler(sites, token=TOKEN, broken_sites=frozenset({17}))
    )
    values = env_for(base_env, httpserver, TENANTS=json.dumps(tenants), MATOMO_SITES_PER_REQUEST="10")
    report = matomo_live_poller.run(env=values)
    failed = {o.source for o in report.failures}
    assert failed == {f"tenant:station-{s}" for s in range(11, 21)}  # sites 11-20 share site 17's request
    assert all("500" in o.error for o in report.failures)
    store, _ = read(values, "station-1")
    for s in (1, 10, 21, 30):
        assert [x.metrics["visitors"] for x in store.read_series(f"station-{s}", "matomo")] == [s]
    assert store.read_series("station-17", "matomo") == []
