"""ship-logs settings, and the edge's own hash key.

Why the edge has its own key: an edge is the machine most exposed to the internet. With the
app's ``IDENTITY_HASH_KEY`` on it, a stolen edge would reverse every stored IPv4 hash of the
whole system (2^32 tries is about an hour of one core). ``LOGS_HASH_KEY`` is derived from the
app's key one way (HMAC-SHA-256 with a fixed label), so the app can recompute it and the edge
cannot go back: a stolen edge key reveals only what the logs hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from haproxy_agent.config import ConfigProblem
from shared.clients.azure_auth import blob_target
from shared.core.errors import ConfigError

LABEL = b"fabrik-logs-hash-key-v1"
DEFAULT_STATE_DIR = "/var/lib/fabrik-ship-logs"


@dataclass(frozen=True)
class ShipConfig:
    connection: Any = field(repr=False)  # shared.clients.azure_auth.BlobTarget: a connection string, SAS or an identity
    container: str
    host: str
    key: bytes = field(repr=False)  # LOGS_HASH_KEY: with the day's salt, the key of that day's hashes
    state_dir: Path
    key_fingerprint: str = ""
    settle_seconds: float = 120.0  # a rotated file unchanged this long is complete: its writer has moved on
    keep_hours: float = 24.0  # shipped files older than this are deleted; unshipped ones never
    max_unparsed_percent: float = 5.0
    salt_container: str = "haproxy-salts"  # the daily salts (haproxy_agent/salts.py); never the logs' readers
    salt_connection: Any = field(default=None, repr=False)  # LOGS_SALT_CONNECTION; None: the logs' own


def derive_logs_key(identity_hash_key: str) -> str:
    """``LOGS_HASH_KEY`` for an app key: ``base64(HMAC-SHA-256(key, "fabrik-logs-hash-key-v1"))``.

    The same as ``printf %s fabrik-logs-hash-key-v1 | openssl dgst -sha256 -hmac "$IDENTITY_HASH_KEY"
    -binary | base64`` (tested)."""
    return base64.b64encode(hmac.new(identity_hash_key.encode("utf-8"), LABEL, hashlib.sha256).digest()).decode()


def fingerprint(key: str) -> str:
    """A short, one-way name of a key for the logs: two hosts with different fingerprints hash differently."""
    return hashlib.sha256(b"fabrik-key-fingerprint\x00" + key.encode("utf-8")).hexdigest()[:8]


def _storage(env: Mapping[str, str], problems: list[str]) -> Any:
    """``LOGS_STORAGE_CONNECTION`` as a BlobTarget, or None with its problem appended."""
    try:
        connection = blob_target(env, "LOGS_STORAGE_CONNECTION")
    except ConfigError as exc:
        problems += [f"{k}: {v}" for k, v in exc.problems.items()]
        return None
    text = connection.connection_string if connection is not None else None
    pairs = dict(p.split("=", 1) for p in (text or "").split(";") if "=" in p)
    if connection is None:
        problems.append(
            "LOGS_STORAGE_CONNECTION: missing (a connection string, a SAS connection string "
            "'BlobEndpoint=...;SharedAccessSignature=...', or LOGS_STORAGE_CONNECTION__blobServiceUri"
            " / __accountName for a managed identity or the AZURE_* service principal variables)"
        )
    elif (
        text is not None
        and text.strip().lower() != "usedevelopmentstorage=true"
        and not ({"AccountName", "BlobEndpoint"} & set(pairs))
    ):
        problems.append("LOGS_STORAGE_CONNECTION: not a storage connection string")
    return connection


def load_config(env: Mapping[str, str]) -> ShipConfig:
    """Every setting checked; ConfigProblem naming every bad one at once."""
    problems: list[str] = []
    connection = _storage(env, problems)
    key = _key(env, problems)
    try:
        salt_connection = blob_target(env, "LOGS_SALT_CONNECTION")  # a container SAS reaches one container
    except ConfigError as exc:
        salt_connection = None
        problems += [f"{k}: {v}" for k, v in exc.problems.items()]
    container = env.get("LOGS_CONTAINER") or "haproxy-logs"
    salt_container = env.get("LOGS_SALT_CONTAINER") or "haproxy-salts"
    if salt_container == container:
        problems.append("LOGS_SALT_CONTAINER: must not be LOGS_CONTAINER (the logs' readers must not read the salts)")
    host = env.get("AGENT_HOST") or socket.gethostname().split(".")[0]
    if not host or not all(c.isascii() and (c.isalnum() or c in "._-") for c in host):
        problems.append("AGENT_HOST: a short host name of A-Z a-z 0-9 . _ -")
    numbers = _numbers(env, problems)
    if problems:
        raise ConfigProblem("; ".join(problems))
    return ShipConfig(
        connection=connection,
        container=container,
        salt_container=salt_container,
        salt_connection=salt_connection,
        host=host,
        key=key.encode(),
        state_dir=Path(env.get("AGENT_STATE_DIR") or DEFAULT_STATE_DIR),
        key_fingerprint=fingerprint(key),
        settle_seconds=numbers["LOGS_SETTLE_SECONDS"],
        keep_hours=numbers["LOGS_KEEP_HOURS"],
        max_unparsed_percent=numbers["LOGS_MAX_UNPARSED_PERCENT"],
    )


def _key(env: Mapping[str, str], problems: list[str]) -> str:
    """``LOGS_HASH_KEY``: long enough, and never the app's own key."""
    key = env.get("LOGS_HASH_KEY", "")
    if len(key.encode("utf-8")) < 16:
        problems.append(
            "LOGS_HASH_KEY: missing or shorter than 16 characters (derive it from the app's key: "
            "python -m haproxy_agent derive-logs-key)"
        )
    elif env.get("IDENTITY_HASH_KEY") and key == env["IDENTITY_HASH_KEY"]:
        problems.append(
            "LOGS_HASH_KEY: is the app's IDENTITY_HASH_KEY itself; put the derived key on the edge "
            "(python -m haproxy_agent derive-logs-key) and remove IDENTITY_HASH_KEY from it"
        )
    return key


def _numbers(env: Mapping[str, str], problems: list[str]) -> dict[str, float]:
    numbers = {}
    for name, default, low, high in (
        ("LOGS_SETTLE_SECONDS", "120", 1, 86400),
        ("LOGS_KEEP_HOURS", "24", 0, 8760),
        ("LOGS_MAX_UNPARSED_PERCENT", "5", 0, 100),
    ):
        try:
            numbers[name] = float(env.get(name) or default)
            if not low <= numbers[name] <= high:
                raise ValueError
        except ValueError:
            numbers[name] = float(default)
            problems.append(f"{name}: a number from {low} to {high}, not {env.get(name)!r}")
    return numbers
