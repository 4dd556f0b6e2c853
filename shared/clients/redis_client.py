"""One cached Redis client per (URL, cluster) for the life of the worker process.

Timeouts and the client's own retries are set explicitly and kept short: a timer run must end
well inside its schedule, and the Event Hub function should fail fast so the host's retry
policy (not a hidden client loop) decides when to try again. ``redis`` is imported here,
lazily, because it is a large share of a cold start.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from shared.clients.azure_auth import credential
from shared.clients.redis_auth import entra_provider
from shared.core.errors import ConfigError, RetriableError
from shared.core.settings import StoreSettings

T = TypeVar("T")

if TYPE_CHECKING:
    import redis

_clients: dict[tuple[str, bool], Any] = {}
_lock = threading.Lock()


def get_redis(settings: StoreSettings) -> "redis.Redis":
    """The cached client for ``settings`` (``redis.Redis`` or ``redis.cluster.RedisCluster``).

    With Entra ID, a token due for refresh is renewed here (once per invocation) and the
    pooled connections are dropped, so they reconnect with it before the old one expires."""
    key = (settings.redis_url, settings.redis_cluster, settings.redis_credential, settings.redis_client_id)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = connect(settings)
    provider = getattr(client, "fabrik_credentials", None)
    if provider is not None and provider.refresh_due() and provider.refresh():
        reconnect(client)
    return client


def reconnect(client: Any) -> None:
    """Close the idle pooled connections; they reconnect (and authenticate anew) when next
    used. Connections in use by another thread are left to finish their commands."""
    if hasattr(client, "get_nodes"):  # a cluster: one pool per node
        for node in client.get_nodes():
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect(inuse_connections=False)
    else:
        client.connection_pool.disconnect(inuse_connections=False)


def connect(settings: StoreSettings, **overrides: Any) -> Any:
    """A new client; ``overrides`` go to the client constructor (tests pass a connection class)."""
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError
    from redis.retry import Retry

    options: dict[str, Any] = dict(
        socket_timeout=5.0,
        socket_connect_timeout=3.0,
        health_check_interval=30,
        # A lost connection is retried; a timeout is not: the command may still be running in a
        # Redis too busy to answer, and sending it again would double its load.
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, supported_errors=(ConnectionError,)),
        decode_responses=True,
    )
    provider = None
    if settings.redis_credential:
        provider = options["credential_provider"] = entra_provider(
            credential(
                "managedidentity" if settings.redis_credential == "managedidentity" else "", settings.redis_client_id
            )
        )
    if settings.redis_ca_file:
        options["ssl_ca_certs"] = settings.redis_ca_file
    options.update(overrides)
    client = _client(settings, options)
    client.fabrik_credentials = provider
    return client


def _client(settings: StoreSettings, options: dict[str, Any]) -> Any:
    if settings.redis_cluster:
        from redis.cluster import RedisCluster

        # A cluster client reads the slot map while it is built: that can fail like any command.
        return redis_call(lambda: RedisCluster.from_url(settings.redis_url, **options), cluster=True)
    import redis

    return redis.Redis.from_url(settings.redis_url, **options)


def redis_call(fn: Callable[[], T], *, cluster: bool = False) -> T:
    """Run a Redis call, turning the client's exceptions into the app's: refused credentials
    are a settings error (retrying cannot help), anything else is retriable."""
    from redis.exceptions import (
        AuthenticationError,
        ConnectionError,
        RedisClusterException,
        RedisError,
        ResponseError,
        TimeoutError,
    )

    try:
        return fn()
    except AuthenticationError:
        raise ConfigError({"REDIS_URL": "Redis refused the credentials (wrong access key, password or user)"}) from None
    except ResponseError as exc:
        if str(exc).startswith(("WRONGPASS", "NOAUTH", "NOPERM")):
            raise ConfigError({"REDIS_URL": f"Redis refused the credentials ({str(exc).split(' ', 1)[0]})"}) from None
        raise RetriableError(f"redis error: {type(exc).__name__}: {str(exc)[:200]}") from None
    except (ConnectionError, TimeoutError) as exc:
        raise RetriableError(f"redis unavailable: {type(exc).__name__}: {str(exc)[:120]}") from None
    except RedisClusterException as exc:
        hint = " (is REDIS_CLUSTER=true pointing at a plain Redis?)" if "cluster" in str(exc).lower() else ""
        raise RetriableError(f"redis cluster unavailable: {str(exc)[:150]}{hint}") from None
    except RedisError as exc:
        raise RetriableError(f"redis error: {type(exc).__name__}: {str(exc)[:200]}") from None
    except ConfigError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith("azure."):  # the identity could not get a token
            raise RetriableError(
                f"redis: no Entra ID token: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            ) from None
        raise


def forget_clients() -> None:
    """Close and drop cached clients (the CLI between commands, tests between servers)."""
    with _lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:
                pass
        _clients.clear()
