"""``python -m shared.cli doctor``: every setting checked, every source and store reached once.

What the portal and Application Insights never show in one place: one line per check, with
what to fix. A function whose source settings are all absent is "not configured" (skipped,
not a failure): a deployment may run only some collectors. Exit 0 only when every check of
every configured function passed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from shared.errors import ConfigError, FabrikError

from shared.health import IN_USE  # the settings that say a function is in use here


@dataclass
class Check:
    what: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.what}: {self.detail}"


def doctor(functions: Mapping[str, Any], args: argparse.Namespace) -> int:
    """Exit 0 all ok; 2 a setting is wrong or missing (checked first); 3 a store or source is
    unreachable; 1 everything is reachable but a run fails (the same verdicts as ``status``)."""
    from shared.cli.env import load_env

    env = load_env(args.settings)
    if not env.get("REDIS_URL") and not any(env.get(k) for keys in IN_USE.values() for k in keys):
        raise ConfigError({"settings": "nothing to check: no REDIS_URL and no collector's settings"})
    checks = list(run_checks(env, functions))
    if all(c.ok for c in checks) and env.get("REDIS_URL"):
        checks += list(run_verdicts(env, functions))
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)} ok, {len(failed)} failing")
    if not failed:
        return 0
    if any(c.what.startswith("settings") for c in failed):
        return 2
    return 1 if all(c.what.startswith("run ") for c in failed) else 3


def run_verdicts(env: Mapping[str, str], functions: Iterable[str]) -> Iterable[Check]:
    """The runs as ``status`` and health judge them (shared.verdict): one line per source."""
    from shared.health import enabled
    from shared.live_store import LiveStore
    from shared.read_side import judge_functions
    from shared.redis_client import get_redis
    from shared.settings import load_store_settings

    settings = load_store_settings(env)
    store = LiveStore(get_redis(settings), settings=settings)
    verdicts, _ = judge_functions(store, enabled(env, functions), env, now_ms=int(time.time() * 1000))
    for v in verdicts:
        yield Check(
            f"run {v.function} {v.source}",
            v.state in ("ok", "warn", "unknown"),
            f"{v.state}{': ' + v.reason if v.reason else ''}",
        )


def run_checks(env: Mapping[str, str], functions: Iterable[str]) -> Iterable[Check]:
    import importlib

    loaded: dict[str, Any] = {}
    for name in sorted(functions):
        if not any(env.get(key) for key in IN_USE.get(name, ())):
            yield Check(f"settings {name}", True, f"not configured (none of {', '.join(IN_USE.get(name, ()))} set)")
            continue
        try:
            loaded[name] = importlib.import_module(f"{name}.settings").load_settings(env)
            missing = _trigger_missing(name, env)
            if missing:
                raise ConfigError(missing)
            yield Check(f"settings {name}", True, "valid")
        except ConfigError as exc:
            loaded.pop(name, None)
            yield Check(f"settings {name}", False, str(exc))
    if env.get("REDIS_URL"):
        yield _probe("redis", lambda: _redis(env))
    if "eventhub_to_redis" in loaded:
        s = loaded["eventhub_to_redis"]
        yield _probe(
            f"blob container {s.deadletter_container} (dead letters)",
            lambda: _container(s.deadletter_connection, s.deadletter_container),
        )
        yield _probe(f"event hub {env.get('EVENTHUB_NAME') or '(from the connection string)'}", lambda: _eventhub(env))
    if "store_downloads_fetcher" in loaded:
        s = loaded["store_downloads_fetcher"]
        yield _probe(f"blob container {s.container} (downloads)", lambda: _container(s.connection, s.container))
        if s.apple is not None:
            yield _probe("apple sales reports API", lambda: _apple(s.apple))
        if s.google is not None:
            yield _probe("google token endpoint", lambda: _google(s.google))
    if "icecast_poller" in loaded:
        for server in loaded["icecast_poller"].servers:
            yield _probe(f"icecast {server.name}", lambda server=server: _icecast(server))
    if "matomo_live_poller" in loaded:
        yield _probe("matomo", lambda: _matomo(loaded["matomo_live_poller"]))


def _trigger_missing(name: str, env: Mapping[str, str]) -> dict[str, str]:
    """What the host needs to start a trigger that the function's own settings do not check."""
    if name == "eventhub_to_redis" and not (
        env.get("EVENTHUB_CONNECTION") or env.get("EVENTHUB_CONNECTION__fullyQualifiedNamespace")
    ):
        return {
            "EVENTHUB_CONNECTION": "missing: the trigger cannot connect to the Event Hub (or set "
            "EVENTHUB_CONNECTION__fullyQualifiedNamespace for the app's identity)"
        }
    return {}


def _probe(what: str, fn: Callable[[], str]) -> Check:
    started = time.monotonic()
    try:
        detail = fn()
    except ConfigError as exc:
        return Check(what, False, "; ".join(f"{k}: {v}" for k, v in exc.problems.items()))
    except FabrikError as exc:
        return Check(what, False, str(exc))
    except Exception as exc:  # an SDK's own exception: name it rather than crash the report
        return Check(what, False, f"{type(exc).__name__}: {str(exc)[:200]}")
    return Check(what, True, f"{detail} ({(time.monotonic() - started) * 1000:.0f} ms)")


def _redis(env: Mapping[str, str]) -> str:
    from shared.redis_client import connect, redis_call
    from shared.settings import load_store_settings

    from redis.backoff import NoBackoff
    from redis.retry import Retry

    settings = load_store_settings(env)
    client = connect(settings, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        redis_call(client.ping, cluster=settings.redis_cluster)
        return "PING answered" + (" (cluster)" if settings.redis_cluster else "")
    finally:
        client.close()


def _container(connection: Any, container: str) -> str:
    """One request, 3 s, no SDK retries: a storage that is down is said at once."""
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import LinearRetry

    from shared.azure_auth import BlobTarget
    from shared.blob import container_client, describe

    target = (
        connection
        if isinstance(connection, BlobTarget)
        else BlobTarget(setting="storage", connection_string=connection)
    )
    client = container_client(
        target, container, connection_timeout=3, read_timeout=3, retry_policy=LinearRetry(retry_total=0)
    )
    try:
        client.create_container()
        return "reachable, container created"
    except ResourceExistsError:
        return "reachable, container exists"
    except AzureError as exc:
        raise FabrikError(describe(exc, client, f"blob container {container}")) from None


def _eventhub(env: Mapping[str, str]) -> str:
    from eventhub_to_redis.replay import partition_ids

    ids = partition_ids(env, timeout=10)
    return f"{len(ids)} partitions"


def _apple(apple: Any) -> str:
    from shared.http import make_session
    from store_downloads_fetcher.tokens import AppleToken

    token = AppleToken(issuer_id=apple.issuer_id, key_id=apple.key_id, private_key=apple.private_key)
    response = make_session().get(
        f"{apple.api_url}/v1/salesReports", timeout=(5, 20), headers={"Authorization": f"Bearer {token()}"}
    )
    if response.status_code in (401, 403):
        raise ConfigError(
            {
                "APPLE_KEY_ID": f"Apple refused the token ({response.status_code}): check APPLE_KEY_ID, "
                "APPLE_ISSUER_ID and APPLE_PRIVATE_KEY"
            }
        )
    return f"token accepted (HTTP {response.status_code} to a request without filters)"


def _google(google: Any) -> str:
    from shared.http import make_session
    from store_downloads_fetcher.tokens import GoogleToken

    GoogleToken(
        client_email=google.client_email,
        private_key=google.private_key,
        private_key_id=google.private_key_id,
        token_url=google.token_url,
        session=make_session(),
    )()
    return "access token issued"


def _icecast(server: Any) -> str:
    from icecast_poller.fetch import fetch_stats
    from shared.http import HttpOptions, make_session

    stats = fetch_stats(make_session(HttpOptions(retries=0)), server, time.monotonic() + 15)
    return f"{len(stats.mounts)} mounts"


def _matomo(settings: Any) -> str:
    from matomo_live_poller.fetch import fetch_counters
    from shared.http import HttpOptions, make_session

    sites = [t.matomo_site_id for t in settings.tenants if t.matomo_site_id]
    answers = fetch_counters(
        make_session(HttpOptions(retries=0)),
        url=settings.url,
        token=settings.token,
        queries=[(site, 1) for site in sites[:1]] or [(1, 1)],
        timeout=10,
    )
    errors = [a.error for a in answers if getattr(a, "error", None)]
    if errors:
        raise FabrikError(f"matomo answered: {errors[0]}")
    return "API answered"
