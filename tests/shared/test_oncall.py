"""Issue 16: status that tells the truth, errors that name the fix, no tracebacks.

Each numbered case was reproduced first; the CLI runs as on-call would run it, in a clean
environment against the real Redis, Azurite and the Matomo stand-in.
"""

import json
import logging
import re
import time

import pytest
import redis

import eventhub_to_redis
import matomo_live_poller
from devstack.matomo import matomo_handler
from devstack.process import free_port
from shared.core.settings import load_store_settings
from shared.runtime.status import parse_status
from tests.eventhub_to_redis.test_function import batch, iso
from tests.helpers import ROOT, run_cli, write_settings
from tests.matomo_live_poller.test_integration import SITES, TOKEN, env_for


def status_rows(env, function):
    settings = load_store_settings(env)
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    return {r.source: r for r in parse_status(function, client.hgetall(f"{settings.key_prefix}:status:{function}"))}


def test_1_a_fixed_settings_error_and_a_removed_source_leave_the_status(base_env, httpserver, tmp_path):
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(matomo_handler(SITES, token=TOKEN))
    env = env_for(base_env, httpserver)
    bad = run_cli(
        "run",
        "matomo_live_poller",
        settings=write_settings(tmp_path / "bad.json", {**env, "MATOMO_TIMEOUT_SECONDS": "soon"}),
    )
    assert bad.returncode == 2
    assert not status_rows(env, "matomo_live_poller")["settings"].gone
    # the ghost tenant's site has no data: a failing source, later removed from TENANTS
    matomo_live_poller.run(env=env)
    assert not status_rows(env, "matomo_live_poller")["tenant:ghost"].ok
    tenants = json.loads(env["TENANTS"])
    del tenants["ghost"]
    good_env = {**env, "TENANTS": json.dumps(tenants)}
    assert matomo_live_poller.run(env=good_env).ok
    rows = status_rows(env, "matomo_live_poller")
    assert rows["settings"].gone and rows["tenant:ghost"].gone and not rows["tenant:acme-fm"].gone
    assert rows["_run"].current_error is None  # the old error is history, not the state
    shown = run_cli("status", settings=write_settings(tmp_path / "good.json", good_env))
    assert shown.returncode == 0, shown.stdout
    assert "settings" not in shown.stdout and "tenant:ghost" not in shown.stdout
    assert "2 sources not in their function's latest run hidden" in shown.stdout
    assert "tenant:ghost" in run_cli("status", "--all", settings=tmp_path / "good.json").stdout


def test_1_an_idle_source_is_hidden_after_an_hour(base_env, httpserver):
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(matomo_handler(SITES, token=TOKEN))
    env = env_for(base_env, httpserver)
    tenants = json.loads(env["TENANTS"])
    del tenants["ghost"]
    env["TENANTS"] = json.dumps(tenants)
    matomo_live_poller.run(env=env, clock=lambda: time.time() - 2 * 3600)  # metro-kids last seen 2 h ago
    del tenants["metro-kids"]
    matomo_live_poller.run(env={**env, "TENANTS": json.dumps(tenants)})
    rows = status_rows(env, "matomo_live_poller")
    assert rows["tenant:metro-kids"].gone and rows["tenant:metro-kids"].ok and not rows["tenant:acme-fm"].gone


def test_2_storage_unreachable_is_in_the_status(base_env, tmp_path):
    from tests.store_downloads_fetcher.conftest import VENDOR

    dead = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    )
    env = {
        **base_env,
        "DOWNLOADS_STORAGE_CONNECTION": dead,
        "APPLE_ISSUER_ID": "x",
        "APPLE_KEY_ID": "K",
        "APPLE_VENDOR_NUMBER": VENDOR,
        "APPLE_PRIVATE_KEY": _ec_key(),
    }
    result = run_cli("run", "store_downloads_fetcher", settings=write_settings(tmp_path / "s.json", env))
    assert result.returncode == 3, result.stderr
    rows = status_rows(env, "store_downloads_fetcher")
    assert not rows["storage"].ok and "blob" in rows["storage"].last_error
    assert result.stderr.count("blob container") == 1  # said once
    assert "storage" in run_cli("status", settings=tmp_path / "s.json").stdout


def _ec_key():
    from devstack.keys import apple_key

    return apple_key().private


def test_3_dead_letters_show_as_warn_and_too_old_events_are_not_counted_as_stored(
    base_env, azurite_server, key_prefix, tmp_path
):
    from devstack.azurite import connection_string

    env = {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
    }
    bodies = [
        {"tenant": "acme-fm", "type": "app.play", "time": iso(5)},
        {"tenant": "acme-fm", "type": "app.play", "time": iso(3 * 3600)},  # valid, older than the window
        {"tenant": "acme-fm", "type": "app.play"},
    ]  # no time: dead letter
    report = eventhub_to_redis.run(batch(bodies), env=env)
    counts = report.outcomes["partition:0"].counts
    assert {k: counts[k] for k in ("events", "too_old", "hls", "deadlettered", "last_sequence")} == {
        "events": 1,
        "too_old": 1,
        "hls": 0,
        "deadlettered": 1,
        "last_sequence": 102,
    }
    assert status_rows(env, "eventhub_to_redis")["partition:0"].state == "WARN"
    shown = run_cli("status", settings=write_settings(tmp_path / "s.json", env))
    assert re.search(r"partition:0\s+warn .* 1 of 3 messages dead-lettered", shown.stdout), shown.stdout
    assert shown.returncode == 1  # not everything is ok


@pytest.mark.parametrize("cluster_url", ["plain", "closed"])
def test_5_a_cluster_setting_that_cannot_work_is_one_line_exit_3(base_env, tmp_path, cluster_url):
    url = base_env["REDIS_URL"] if cluster_url == "plain" else f"redis://127.0.0.1:{free_port()}/0"
    settings = write_settings(
        tmp_path / "s.json",
        {
            **base_env,
            "REDIS_URL": url,
            "REDIS_CLUSTER": "true",
            "MATOMO_URL": "http://127.0.0.1:1",
            "MATOMO_TOKEN": "t0k3n-1234",
        },
    )
    for command in (["status"], ["show", "acme-fm"], ["run", "matomo_live_poller"]):
        result = run_cli(*command, settings=settings)
        assert result.returncode == 3, (command, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") <= 1, result.stderr


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:99999/0", "redis://127.0.0.1:abc/0", "redis://127.0.0.1:6379/notanumber"]
)
def test_6_a_redis_url_the_client_cannot_use_is_a_settings_error(base_env, tmp_path, url):
    result = run_cli("status", settings=write_settings(tmp_path / "s.json", {**base_env, "REDIS_URL": url}))
    assert result.returncode == 2 and "REDIS_URL" in result.stderr and "Traceback" not in result.stderr


def test_7_a_wrong_redis_password_is_a_settings_error(base_env, tmp_path, redis_server):
    admin = redis.Redis(port=redis_server.port)
    admin.execute_command("ACL", "SETUSER", "oncall-test", "on", ">right-password-123", "~*", "+@all")
    url = f"redis://oncall-test:wrong-password-456@127.0.0.1:{redis_server.port}/0"
    result = run_cli("status", settings=write_settings(tmp_path / "s.json", {**base_env, "REDIS_URL": url}))
    assert result.returncode == 2 and "REDIS_URL" in result.stderr and "credentials" in result.stderr
    assert "wrong-password-456" not in result.stderr + result.stdout


@pytest.mark.parametrize("key", ["TENANTS", "ICECAST_SERVERS", "file"])
def test_8_settings_nested_100k_deep_are_exit_2(base_env, tmp_path, key):
    deep = "[" * 100_000
    if key == "file":
        path = tmp_path / "s.json"
        path.write_text('{"Values": ' + deep)
        result = run_cli("run", "icecast_poller", settings=path)
        assert result.returncode == 2 and str(path) in result.stderr
    else:
        env = {**base_env, "ICECAST_SERVERS": '[{"url": "http://127.0.0.1:1", "password": "pw"}]', key: deep}
        result = run_cli("run", "icecast_poller", settings=write_settings(tmp_path / "s.json", env))
        assert result.returncode == 2 and key in result.stderr
    assert "Traceback" not in result.stderr


def test_9_a_settings_error_is_printed_once(base_env, tmp_path):
    env = {**base_env, "IDENTITY_HASH_KEY": "short", "ICECAST_SERVERS": '[{"url": "http://127.0.0.1:1"}]'}
    result = run_cli("run", "icecast_poller", settings=write_settings(tmp_path / "s.json", env))
    assert result.returncode == 2 and result.stderr.count("IDENTITY_HASH_KEY") == 1, result.stderr


def test_11_help_and_usage_errors_say_what_they_mean(base_env, tmp_path):
    top = run_cli("--help")
    assert "--settings" in top.stdout and "Exit codes" in top.stdout
    sub = run_cli("run", "eventhub_to_redis", "--help")
    assert sub.returncode == 0 and "``" not in sub.stdout and "--consumer-group" in sub.stdout
    settings = write_settings(tmp_path / "s.json", base_env)
    assert run_cli("show", "acme-fm", "--minutes", "-5", settings=settings).returncode == 2
    assert run_cli("show", "acme-fm", "--minutes", "500", settings=settings).returncode == 2
    no_file = run_cli("status")  # the repository root has no local.settings.json
    assert no_file.returncode == 2 and "no ./local.settings.json" in no_file.stderr


def test_12_a_down_icecast_prints_no_urllib3_retry_lines(base_env, tmp_path):
    env = {
        **base_env,
        "ICECAST_SERVERS": json.dumps(
            [{"name": "down", "url": f"http://127.0.0.1:{free_port()}", "password": "pw-123456"}]
        ),
    }
    result = run_cli("run", "icecast_poller", settings=write_settings(tmp_path / "s.json", env))
    assert result.returncode == 1 and "server:down" in result.stderr
    assert "Retrying" not in result.stderr


def test_13_the_workers_own_azure_functions_lines_stay_on():
    from shared.runtime.logs import install

    install()
    # nothing above the worker's own logger is raised: it logs at whatever the host configures
    assert logging.getLogger("azure").level == logging.getLogger("azure.functions").level == logging.NOTSET
    assert logging.getLogger("azure.core.pipeline.policies.http_logging_policy").getEffectiveLevel() == logging.WARNING


def test_14_every_link_in_the_readme_and_docs_resolves_inside_the_repository():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("*/README.md"))]
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        assert "DESIGN.md" not in raw and "../shared" not in raw, page
        text = re.sub(r"`[^`\n]*`", "", raw)  # code spans are not links
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.exists() and ROOT in resolved.parents, (page, target)
    assert "not built yet" not in (ROOT / "README.md").read_text()


HOSTILE = [  # (function to run, setting, a value a person could type that cannot work)
    ("icecast_poller", "ICECAST_SERVERS", "not json"),
    ("icecast_poller", "ICECAST_SERVERS", "[]"),
    ("icecast_poller", "ICECAST_SERVERS", '[{"url": "ftp://x"}]'),
    ("icecast_poller", "ICECAST_SERVERS", "[" * 5000),
    ("icecast_poller", "ICECAST_CONNECT_TIMEOUT_SECONDS", "-1"),
    ("icecast_poller", "ICECAST_READ_TIMEOUT_SECONDS", "x"),
    ("icecast_poller", "ICECAST_MAX_PARALLEL", "0"),
    ("icecast_poller", "ICECAST_RUN_DEADLINE_SECONDS", "1e999"),
    ("icecast_poller", "IDENTITY_HASH_KEY", "short"),
    ("icecast_poller", "TENANTS", "{"),
    ("icecast_poller", "TENANTS", '{"a\\n": {}}'),
    ("icecast_poller", "TENANTS", "@/no/such/file.json"),
    ("icecast_poller", "REDIS_URL", "http://x"),
    ("icecast_poller", "REDIS_URL", "redis://:6379"),
    ("icecast_poller", "REDIS_URL", "redis://h:70000/0"),
    ("icecast_poller", "REDIS_CLUSTER", "maybe"),
    ("icecast_poller", "LIVE_WINDOW_SECONDS", "-7200"),
    ("icecast_poller", "REDIS_KEY_PREFIX", "a{b}"),
    ("matomo_live_poller", "MATOMO_URL", "matomo.example.com"),
    ("matomo_live_poller", "MATOMO_WINDOW_MINUTES", "0"),
    ("matomo_live_poller", "MATOMO_TIMEOUT_SECONDS", "ten"),
    ("store_downloads_fetcher", "APPLE_LOOKBACK_DAYS", "-3"),
    ("store_downloads_fetcher", "GOOGLE_SERVICE_ACCOUNT_JSON", "{}"),
    ("store_downloads_fetcher", "APPLE_PRIVATE_KEY", "not a key"),
    ("store_downloads_fetcher", "DOWNLOADS_STORAGE_CONNECTION", "nonsense"),
]


@pytest.mark.parametrize("function,key,value", HOSTILE, ids=[f"{k}={v[:12]!r}" for _, k, v in HOSTILE])
def test_hostile_values_of_every_setting_are_exit_2_naming_the_key(
    base_env, azurite_server, tmp_path, function, key, value
):
    from devstack.azurite import connection_string

    env = {
        **base_env,
        "ICECAST_SERVERS": '[{"url": "http://127.0.0.1:1", "password": "pw"}]',
        "MATOMO_URL": "http://127.0.0.1:1",
        "MATOMO_TOKEN": "t0k3n-123456",
        "APPLE_ISSUER_ID": "x",
        "APPLE_KEY_ID": "K",
        "APPLE_VENDOR_NUMBER": "1",
        "APPLE_PRIVATE_KEY": _ec_key(),
        # A real storage account: the run records the settings failure, which settles the status
        # epoch there (shared.runtime.epoch); a dead endpoint would only add the SDK's retries.
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        key: value,
    }
    result = run_cli("run", function, settings=write_settings(tmp_path / "s.json", env))
    assert result.returncode == 2, result.stderr
    assert key in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1  # one line


def test_doctor_reaches_everything_and_names_the_one_component_that_is_down(
    base_env, httpserver, azurite_server, tmp_path, key_prefix
):
    from devstack.appstore import appstore_handler
    from devstack.azurite import connection_string
    from devstack.keys import apple_key
    from tests.store_downloads_fetcher.conftest import ISSUER, KEY_ID, VENDOR, apple_env

    key = apple_key()
    httpserver.expect_request("/index.php", method="POST").respond_with_handler(matomo_handler(SITES, token=TOKEN))
    httpserver.expect_request("/v1/salesReports").respond_with_handler(
        appstore_handler(key.public, issuer=ISSUER, key_id=KEY_ID, vendor=VENDOR, days={}, seen=[])
    )
    tenants = {"acme-fm": {"matomo": {"site_id": 3}}}
    env = {
        **base_env,
        "TENANTS": json.dumps(tenants),
        "MATOMO_URL": httpserver.url_for("/"),
        "MATOMO_TOKEN": TOKEN,
        **apple_env(httpserver, {"private": key.private}),
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DOWNLOADS_CONTAINER": f"d{key_prefix.lower()}",
    }
    assert matomo_live_poller.run(env=env).ok  # doctor judges the runs as status does: let them run once
    import store_downloads_fetcher

    assert store_downloads_fetcher.run(env=env).ok
    healthy = run_cli("doctor", settings=write_settings(tmp_path / "ok.json", env))
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert re.search(r"^ok  +run matomo_live_poller tenant:acme-fm: ok", healthy.stdout, re.M)
    assert re.search(r"^ok  +redis: PING answered", healthy.stdout, re.M)
    assert re.search(r"^ok  +apple sales reports API: token accepted", healthy.stdout, re.M)
    assert "not configured" in healthy.stdout  # icecast, event hub: none of their settings here
    closed = f"127.0.0.1:{free_port()}"
    for component, change in (
        ("redis", {"REDIS_URL": f"redis://{closed}/0"}),
        ("blob container", {"AzureWebJobsStorage": connection_string(int(closed.split(":")[1]))}),
        ("matomo", {"MATOMO_URL": f"http://{closed}/"}),
        ("apple", {"APPLE_PRIVATE_KEY": apple_key().private}),
    ):
        down = run_cli("doctor", settings=write_settings(tmp_path / f"{component}.json", {**env, **change}))
        failing = [line for line in down.stdout.splitlines() if line.startswith("FAIL")]
        assert down.returncode != 0 and len(failing) == 1 and component in failing[0], (component, down.stdout)
    assert "APPLE_KEY_ID" in failing[0]  # names what to fix
