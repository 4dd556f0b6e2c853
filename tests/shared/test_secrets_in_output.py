"""Issue 26.7: no secret in any output, whatever a server echoes; settings that would weaken TLS
or send a token in clear are refused by name."""

import json

import pytest
from werkzeug import Response

from tests.helpers import run_cli, write_settings
from tests.matomo_live_poller.test_integration import TOKEN

SECRETS = {"MATOMO_TOKEN": TOKEN, "ICECAST_PASSWORD": "ice-admin-pw-8c1f", "REDIS_PASSWORD": "redis-pw-55aa31"}


def echo_everything(request):
    """A server that answers every request with the request itself (form, query, headers): as a
    Matomo error (HTTP 200, result "error"), every other time as a 500 page."""
    echoed = json.dumps(
        {"form": request.form.to_dict(), "args": request.args.to_dict(), "headers": dict(request.headers)}
    )
    echo_everything.calls = getattr(echo_everything, "calls", 0) + 1
    if echo_everything.calls % 2:
        return Response(
            json.dumps({"result": "error", "message": f"bad request: {echoed}"}), content_type="application/json"
        )
    return Response(f"<html><body>Internal error while handling {echoed}</body></html>", status=500)


@pytest.fixture
def leaky_env(base_env, httpserver, tmp_path):
    httpserver.expect_request("/index.php").respond_with_handler(echo_everything)
    httpserver.expect_request("/admin/stats").respond_with_handler(echo_everything)
    httpserver.expect_request("/admin/listclients").respond_with_handler(echo_everything)
    servers = [{"name": "ice1", "url": httpserver.url_for("/").rstrip("/"), "password": SECRETS["ICECAST_PASSWORD"]}]
    return {
        **base_env,
        "MATOMO_URL": httpserver.url_for("/"),
        "MATOMO_TOKEN": TOKEN,
        "ICECAST_SERVERS": json.dumps(servers),
        "TENANTS": json.dumps({"acme-fm": {"icecast": {"mounts": ["/a.mp3"]}, "matomo": {"site_id": 3}}}),
    }


def scan(done, *extra):
    text = done.stdout + done.stderr
    for name, secret in {**SECRETS, "IDENTITY_HASH_KEY": "test-identity-hash-key-0123456789"}.items():
        assert secret not in text, (name, text[-2000:])
    return text


def test_an_echoing_server_never_gets_a_secret_printed(leaky_env, tmp_path):
    settings = write_settings(tmp_path / "s.json", leaky_env)
    for args in (
        ["doctor"],
        ["run", "matomo_live_poller"],
        ["run", "icecast_poller"],
        ["status"],
        ["status", "--json"],
    ):
        done = run_cli(*args, settings=settings)
        text = scan(done)
        assert done.returncode != 0 or args[0] == "status", (args, text)


def test_a_mistyped_url_with_a_password_is_named_not_printed(base_env, tmp_path):
    env = {
        **base_env,
        "MATOMO_URL": f"htp://admin:{SECRETS['ICECAST_PASSWORD']}@matomo.example.org/",
        "MATOMO_TOKEN": TOKEN,
        "TENANTS": json.dumps({"acme-fm": {"matomo": {"site_id": 3}}}),
    }
    done = run_cli("run", "matomo_live_poller", settings=write_settings(tmp_path / "s.json", env))
    assert done.returncode == 2 and "MATOMO_URL" in scan(done)
    bad_port = {**base_env, "REDIS_URL": f"redis://user:{SECRETS['REDIS_PASSWORD']}@127.0.0.1:99999/0"}
    done = run_cli("status", settings=write_settings(tmp_path / "r.json", bad_port))
    assert done.returncode == 2 and "REDIS_URL" in scan(done)


@pytest.mark.parametrize(
    "url,credential,named",
    [
        ("rediss://example.redis.cache.windows.net:6380/0?ssl_cert_reqs=none", "", "REDIS_URL"),
        ("rediss://example.redis.cache.windows.net:6380/0?ssl_cert_reqs=optional", "", "REDIS_URL"),
        ("rediss://example.redis.cache.windows.net:6380/0?ssl_check_hostname=false", "", "REDIS_URL"),
        ("redis://example.redis.azure.net:10000/0", "managedidentity", "REDIS_CREDENTIAL"),
    ],
)
def test_settings_that_weaken_tls_are_refused_by_name(base_env, tmp_path, url, credential, named):
    env = {**base_env, "REDIS_URL": url, **({"REDIS_CREDENTIAL": credential} if credential else {})}
    done = run_cli("status", settings=write_settings(tmp_path / "s.json", env))
    assert done.returncode == 2 and named in done.stderr, done.stderr
