"""``python -m shared.cli`` as on-call uses it: real subprocess, real Redis."""

import json
import time

import redis

from shared.core.settings import load_store_settings
from shared.live.store import LiveStore, Sample
from shared.runtime.status import RunReport
from tests.helpers import run_cli, write_settings


def seed(env, tenant="acme-fm"):
    settings = load_store_settings(env)
    store = LiveStore(redis.Redis.from_url(settings.redis_url, decode_responses=True), settings=settings)
    now = int(time.time() * 1000)
    store.write(
        samples=[
            Sample(tenant, "icecast", now - (5 - i) * 30_000, {"listeners": 10 + i, "mount:/a": i}) for i in range(6)
        ]
        + [Sample(tenant, "matomo", now, {"visitors": 3, "visits": 4, "actions": 9})]
    )
    report = RunReport("icecast_poller")
    report.succeed("server:ice1", listeners=15)
    report.fail("server:ice2", "cannot connect (connection refused; http://ice2:8000/admin/stats)")
    store.write(report=report.finish())
    return now


def test_help_explains_every_command():
    for argv in (
        ["--help"],
        ["run", "--help"],
        ["show", "--help"],
        ["status", "--help"],
        ["run", "icecast_poller", "--help"],
        ["run", "eventhub_to_redis", "--help"],
    ):
        done = run_cli(*argv)
        assert done.returncode == 0, (argv, done.stderr)
        assert "usage:" in done.stdout
    assert "--from-eventhub" in run_cli("run", "eventhub_to_redis", "--help").stdout
    top = run_cli("--help").stdout
    assert all(word in top for word in ("run", "show", "status"))


def test_show_table_has_a_sparkline_per_metric(base_env, tmp_path):
    seed(base_env)
    done = run_cli("show", "acme-fm", settings=write_settings(tmp_path / "s.json", base_env))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    listeners = next(l for l in lines if l.strip().startswith("listeners"))
    assert listeners.split()[1:4] == ["15", "10", "15"]  # now, min, max
    assert "▁" in listeners and "█" in listeners
    assert any(l.strip().startswith("mount:/a") for l in lines)
    assert any(l.startswith("matomo") for l in lines)


def test_show_json_is_a_list_per_series_oldest_first(base_env, tmp_path):
    now = seed(base_env)
    done = run_cli("show", "acme-fm", "icecast", "--json", settings=write_settings(tmp_path / "s.json", base_env))
    data = json.loads(done.stdout)
    assert list(data) == ["icecast"]
    assert [row["listeners"] for row in data["icecast"]] == [10, 11, 12, 13, 14, 15]
    assert data["icecast"][-1] == {"time": now, "listeners": 15, "mount:/a": 5}


def test_show_unknown_series_and_empty_tenant(base_env, tmp_path):
    settings = write_settings(tmp_path / "s.json", base_env)
    bad = run_cli("show", "acme-fm", "radio", settings=settings)
    assert bad.returncode == 2 and "unknown series 'radio'" in bad.stderr
    unknown = run_cli("show", "nobody", settings=settings)
    assert unknown.returncode == 2 and "unknown tenant 'nobody': TENANTS has acme-fm, metro-kids" in unknown.stderr
    empty = run_cli("show", "metro-kids", settings=settings)
    assert empty.returncode == 0 and "no live data for tenant 'metro-kids'" in empty.stdout


def test_status_table_and_json(base_env, tmp_path):
    settings = write_settings(tmp_path / "s.json", base_env)
    empty = run_cli("status", settings=settings)
    assert "no runs recorded yet" in empty.stdout and empty.returncode == 0
    seed(base_env)
    shown = run_cli("status", settings=settings)
    row = next(l for l in shown.stdout.splitlines() if "server:ice2" in l)
    assert " fail " in row and "cannot connect" in row and shown.returncode == 1
    rows = json.loads(run_cli("status", "--json", settings=settings).stdout)["sources"]
    by_source = {r["source"]: r for r in rows if r["function"] == "icecast_poller"}
    assert by_source["server:ice1"]["state"] == "ok" and by_source["_run"]["state"] == "fail"


def test_unreachable_redis_is_exit_3_with_one_line(tmp_path):
    settings = write_settings(tmp_path / "s.json", {"REDIS_URL": "redis://:hunter2pass@127.0.0.1:1/0"})
    done = run_cli("status", settings=settings)
    assert done.returncode == 3
    assert done.stderr.strip().count("\n") == 0 and "redis unavailable" in done.stderr
    assert "hunter2pass" not in done.stderr


def test_missing_settings_file_and_non_string_values_are_exit_2(tmp_path):
    assert run_cli("status", settings=tmp_path / "nope.json").returncode == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Values": {"REDIS_URL": "redis://127.0.0.1:1", "LIVE_WINDOW_SECONDS": 7200}}))
    done = run_cli("status", settings=bad)
    assert done.returncode == 2 and "LIVE_WINDOW_SECONDS" in done.stderr and "must be strings" in done.stderr
