"""Issue 28: status, doctor and /api/health judge every source the same way (shared.runtime.verdict),
including dead-letter ratios, Event Hub lag and a Redis that lost its data."""

import datetime as dt
import json
import time

import pytest
import redis

import eventhub_to_redis
import matomo_live_poller
from devstack.azurite import connection_string
from devstack.matomo import matomo_handler
from devstack.process import free_port
from shared.read import api as read_side
from tests.eventhub_to_redis.test_function import batch, iso
from tests.helpers import run_cli, write_settings
from tests.matomo_live_poller.test_integration import SITES, TOKEN


@pytest.fixture
def env(base_env, azurite_server, key_prefix, httpserver):
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(matomo_handler(SITES, token=TOKEN))
    return {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
        "EVENTHUB_NAME": "events",
        "EVENTHUB_CONNECTION": "Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=listen;"
        "SharedAccessKey=a2V5a2V5a2V5;EntityPath=events",
        "MATOMO_URL": httpserver.url_for("/"),
        "MATOMO_TOKEN": TOKEN,
        "TENANTS": json.dumps({"acme-fm": {"matomo": {"site_id": 3}}}),
    }


def health(env, **kwargs):
    status, _, body = read_side.health(env=env, **kwargs)
    return status, json.loads(body)


def test_a_batch_of_only_dead_letters_fails_health_and_status(env, tmp_path):
    assert matomo_live_poller.run(env=env).ok
    eventhub_to_redis.run(batch([b"{broken" for _ in range(30)]), env=env)  # a producer's schema break
    status, doc = health(env)
    assert status == 503
    [problem] = [p for p in doc["problems"] if p["function"] == "eventhub_to_redis"]
    assert problem["state"] == "fail" and "30 of 30 messages dead-lettered" in problem["reason"]
    shown = run_cli("status", settings=write_settings(tmp_path / "s.json", env))
    assert shown.returncode == 1 and "30 of 30 messages dead-lettered" in shown.stdout


def test_a_replay_in_batches_counts_the_whole_run(env, tmp_path):
    assert matomo_live_poller.run(env=env).ok
    lines = [
        json.dumps({"tenant": "acme-fm", "type": "app.play", "time": iso(i % 600)}) if i % 10 else "not json"
        for i in range(1000)
    ]
    (tmp_path / "replay.jsonl").write_text("\n".join(lines) + "\n")
    settings = write_settings(tmp_path / "s.json", env)
    replayed = run_cli("run", "eventhub_to_redis", "--input", str(tmp_path / "replay.jsonl"), settings=settings)
    # Issue 38: the replay itself says so, and fails as health does (10 % is above the 5 % default)
    assert replayed.returncode == 1 and "100 of 1000 messages dead-lettered (10%)" in replayed.stderr
    shown = run_cli("status", settings=settings)
    assert "100 of 1000 messages dead-lettered" in shown.stdout  # not "10 in the last batch"
    assert "above HEALTH_MAX_DEADLETTER_RATIO" in shown.stdout and shown.returncode == 1
    assert health({**env, "HEALTH_MAX_DEADLETTER_RATIO": "0.2"})[0] == 200  # 10 % is within a 20 % limit
    lenient = write_settings(tmp_path / "l.json", {**env, "HEALTH_MAX_DEADLETTER_RATIO": "0.2"})
    again = run_cli("run", "eventhub_to_redis", "--input", str(tmp_path / "replay.jsonl"), settings=lenient)
    assert again.returncode == 0 and "100 of 1000 messages dead-lettered (10%)" in again.stdout


def test_lag_behind_the_event_hub_fails_health(env, tmp_path):
    assert matomo_live_poller.run(env=env).ok
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
    eventhub_to_redis.run(
        batch([{"tenant": "acme-fm", "type": "app.play", "time": iso(5)}], enqueued=long_ago), env=env
    )
    status, doc = health(env)
    [problem] = [p for p in doc["problems"] if p["function"] == "eventhub_to_redis"]
    assert status == 503 and "s behind the Event Hub" in problem["reason"]
    assert health({**env, "HEALTH_MAX_EVENTHUB_LAG_SECONDS": "3600"})[0] == 200
    assert "behind the Event Hub" in run_cli("status", settings=write_settings(tmp_path / "s.json", env)).stdout


def test_redis_losing_its_data_is_told_from_a_new_install(env, tmp_path):
    settings = write_settings(tmp_path / "s.json", env)
    status, doc = health(env)
    assert status == 503 and "no run recorded" in doc["problems"][0]["reason"]  # a new install: never ran
    assert matomo_live_poller.run(env=env).ok
    eventhub_to_redis.run(batch([{"tenant": "acme-fm", "type": "app.play", "time": iso(5)}]), env=env)
    assert health(env)[0] == 200
    client = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    client.delete(*client.keys(f"{env['REDIS_KEY_PREFIX']}:*"))  # a flush, a restart without persistence
    status, doc = health(env)
    assert status == 200 and doc["redis_lost_data_at"], doc
    assert {p["state"] for p in doc["problems"]} == {"unknown"}
    shown = run_cli("status", settings=settings)
    # status agrees with health (200): "unknown" after a loss is not a failure (issue 38.3)
    assert "Redis lost its data at about" in shown.stdout and shown.returncode == 0
    assert "matomo_live_poller" in shown.stdout and "eventhub_to_redis" in shown.stdout  # every enabled function
    assert matomo_live_poller.run(env=env).ok  # the first run since: its own state again
    status, doc = health(env)
    assert [p["function"] for p in doc["problems"]] == ["eventhub_to_redis"] and doc["redis_lost_data_at"]
    later = time.time() + 3600  # past the freshness limit, still not run: now it fails
    assert health({**env, "HEALTH_MAX_AGE_MATOMO_LIVE_POLLER_SECONDS": "7200"}, clock=lambda: later)[0] == 503


def test_doctor_without_settings_and_without_a_trigger_connection_is_a_settings_failure(env, tmp_path):
    empty = run_cli("doctor")
    assert empty.returncode == 2 and "settings came from the environment only" in empty.stderr
    no_hub = {k: v for k, v in env.items() if k != "EVENTHUB_CONNECTION"}
    done = run_cli("doctor", settings=write_settings(tmp_path / "s.json", no_hub))
    assert done.returncode == 2, done.stdout
    assert any(
        l.startswith("FAIL") and "settings eventhub_to_redis" in l and "EVENTHUB_CONNECTION" in l
        for l in done.stdout.splitlines()
    )


def test_a_storage_outage_names_the_endpoint_and_the_cause_fast(env, tmp_path):
    port = free_port()
    dead = {**env, "AzureWebJobsStorage": connection_string(port)}
    started = time.monotonic()
    done = run_cli("doctor", settings=write_settings(tmp_path / "s.json", dead))
    took = time.monotonic() - started
    line = next(l for l in done.stdout.splitlines() if l.startswith("FAIL") and "blob container" in l)
    assert f"127.0.0.1:{port}: connection refused" in line and done.returncode == 3
    assert took < 10  # one refused connection, no SDK retries (under 5 s on an idle machine)


def test_dead_letters_are_logged_only_once_stored(env, caplog):
    import logging

    dead = {**env, "AzureWebJobsStorage": connection_string(free_port())}
    with caplog.at_level(logging.INFO), pytest.raises(Exception):
        eventhub_to_redis.run(batch([b"{broken"]), env=dead)
    assert "dead-lettered seq" not in caplog.text and "dead letters not stored" in caplog.text


def test_health_judges_a_timer_by_its_run_and_agrees_with_the_full_judgement(base_env, httpserver):
    """Issue 35.5: /api/health reads a timer function's run as a whole, not each of its tenants
    (172 ms at 500 stations). Whatever tenants fail, it fails exactly when the per-source
    judgement of `status` fails, names one of the failing tenants, and lists one entry per
    function, however many tenants there are."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from shared.read.api import judge_functions, store_for

    sites = {s: {3: {"visits": s, "visitors": s, "actions": 1}} for s in range(1, 41)}
    broken: set[int] = set()
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(
        lambda request: matomo_handler(sites, token=TOKEN, broken_sites=frozenset(broken))(request)
    )
    env = {
        **base_env,
        "MATOMO_URL": httpserver.url_for("/"),
        "MATOMO_TOKEN": TOKEN,
        "MATOMO_SITES_PER_REQUEST": "5",
        "TENANTS": json.dumps({f"station-{s}": {"matomo": {"site_id": s}} for s in range(1, 41)}),
    }

    @settings(max_examples=8, deadline=None)
    @given(st.sets(st.integers(1, 40), max_size=3))
    def check(failing_sites):
        broken.clear()
        broken.update(failing_sites)
        matomo_live_poller.run(env=env)
        status, doc = health(env)
        full, _ = judge_functions(
            store_for(env, None, time.time), ["matomo_live_poller"], env, now_ms=int(time.time() * 1000)
        )
        failing = {v.source for v in full if v.state == "fail"}
        assert (status == 503) == bool(failing) == bool(failing_sites)
        assert [c["function"] for c in doc["checked"]] == ["matomo_live_poller"]
        if failing:
            [problem] = doc["problems"]
            assert any(source in problem["reason"] for source in failing)

    check()


def test_a_loss_is_told_from_a_new_install_when_the_first_record_was_a_failure(env):
    """Issue 38: the install's first status write came from a run that failed early (its
    settings), which wrote no first-run marker: the first Redis loss then read as a new
    install."""
    with pytest.raises(Exception):
        matomo_live_poller.run(env={**env, "MATOMO_URL": "ftp://nowhere"})  # fails before it polls
    client = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    assert client.keys(f"{env['REDIS_KEY_PREFIX']}:status:*")  # its failure was recorded
    client.delete(*client.keys(f"{env['REDIS_KEY_PREFIX']}:*"))  # then Redis loses everything
    status, doc = health(env)
    assert doc.get("redis_lost_data_at"), doc  # not "a new install that has not run yet"
