"""Issue 39: adding a collector is its own folder and nothing else hand-written.

A stub SHOUTcast poller (tests/new_collector/stub.py) dropped into a copy of the app goes
through every surface a maintainer would try: `make docs` (its settings in the sample and in
docs/settings.md, its metrics in docs/redis-schema.md), `run`, `show`, `status`, `doctor`,
health; tests/worker/test_new_collector_in_the_worker.py has Microsoft's worker library load
it (Python 3.13, as on Azure).
"""

import json
import subprocess
import sys

import pytest

from tests.new_collector.stub import NAME, build_app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("app"))


def _python(app, *args, env=None, timeout=120):
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(app), "PYTHONPATH": str(app), **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=app, env=clean, capture_output=True, text=True, timeout=timeout)


def _settings(app, base_env, url, **extra):
    path = app / f"settings-{base_env['REDIS_KEY_PREFIX']}.json"
    values = {**base_env, "SHOUTCAST_URL": url, "SHOUTCAST_TENANT": "acme-fm", **extra}
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return str(path)


def test_make_docs_writes_its_settings_schedule_and_metrics(app):
    for script in ("scripts/metric_docs.py", "scripts/settings_docs.py"):
        done = _python(app, script)
        assert done.returncode == 0, done.stderr
    sample = json.loads((app / "local.settings.sample.json").read_text())["Values"]
    assert sample["SHOUTCAST_URL"] == "http://127.0.0.1:8000"
    assert sample["SHOUTCAST_POLLER_SCHEDULE"] == "*/30 * * * * *"
    settings_doc = (app / "docs" / "settings.md").read_text()
    assert "## shoutcast_poller" in settings_doc and "| `SHOUTCAST_TENANT` | required |" in settings_doc
    assert "| `shoutcast` | `listeners` | connections |" in (app / "docs" / "redis-schema.md").read_text()


def test_run_show_status_doctor_and_health_know_it(app, base_env, httpserver):
    httpserver.expect_request("/statistics").respond_with_json({"currentlisteners": 42, "streams": []})
    settings = _settings(app, base_env, httpserver.url_for("/").rstrip("/"))

    ran = _python(app, "-m", "shared.cli", "run", NAME, "--settings", settings)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    shown = _python(app, "-m", "shared.cli", "show", "acme-fm", "shoutcast", "--json", "--settings", settings)
    assert shown.returncode == 0 and json.loads(shown.stdout)["shoutcast"][-1]["listeners"] == 42, shown.stderr
    status = _python(app, "-m", "shared.cli", "status", "--json", "--settings", settings)
    sources = {(s["function"], s["source"]): s["state"] for s in json.loads(status.stdout)["sources"]}
    assert sources[(NAME, "server")] == "ok", status.stdout
    doctor = _python(app, "-m", "shared.cli", "doctor", "--settings", settings)
    assert f"shoutcast {httpserver.url_for('/').rstrip('/')}" in doctor.stdout and "42 listeners" in doctor.stdout
    health = _python(
        app,
        "-c",
        "import json, sys; from shared.read.api import health; "
        "status, _, body = health(env=json.load(open(sys.argv[1]))['Values']); print(status, body.decode())",
        settings,
    )
    code, body = health.stdout.split(" ", 1)
    assert NAME in json.loads(body)["functions"] and code == "200", health.stdout + health.stderr


def test_an_undeclared_metric_is_not_written_and_fails_the_run(app, base_env, httpserver):
    """The guide's tests passed a typo; the runtime does not."""
    httpserver.expect_request("/statistics").respond_with_json({"currentlisteners": 7})
    collect = app / NAME / "collect.py"
    original = collect.read_text()
    collect.write_text(original.replace('{"listeners": listeners}', '{"listners": listeners}'))
    try:
        settings = _settings(app, base_env, httpserver.url_for("/").rstrip("/"))
        ran = _python(app, "-m", "shared.cli", "run", NAME, "--settings", settings)
        assert ran.returncode == 1 and "shoutcast.listners: not declared" in ran.stderr + ran.stdout
        shown = _python(app, "-m", "shared.cli", "show", "acme-fm", "shoutcast", "--json", "--settings", settings)
        assert "listners" not in shown.stdout
    finally:
        collect.write_text(original)
