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
    from shared.cli.env import load_env

    env = load_env(args.settings)
    checks = list(run_checks(env, functions))
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)} ok, {len(failed)} failing")
    return 0 if not failed else (2 if all(c.what.startswith("settings") for c in failed) else 3)


def run_checks(env: Mapping[str, str], functions: Iterable[str]) -> Iterable[Check]:
    import importlib

    loaded: dict[str, Any] = {}
    for name in sorted(functions):
        if not any(env.get(key) for key in IN_USE.get(name, ())):
            yield Check(f"settings {name}", True, f"not configured (none of {', '.join(IN_USE.get(name, ()))} set)")
            continue
        try:
            loaded[name] = importlib.import_module(f"{name}.settings").load_settings(env)
            yield Check(f"settings {name}", True, "valid")
        except ConfigError as exc:
            yield Check(f"settings {name}", False, str(exc))
    if env.get("REDIS_URL"):
        yield _probe("redis", lambda: _redis(env))
    if "eventhub_to_redis" in loaded:
        s = loaded["eventhub_to_redis"]
        yield _probe(f"blob container {s.deadletter_container} (dead letters)",
                     lambda: _container(s.deadletter_connection, s.deadletter_container))
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

    settings = load_store_settings(env)
    client = connect(settings)
    try:
        redis_call(client.ping, cluster=settings.redis_cluster)
        return "PING answered" + (" (cluster)" if settings.redis_cluster else "")
    finally:
        client.close()


def _container(connection: str, container: str) -> str:
    from shared.blob import get_container

    get_container(connection, container)
    return "reachable, container exists"


def _eventhub(env: Mapping[str, str]) -> str:
    from eventhub_to_redis.replay import partition_ids

    ids = partition_ids(env, timeout=10)
    return f"{len(ids)} partitions"


def _apple(apple: Any) -> str:
    from shared.http import make_session
    from store_downloads_fetcher.tokens import AppleToken

    token = AppleToken(issuer_id=apple.issuer_id, key_id=apple.key_id, private_key=apple.private_key)
    response = make_session().get(f"{apple.api_url}/v1/salesReports", timeout=(5, 20),
                                  headers={"Authorization": f"Bearer {token()}"})
    if response.status_code in (401, 403):
        raise ConfigError({"APPLE_KEY_ID": f"Apple refused the token ({response.status_code}): check APPLE_KEY_ID, "
                                           "APPLE_ISSUER_ID and APPLE_PRIVATE_KEY"})
    return f"token accepted (HTTP {response.status_code} to a request without filters)"


def _google(google: Any) -> str:
    from shared.http import make_session
    from store_downloads_fetcher.tokens import GoogleToken

    GoogleToken(client_email=google.client_email, private_key=google.private_key,
                private_key_id=google.private_key_id, token_url=google.token_url, session=make_session())()
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
    answers = fetch_counters(make_session(HttpOptions(retries=0)), url=settings.url, token=settings.token,
                             queries=[(site, 1) for site in sites[:1]] or [(1, 1)], timeout=10)
    errors = [a.error for a in answers if getattr(a, "error", None)]
    if errors:
        raise FabrikError(f"matomo answered: {errors[0]}")
    return "API answered"
