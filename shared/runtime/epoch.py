"""Telling a fresh install from a Redis that lost its data.

Run status lives in Redis. After a restart without persistence, a failover or a flush, Redis
holds no status, exactly as on a new install: ``status`` said "no runs recorded yet" and health
said "never" for up to a day. So the time of the first recorded run is kept twice:

* in Redis, ``fabrik:status:_epoch`` (hash: ``first_run``, and ``lost_at`` once a loss is seen),
  set with HSETNX in every run's status write (no extra round trip);
* outside Redis, in the storage account every function app has (``AzureWebJobsStorage``):
  container ``fabrik-status``, blob ``first-run/<REDIS_KEY_PREFIX>.json``, written once.

A run that finds the Redis key missing (its HSETNX created it) looks at the blob: none, a new
install, and the blob is written; one, Redis lost its data, and ``lost_at`` is recorded (the
Redis server's start when it restarted since, else now). Readers that find no key look at the
blob the same way. Without ``AzureWebJobsStorage`` (a local CLI without storage) nothing is
told apart, as before.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from shared.clients.blob import download, get_container, upload
from shared.core.errors import FabrikError
from shared.core.settings import SettingsReader, read_storage
from shared.runtime.verdict import DataLoss

CONTAINER = "fabrik-status"


def blob_name(prefix: str) -> str:
    return f"first-run/{prefix}.json"  # per key prefix: apps sharing a storage account stay apart


def epoch_key(prefix: str) -> str:
    return f"{prefix}:status:_epoch"


def _marker_container(env: Mapping[str, str]) -> Any:

    if not (
        env.get("AzureWebJobsStorage")
        or env.get("AzureWebJobsStorage__blobServiceUri")
        or env.get("AzureWebJobsStorage__accountName")
    ):
        return None
    reader = SettingsReader(env)
    target = read_storage(reader, "AzureWebJobsStorage")
    reader.check()
    return get_container(target, CONTAINER)


def read_marker(env: Mapping[str, str], prefix: str, *, container: Any = None) -> int | None:
    """The first recorded run (ms) from the storage account, or None (none yet, or no storage)."""

    container = container if container is not None else _marker_container(env)
    found = download(container, blob_name(prefix)) if container is not None else None
    if found is None:
        return None
    try:
        return int(json.loads(found[0])["first_run"])
    except (ValueError, KeyError, TypeError):
        return None


def settle(env: Mapping[str, str], redis: Any, *, prefix: str, now_ms: int) -> DataLoss | None:
    """Called when a run's HSETNX created the Redis epoch: a new install, or Redis lost its data."""

    container = _marker_container(env)
    if container is None:
        return None
    first = read_marker(env, prefix, container=container)
    if first is None:
        upload(
            container,
            blob_name(prefix),
            json.dumps({"first_run": now_ms}).encode(),
            content_type="application/json",
            overwrite=False,
        )
        return None
    lost_at = restarted_at(redis, now_ms, first)
    redis.hset(epoch_key(prefix), mapping={"first_run": str(first), "lost_at": str(lost_at)})
    return DataLoss(lost_at_ms=lost_at, first_run_ms=first)


def restarted_at(redis: Any, now_ms: int, first_run_ms: int) -> int:
    """When Redis started, if that is after the first run (a restart lost the data); else now."""
    try:
        uptime = int(redis.info("server").get("uptime_in_seconds", 0))
    except Exception:  # a cluster answers per node; any doubt: "about now"
        return now_ms
    started = now_ms - uptime * 1000
    return started if started > first_run_ms else now_ms


def loss_of(
    epoch: Mapping[str, str], env: Mapping[str, str], redis: Any, *, prefix: str, now_ms: int
) -> DataLoss | None:
    """For readers: the data loss the epoch records, or (no epoch at all) the one the marker reveals."""
    if epoch.get("lost_at"):
        return DataLoss(lost_at_ms=int(epoch["lost_at"]), first_run_ms=int(epoch.get("first_run") or 0) or None)
    if epoch:
        return None

    try:
        first = read_marker(env, prefix)
    except FabrikError:
        return None  # storage unreachable: cannot tell; the storage check says so
    if first is None:
        return None
    return DataLoss(lost_at_ms=restarted_at(redis, now_ms, first), first_run_ms=first)
