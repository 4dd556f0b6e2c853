"""The same tests on TLS: a TLS-only Redis and a TLS-only Redis Cluster (as Azure Managed Redis
listens, on a certificate of a throwaway CA that the app is told about with REDIS_CA_FILE)."""

import pytest

from tests.conftest import _start


@pytest.fixture(scope="session")
def tls_files(workdir):
    from devstack.tls import make_tls

    return make_tls(workdir / "tls")


@pytest.fixture(scope="session")
def redis_server(workdir, tls_files):
    from devstack.redis_servers import redis_server as make

    server = _start(lambda: make(workdir / "redis-tls", tls=tls_files).start())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(workdir, tls_files):
    from devstack.redis_servers import RedisCluster

    cluster = _start(lambda: RedisCluster(workdir / "cluster-tls", tls=tls_files).start())
    yield cluster
    cluster.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    return f"rediss://127.0.0.1:{redis_server.port}/0"


@pytest.fixture(autouse=True)
def trust_the_test_ca(monkeypatch, tls_files):
    """The app verifies with REDIS_CA_FILE; clients the tests make themselves trust the CA too."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files.ca))


@pytest.fixture
def base_env(base_env, tls_files):
    return {**base_env, "REDIS_CA_FILE": str(tls_files.ca)}
