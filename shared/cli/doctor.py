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

from shared.cli.env import load_env
from shared.clients.redis_client import connect, get_redis, redis_call
from shared.core.errors import ConfigError, FabrikError
from shared.core.functions import descriptors
from shared.core.settings import load_store_settings
from shared.live.store import LiveStore
from shared.read.api import judge_functions, view_keys_problem
from shared.runtime.health import enabled


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

    env = load_env(args.settings)
    if not env.get("REDIS_URL") and not any(d.enabled(env) for d in descriptors().values()):
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
    """The runs as ``status`` and health judge them (shared.runtime.verdict): one line per source."""

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
    """Settings of every function first (all of them, so one run names every bad key), then
    Redis, then each configured function's own probes (its descriptor's)."""
    found = descriptors()
    loaded: dict[str, Any] = {}
    for name in sorted(functions):
        described = found.get(name)
        if described is None or described.load_settings is None:
            continue
        if not described.enabled(env):
            yield Check(f"settings {name}", True, f"not configured (none of {', '.join(described.in_use)} set)")
            continue
        try:
            settings = described.load_settings(env)
            missing = described.trigger_missing(env) if described.trigger_missing else {}
            if missing:
                raise ConfigError(missing)
            loaded[name] = settings
            yield Check(f"settings {name}", True, "valid")
        except ConfigError as exc:
            yield Check(f"settings {name}", False, str(exc))
    if env.get("VIEW_SIGNING_KEYS", "").strip():
        problem = view_keys_problem(env["VIEW_SIGNING_KEYS"])
        yield Check("settings live pages", problem is None, f"VIEW_SIGNING_KEYS: {problem}" if problem else "valid")
    if env.get("REDIS_URL"):
        yield _probe("redis", lambda: _redis(env))
    for name, settings in loaded.items():
        if found[name].probes is not None:
            for probe in found[name].probes(settings, env):
                yield _probe(probe.what, probe.run)


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

    from redis.backoff import NoBackoff
    from redis.retry import Retry

    settings = load_store_settings(env)
    client = connect(settings, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        redis_call(client.ping, cluster=settings.redis_cluster)
        return "PING answered" + (" (cluster)" if settings.redis_cluster else "")
    finally:
        client.close()
