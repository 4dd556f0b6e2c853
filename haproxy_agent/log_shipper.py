"""``python -m haproxy_agent ship-logs FILE...``: rotated HAProxy access logs to Blob Storage,
every address hashed on the edge (docs: haproxy_agent/README.md, layout in docs/downloads.md).

Streamed: each file is read line by line, each line hashed and written straight into a gzip
member of its hour (a temporary file), and each hour's file is uploaded in blocks, so memory
stays flat whatever the log's size. Blob names are derived from the content (the first line's
time and a digest), written once with ``overwrite=False``: re-running on the same file uploads
nothing twice, and a streaming reader sees each blob exactly once. A file whose hours were all
uploaded gets a marker in the state folder and is skipped after that; a failed upload leaves no
marker, so the next rotation's run tries the file again.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import os
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Mapping

from haproxy_agent.access_log import parse
from haproxy_agent.config import ConfigProblem
from shared.identity import IdentityHasher

log = logging.getLogger("haproxy_agent.ship_logs")
BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class ShipConfig:
    connection: Any = field(repr=False)  # shared.azure_auth.BlobTarget: a connection string or an identity
    container: str
    host: str
    hasher: IdentityHasher = field(repr=False)
    state_dir: Path


@dataclass
class FileResult:
    path: str
    lines: int = 0
    unparsed: int = 0
    uploaded: list[str] = field(default_factory=list)
    already: int = 0
    skipped: bool = False
    error: str | None = None


def load_config(env: Mapping[str, str]) -> ShipConfig:
    from shared.azure_auth import blob_target
    from shared.errors import ConfigError

    problems = []
    try:
        connection = blob_target(env, "LOGS_STORAGE_CONNECTION")
    except ConfigError as exc:
        connection = None
        problems += [f"{k}: {v}" for k, v in exc.problems.items()]
    text = connection.connection_string if connection is not None else None
    pairs = dict(p.split("=", 1) for p in (text or "").split(";") if "=" in p)
    if connection is None and not problems:
        problems.append("LOGS_STORAGE_CONNECTION: missing (a connection string, or LOGS_STORAGE_CONNECTION__blobServiceUri"
                        " / __accountName for a managed identity or the AZURE_* service principal variables)")
    elif text is not None and text.strip().lower() != "usedevelopmentstorage=true" and not (
            {"AccountName", "BlobEndpoint"} & set(pairs)):
        problems.append("LOGS_STORAGE_CONNECTION: not a storage connection string")
    key = env.get("IDENTITY_HASH_KEY", "").encode("utf-8")
    if len(key) < 16:
        problems.append("IDENTITY_HASH_KEY: missing or shorter than 16 characters (use the app's key: hashes must match)")
    container = env.get("LOGS_CONTAINER") or "haproxy-logs"
    host = env.get("AGENT_HOST") or socket.gethostname().split(".")[0]
    if not all(c.isascii() and (c.isalnum() or c in "._-") for c in host) or not host:
        problems.append("AGENT_HOST: a short host name of A-Z a-z 0-9 . _ -")
    if problems:
        raise ConfigProblem("; ".join(problems))
    return ShipConfig(connection=connection, container=container, host=host, hasher=IdentityHasher(key),
                      state_dir=Path(env.get("AGENT_STATE_DIR") or "/var/lib/fabrik-haproxy-agent"))


def ship(paths: list[str], config: ShipConfig, *, container: Any = None) -> list[FileResult]:
    results = []
    for path in paths:
        marker = config.state_dir / "shipped" / Path(path).name.removesuffix(".gz")
        if marker.exists():
            results.append(FileResult(path=path, skipped=True))
            continue
        result = FileResult(path=path)
        try:
            if container is None:
                container = _container(config)
            ship_file(Path(path), config, container, result)
        except OSError as exc:
            result.error = f"cannot read {path}: {exc.strerror or exc}"
        except UploadFailed as exc:
            result.error = str(exc)
        if result.error is None:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"blobs": result.uploaded, "lines": result.lines}))
        results.append(result)
    return results


class UploadFailed(Exception):
    pass


class _Hour:
    """One hour's gzip member in a temporary file, and what names it."""

    def __init__(self, first: dt.datetime):
        self.first = first
        self.raw = tempfile.TemporaryFile()
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="wb", mtime=0)  # no timestamp: same input, same bytes
        self.digest = hashlib.sha256()
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    def write(self, data: bytes) -> None:
        self.pending.append(data)  # compressed in blocks: one zlib call per line costs a fifth of the time
        self.pending_bytes += len(data)
        if self.pending_bytes >= 256 * 1024:
            self._flush()

    def _flush(self) -> None:
        block = b"".join(self.pending)
        self.gz.write(block)
        self.digest.update(block)
        self.pending, self.pending_bytes = [], 0

    def finish(self, host: str) -> tuple[str, IO[bytes]]:
        self._flush()
        self.gz.close()
        self.raw.seek(0)
        start = self.first.strftime("%Y%m%dT%H%M%SZ")
        return (f"host={host}/date={self.first:%Y-%m-%d}/hour={self.first:%H}/"
                f"{host}-{start}-{self.digest.hexdigest()[:12]}.jsonl.gz"), self.raw


class _RepeatingHasher:
    """The keyed hash, remembered per file: a listener's address appears on every segment
    request (thousands of lines an hour). Bounded, so memory stays flat."""

    LIMIT = 200_000

    def __init__(self, hasher: IdentityHasher):
        self.hasher, self.seen = hasher, {}

    def hash_ip(self, address: str) -> str:
        found = self.seen.get(address)
        if found is None:
            if len(self.seen) >= self.LIMIT:
                self.seen.clear()
            found = self.seen[address] = self.hasher.hash_ip(address)
        return found

    def hash(self, value: str, *, kind: str = "id") -> str:
        return self.hasher.hash(value, kind=kind)


def ship_file(path: Path, config: ShipConfig, container: Any, result: FileResult) -> None:
    hours: dict[str, _Hour] = {}
    hasher: Any = _RepeatingHasher(config.hasher)
    current = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
    try:
        with _open(path) as handle:
            for raw in handle:
                result.lines += 1
                record, when = parse(raw.decode("utf-8", "replace"), hasher)
                if when is None:
                    result.unparsed += 1
                else:
                    current = when
                record["host"] = config.host
                hour = hours.get(f"{current:%Y%m%d%H}")
                if hour is None:
                    hour = hours[f"{current:%Y%m%d%H}"] = _Hour(current)
                hour.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
        for hour in hours.values():
            name, data = hour.finish(config.host)
            if _upload(container, name, data):
                result.uploaded.append(name)
            else:
                result.already += 1
    finally:
        for hour in hours.values():
            hour.raw.close()


def _open(path: Path) -> IO[bytes]:
    handle = path.open("rb")
    if handle.read(2) == b"\x1f\x8b":  # logrotate's delaycompress: an older rotation, compressed
        handle.close()
        return gzip.open(path, "rb")
    handle.seek(0)
    return handle


def _container(config: ShipConfig) -> Any:
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import BlobServiceClient, ExponentialRetry

    from shared.azure_auth import credential

    target = config.connection
    options = dict(connection_timeout=10, read_timeout=60, max_block_size=BLOCK,
                   retry_policy=ExponentialRetry(initial_backoff=2, increment_base=2, retry_total=3))
    if target.connection_string is not None:
        service = BlobServiceClient.from_connection_string(target.connection_string, **options)
    else:
        service = BlobServiceClient(target.account_url, credential=credential(target.credential_kind, target.client_id),
                                    **options)
    client = service.get_container_client(config.container)
    try:
        client.create_container()
    except ResourceExistsError:
        pass
    except AzureError as exc:
        raise UploadFailed(f"container {config.container}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") \
            from None
    return client


def _upload(container: Any, name: str, data: IO[bytes]) -> bool:
    """Upload once; False when the blob is already there (this file was shipped before)."""
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import ContentSettings

    try:
        container.upload_blob(name, data, overwrite=False, max_concurrency=2,
                              content_settings=ContentSettings(content_type="application/gzip"))
    except ResourceExistsError:
        return False
    except AzureError as exc:
        raise UploadFailed(f"upload of {name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    return True


def main(paths: list[str], env: Mapping[str, str] = os.environ) -> int:
    """The command: 0 when every file is shipped (or was before), 1 when any failed, 2 for settings."""
    try:
        config = load_config(env)
    except ConfigProblem as exc:
        log.error("%s", exc)
        return 2
    failed = 0
    for result in ship(paths, config):
        if result.skipped:
            log.info("%s: shipped before (marker in %s), skipped", result.path, config.state_dir)
        elif result.error:
            failed += 1
            log.error("%s: not shipped, left for the next run: %s", result.path, result.error)
        else:
            log.info("%s: %d lines (%d not parsed, kept hashed) -> %d blobs uploaded, %d already there",
                     result.path, result.lines, result.unparsed, len(result.uploaded), result.already)
    return 1 if failed else 0
