"""Issue 17: Microsoft Entra ID for Redis through the same code path as on Azure.

A local stand-in for the App Service managed identity endpoint (what Functions expose as
IDENTITY_ENDPOINT/IDENTITY_HEADER; azure-identity reads them) issues short-lived tokens with an
``oid`` claim; a real Redis with the default user off accepts each token as the password of the
user named by that oid, and forgets old tokens as they rotate.
"""

import base64
import json
import logging
import time
import uuid

import jwt
import pytest
import redis as redis_lib

import eventhub_to_redis
from tests.eventhub_to_redis.test_function import batch, iso

OID = "2f1c7a54-7d0e-4c55-9d6a-6e1f0c3b9a11"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
HEADER = "identity-header-" + uuid.uuid4().hex


class _AllNodes:
    """ACL commands to every node (ACLs are per node), reads through a cluster-aware client."""

    def __init__(self, ports, cluster, ca):
        self.nodes = [
            redis_lib.Redis(
                port=p, username="admin", password="admin-pw-123456", decode_responses=True, ssl=True, ssl_ca_certs=ca
            )
            for p in ports
        ]
        self.reader = cluster or self.nodes[0]

    def execute_command(self, *args):
        return [node.execute_command(*args) for node in self.nodes][0]

    def zcard(self, key):
        return self.reader.zcard(key)


@pytest.fixture(params=["single", "cluster"])
def entra_redis(request, tmp_path):
    """TLS only, as Azure Managed Redis: a token is a password and never travels in clear."""
    from devstack.redis_servers import RedisCluster, redis_server
    from devstack.tls import make_tls

    tls = make_tls(tmp_path / "tls")
    if request.param == "single":
        servers = [redis_server(tmp_path / "redis", tls=tls).start()]
        stop = servers[0].stop
    else:
        cluster = RedisCluster(tmp_path / "cluster", tls=tls).start()
        servers, stop = cluster.nodes, cluster.stop
    ports = [s.port for s in servers]
    ca = str(tls.ca)
    for port in ports:
        plain = redis_lib.Redis(port=port, decode_responses=True, ssl=True, ssl_ca_certs=ca)
        plain.execute_command("ACL", "SETUSER", "admin", "on", ">admin-pw-123456", "~*", "&*", "+@all")
    reader = None
    if request.param == "cluster":
        from redis.cluster import RedisCluster as ClusterClient

        reader = ClusterClient(
            host="127.0.0.1",
            port=ports[0],
            username="admin",
            password="admin-pw-123456",
            decode_responses=True,
            ssl=True,
            ssl_ca_certs=ca,
        )
    admin = _AllNodes(ports, reader, ca)
    admin.execute_command("ACL", "SETUSER", "default", "off")  # keys are disabled, as security baselines require
    url = f"rediss://127.0.0.1:{ports[0]}/0"
    yield url, admin, request.param == "cluster", ca
    stop()


@pytest.fixture
def identity_endpoint(httpserver, monkeypatch, entra_redis):
    """The App Service identity endpoint (api-version 2019-08-01), as azure-identity calls it."""
    from werkzeug import Response

    _, admin, _, _ = entra_redis
    issued = []

    def handler(request):
        if request.headers.get("X-IDENTITY-HEADER") != HEADER or request.args.get("api-version") != "2019-08-01":
            return Response(json.dumps({"error": "bad request"}), status=400, content_type="application/json")
        now = int(time.time())
        resource = request.args.get("resource")
        token = jwt.encode(
            {
                "oid": OID,
                "tid": TENANT,
                "iss": f"https://sts.windows.net/{TENANT}/",
                "aud": resource,
                "nbf": now - 5,
                "iat": now,
                "exp": now + 90,
                "n": len(issued),
            },
            "stand-in-signing-key-0123456789abcdef",
            algorithm="HS256",
        )
        issued.append(token)
        # Redis (Azure's) accepts any valid token of the identity: the newest two here.
        admin.execute_command("ACL", "SETUSER", OID, "on", f">{token}", "~*", "&*", "+@all")
        if len(issued) >= 3:  # the one before the previous: expired
            admin.execute_command("ACL", "SETUSER", OID, f"<{issued[-3]}")
        body = {"access_token": token, "expires_on": str(now + 90), "resource": resource, "token_type": "Bearer"}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/msi/token").respond_with_handler(handler)
    for name in ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", httpserver.url_for("/msi/token"))
    monkeypatch.setenv("IDENTITY_HEADER", HEADER)
    return issued


def test_the_collectors_write_with_rotating_entra_tokens_and_never_log_them(
    entra_redis, identity_endpoint, base_env, azurite_server, key_prefix, caplog
):
    from devstack.azurite import connection_string
    from shared.clients.redis_client import forget_clients

    url, admin, cluster, ca = entra_redis
    env = {
        **base_env,
        "REDIS_URL": url,
        "REDIS_CREDENTIAL": "managedidentity",
        "REDIS_CLUSTER": str(cluster).lower(),
        "REDIS_CA_FILE": ca,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
    }
    forget_clients()
    from shared.clients.azure_auth import forget_credentials

    forget_credentials()  # a credential made for another test's identity endpoint
    with caplog.at_level(logging.DEBUG):
        for run in range(5):
            report = eventhub_to_redis.run(
                batch([{"tenant": "acme-fm", "type": "app.play", "time": iso(run)}], first_sequence=run), env=env
            )
            assert report.ok
            # Redis ends sessions whose token expired: simulate it after every run
            admin.execute_command("CLIENT", "KILL", "USER", OID)
    assert len(identity_endpoint) >= 5  # a new token at least every run (each lasts 90 s: inside the refresh margin)
    assert admin.zcard(f"{key_prefix}:events:{{acme-fm}}") == 5  # every run stored, across every rotation
    assert all(token not in caplog.text and token.split(".")[1] not in caplog.text for token in identity_endpoint)
    forget_clients()


def test_a_redis_url_with_a_password_and_entra_id_is_refused(base_env):
    from shared.core.errors import ConfigError
    from shared.core.settings import load_store_settings

    with pytest.raises(ConfigError) as caught:
        load_store_settings(
            {
                **base_env,
                "REDIS_URL": "rediss://:key@example.redis.azure.net:10000",
                "REDIS_CREDENTIAL": "managedidentity",
            }
        )
    assert "REDIS_URL" in caught.value.problems
    with pytest.raises(ConfigError) as caught:
        load_store_settings({**base_env, "REDIS_CREDENTIAL": "password"})
    assert "REDIS_CREDENTIAL" in caught.value.problems


@pytest.fixture
def storage_identity(httpserver, monkeypatch):
    """The identity endpoint again, for Blob Storage tokens (resource https://storage.azure.com)."""
    from werkzeug import Response

    from shared.clients.azure_auth import forget_credentials

    issued = []

    def handler(request):
        if request.headers.get("X-IDENTITY-HEADER") != HEADER:
            return Response("{}", status=400, content_type="application/json")
        now = int(time.time())
        resource = request.args.get("resource")
        token = jwt.encode(
            {
                "oid": OID,
                "tid": TENANT,
                "iss": f"https://sts.windows.net/{TENANT}/",
                "aud": resource,
                "nbf": now - 5,
                "iat": now,
                "exp": now + 3600,
            },
            "stand-in-signing-key-0123456789abcdef",
            algorithm="HS256",
        )
        issued.append(resource)
        return Response(
            json.dumps(
                {"access_token": token, "expires_on": str(now + 3600), "resource": resource, "token_type": "Bearer"}
            ),
            content_type="application/json",
        )

    httpserver.expect_request("/msi/token").respond_with_handler(handler)
    for name in ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", httpserver.url_for("/msi/token"))
    monkeypatch.setenv("IDENTITY_HEADER", HEADER)
    forget_credentials()
    yield issued
    forget_credentials()


def test_dead_letters_reach_blob_storage_with_the_apps_identity_and_no_key(
    storage_identity, base_env, tmp_path, monkeypatch
):
    """Azurite over HTTPS with OAuth, and an account key the app does not know: the app writes
    with AzureWebJobsStorage__blobServiceUri + __credential=managedidentity alone."""
    import base64
    import os

    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
    from azure.storage.blob import BlobServiceClient

    from devstack.azurite import KEY, azurite
    from devstack.tls import make_tls
    from tests.conftest import _start

    tls = make_tls(tmp_path / "tls")
    secret_key = base64.b64encode(os.urandom(64)).decode()
    server = _start(lambda: azurite(tmp_path / "azurite", oauth_tls=tls, account_key=secret_key).start())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))  # trust the throwaway CA (the SDK uses requests)
    try:
        url = f"https://127.0.0.1:{server.port}/devstoreaccount1"
        env = {
            **base_env,
            "AzureWebJobsStorage__blobServiceUri": url,
            "AzureWebJobsStorage__credential": "managedidentity",
            "DEADLETTER_CONTAINER": "dl-identity",
        }
        report = eventhub_to_redis.run(batch([b"not json, from 198.51.100.31"]), env=env)
        assert report.outcomes["partition:0"].counts["deadlettered"] == 1
        assert storage_identity and all(r.startswith("https://storage.azure.com") for r in storage_identity)
        admin = BlobServiceClient(url, credential={"account_name": "devstoreaccount1", "account_key": secret_key})
        names = [b.name for b in admin.get_container_client("dl-identity").list_blobs()]
        assert len(names) == 1 and names[0].startswith("eventhub_to_redis/")
        known = BlobServiceClient(url, credential={"account_name": "devstoreaccount1", "account_key": KEY})
        with pytest.raises((ClientAuthenticationError, HttpResponseError)):  # the well-known key does not work here
            list(known.get_container_client("dl-identity").list_blobs())
    finally:
        server.stop()


def _env(entra_redis, base_env):
    url, _, cluster, ca = entra_redis
    return {
        **base_env,
        "REDIS_URL": url,
        "REDIS_CREDENTIAL": "managedidentity",
        "REDIS_CLUSTER": str(cluster).lower(),
        "REDIS_CA_FILE": ca,
    }


def _fresh_clients():
    from shared.clients.azure_auth import forget_credentials
    from shared.clients.redis_client import forget_clients

    forget_clients()
    forget_credentials()


def test_a_failing_identity_endpoint_keeps_the_valid_token(
    entra_redis, identity_endpoint, base_env, httpserver, caplog
):
    """Issue 26.6: the endpoint fails inside the token's last minutes: every call still works
    with the current token, and the failure is one warning, not a raw azure exception."""
    from werkzeug import Response

    from shared.read import api as read_side

    env = _env(entra_redis, base_env)
    _fresh_clients()
    assert read_side.live("acme-fm", {}, env={**env, "TENANTS": '{"acme-fm": {}}'})[0] == 200
    httpserver.clear_all_handlers()
    httpserver.expect_request("/msi/token").respond_with_handler(
        lambda request: Response('{"error": "temporarily unavailable"}', status=500, content_type="application/json")
    )
    with caplog.at_level(logging.WARNING):
        answers = [read_side.live("acme-fm", {}, env={**env, "TENANTS": '{"acme-fm": {}}'})[0] for _ in range(20)]
    assert answers == [200] * 20
    assert "could not refresh the Entra ID token" in caplog.text and "Traceback" not in caplog.text
    _fresh_clients()


def test_refreshing_tokens_never_tears_a_connection_from_another_thread(entra_redis, identity_endpoint, base_env):
    """Tokens here last 90 s, inside the 5-minute refresh margin: every call refreshes. Eight
    threads reading at once lose no call."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.read import api as read_side

    env = {**_env(entra_redis, base_env), "TENANTS": '{"acme-fm": {}}'}
    _fresh_clients()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: read_side.live("acme-fm", {}, env=env)[0], range(200)))
    assert answers.count(200) == 200, {s: answers.count(s) for s in set(answers)}
    assert len(identity_endpoint) > 10  # the tokens really rotated meanwhile
    _fresh_clients()


def test_without_a_valid_token_the_error_is_one_clear_line():
    from shared.clients.redis_auth import entra_provider
    from shared.core.errors import RetriableError

    class Token:
        def __init__(self, value, expires_on):
            self.token, self.expires_on = value, expires_on

    now = [1000.0]
    calls = []

    class FlakyCredential:  # azure-identity's interface: get_token(scope) -> AccessToken
        def get_token(self, scope):
            calls.append(now[0])
            if len(calls) > 1:
                raise OSError("identity endpoint unreachable")
            payload = base64.urlsafe_b64encode(json.dumps({"oid": OID}).encode()).decode().rstrip("=")
            return Token(f"h.{payload}.s", 1000.0 + 600)

    provider = entra_provider(FlakyCredential(), clock=lambda: now[0])
    assert provider.get_credentials()[0] == OID
    now[0] = 1000.0 + 400  # inside the refresh margin: the refresh fails, the token is kept
    assert provider.get_credentials()[0] == OID and len(calls) == 2
    now[0] += 2  # backing off: not asked again at once
    assert provider.get_credentials()[0] == OID and len(calls) == 2
    now[0] = 1000.0 + 601  # expired, and still no new token
    with pytest.raises(RetriableError, match="no Entra ID token"):
        provider.get_credentials()
