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

from haproxy_agent.config import number_between
from shared.core.settings import SettingsReader, read_storage

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


def _storage_connection(reader: SettingsReader) -> Any:
    """``LOGS_STORAGE_CONNECTION`` as a BlobTarget (a connection string, a SAS or an identity)."""
    connection = read_storage(reader, "LOGS_STORAGE_CONNECTION", fallback=None, required=False)
    text = connection.connection_string if connection is not None else None
    pairs = dict(p.split("=", 1) for p in (text or "").split(";") if "=" in p)
    if connection is None and "LOGS_STORAGE_CONNECTION" not in reader.problems:
        reader.fail(
            "LOGS_STORAGE_CONNECTION",
            "missing (a connection string, a SAS connection string 'BlobEndpoint=...;SharedAccessSignature=...', "
            "or LOGS_STORAGE_CONNECTION__blobServiceUri / __accountName for a managed identity or the AZURE_* "
            "service principal variables)",
        )
    elif (
        text is not None
        and text.strip().lower() != "usedevelopmentstorage=true"
        and not ({"AccountName", "BlobEndpoint"} & set(pairs))
    ):
        reader.fail("LOGS_STORAGE_CONNECTION", "not a storage connection string")
    return connection


def load_config(env: Mapping[str, str]) -> ShipConfig:
    """Every setting checked as the app checks its own (shared.core.settings): one ConfigError
    naming every bad one at once."""
    reader = SettingsReader(env)
    connection = _storage_connection(reader)
    key = reader.get("LOGS_HASH_KEY", _logs_key, default="", secret=True)
    if not key and "LOGS_HASH_KEY" not in reader.problems:
        reader.fail("LOGS_HASH_KEY", f"missing ({DERIVE_HINT})")
    if key and key == env.get("IDENTITY_HASH_KEY"):
        reader.fail(
            "LOGS_HASH_KEY",
            "is the app's IDENTITY_HASH_KEY itself; put the derived key on the edge "
            "(python -m haproxy_agent derive-logs-key) and remove IDENTITY_HASH_KEY from it",
        )
    salt_connection = read_storage(
        reader, "LOGS_SALT_CONNECTION", fallback=None, required=False
    )  # a container SAS: one container
    container = reader.get("LOGS_CONTAINER", default="haproxy-logs")
    salt_container = reader.get("LOGS_SALT_CONTAINER", default="haproxy-salts")
    if salt_container == container:
        reader.fail("LOGS_SALT_CONTAINER", "must not be LOGS_CONTAINER (the logs' readers must not read the salts)")
    host = reader.get("AGENT_HOST", _host_name, default=None) or socket.gethostname().split(".")[0]
    config = ShipConfig(
        connection=connection,
        container=container,
        salt_container=salt_container,
        salt_connection=salt_connection,
        host=host,
        key=(key or "").encode(),
        state_dir=Path(reader.get("AGENT_STATE_DIR", default=DEFAULT_STATE_DIR)),
        key_fingerprint=fingerprint(key or ""),
        settle_seconds=reader.get("LOGS_SETTLE_SECONDS", number_between(1, 86400), default=120.0),
        keep_hours=reader.get("LOGS_KEEP_HOURS", number_between(0, 8760), default=24.0),
        max_unparsed_percent=reader.get("LOGS_MAX_UNPARSED_PERCENT", number_between(0, 100), default=5.0),
    )
    reader.check()
    return config


DERIVE_HINT = "derive it from the app's key: python -m haproxy_agent derive-logs-key"


def _logs_key(text: str) -> str:
    if len(text.encode("utf-8")) < 16:
        raise ValueError(f"shorter than 16 characters ({DERIVE_HINT})")
    return text


def _host_name(text: str) -> str:
    if not all(c.isascii() and (c.isalnum() or c in "._-") for c in text):
        raise ValueError("a short host name of A-Z a-z 0-9 . _ -")
    return text
