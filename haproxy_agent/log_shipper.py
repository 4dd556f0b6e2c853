"""``python -m haproxy_agent ship-logs FILE...``: rotated HAProxy access logs to Blob Storage,
every address hashed on the edge (docs: haproxy_agent/README.md, records in docs/logs.md).

Streamed: a file is read in 1 MiB blocks from where the last run stopped, each line parsed into
a JSON record, and each UTC hour's records compressed into a gzip member of their own (a
temporary file), uploaded in blocks: memory stays flat whatever the log's size. Blob names come
from the content (the hour's first time and a digest) and are written once (``overwrite=False``):
a run repeated after a crash uploads nothing twice, and a streaming reader sees each blob once.

A run never creates the container (a SAS with create and write is enough), stops at the first
storage failure (one failed connection per run, not one per file), deletes only files that were
shipped completely, and leaves ``status.json`` in the state folder.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Mapping

from haproxy_agent.access_log import LineParser
from haproxy_agent.salts import DailySalts, SaltUnavailable
from haproxy_agent.ship_config import ShipConfig, load_config
from haproxy_agent.ship_state import Marker, ShipState, now_text, rotation_name
from haproxy_agent.ship_upload import UploadFailed, describe, open_container, upload_once
from shared.core.errors import ConfigError
from shared.privacy.identity import IdentityHasher

log = logging.getLogger("haproxy_agent.ship_logs")
READ_BLOCK = 1 << 20


@dataclass
class FileResult:
    path: str
    lines: int = 0
    unparsed: int = 0
    uploaded: int = 0
    already: int = 0
    skipped: bool = False
    complete: bool = False
    error: str | None = None
    too_unparsed: bool = False
    bytes_read: int = 0  # of the uncompressed file, from where the run started, up to a line end


class _Hour:
    """One UTC hour's records as a gzip member in a temporary file, and the digest that names it."""

    def __init__(self, first_second: int):
        self.first = first_second
        self.raw = tempfile.TemporaryFile()
        self.zip = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip, level 6, mtime 0: same input, same bytes
        self.digest = hashlib.sha256()

    def write(self, block: bytes) -> None:
        self.digest.update(block)
        self.raw.write(self.zip.compress(block))

    def finish(self, host: str) -> tuple[str, IO[bytes]]:
        self.raw.write(self.zip.flush())
        self.raw.seek(0)
        when = time.gmtime(self.first)
        return (
            f"host={host}/date={time.strftime('%Y-%m-%d', when)}/hour={time.strftime('%H', when)}/"
            f"{host}-{time.strftime('%Y%m%dT%H%M%SZ', when)}-{self.digest.hexdigest()[:12]}.jsonl.gz"
        ), self.raw


def expand(patterns: list[str]) -> list[Path]:
    """Files named or matched by the patterns (systemd's ExecStart has no shell to glob)."""
    found: dict[str, Path] = {}
    for pattern in patterns:
        matches = glob.glob(pattern) if glob.has_magic(pattern) else [pattern]
        for name in matches:
            found.setdefault(name, Path(name))
    return [found[name] for name in sorted(found)]


def ship(
    patterns: list[str],
    config: ShipConfig,
    *,
    container: Any = None,
    salts: DailySalts | None = None,
    clock: Callable[[], float] = time.time,
) -> list[FileResult]:
    state = ShipState(config.state_dir)
    results: list[FileResult] = []
    failure: str | None = None
    paths = expand(patterns)
    if paths and salts is None:
        try:
            salts = open_salts(config, now=clock())
            salts.prune()
        except SaltUnavailable as exc:  # no file is shipped without its day's salt
            results = [FileResult(path=str(path), error="not tried: the daily salt is unavailable") for path in paths]
            results[0].error = str(exc)
            return results
    for path in paths:
        result = FileResult(path=str(path))
        results.append(result)
        if failure is not None:
            result.error = "not tried: the storage failed on an earlier file of this run"
            continue
        try:
            marker = state.marker(path)
            if marker.complete:
                result.skipped = result.complete = True
                continue
            settled = clock() - path.stat().st_mtime >= config.settle_seconds
            if container is None:
                container = open_container(config)
            ship_file(path, config, container, result, hashers=salts.hasher, start=marker.offset, to_end=settled)
            state.save(
                path,
                Marker(
                    offset=marker.offset + result.bytes_read,
                    lines=marker.lines + result.lines,
                    complete=settled,
                    blobs=marker.blobs + result.uploaded,
                ),
            )
            result.complete = settled
        except OSError as exc:
            result.error = f"cannot read {path}: {exc.strerror or exc}"
        except (UploadFailed, SaltUnavailable) as exc:
            result.error = failure = str(exc)
    prune(results, config, state, clock())
    return results


def open_salts(config: ShipConfig, *, now: float) -> DailySalts:
    container = open_container(config, salts=True)
    return DailySalts(container, config.key, now=now, describe=lambda exc, what: describe(exc, container, what))


def ship_file(
    path: Path,
    config: ShipConfig,
    container: Any,
    result: FileResult,
    *,
    hashers: Callable[[int], IdentityHasher],
    start: int = 0,
    to_end: bool = True,
) -> None:
    """Ship ``path`` from byte ``start``: to its end when ``to_end``, else to its last line end
    (a writer may be in the middle of a line). ``hashers``: the hasher of each UTC day."""
    hours: dict[int, _Hour] = {}
    mtime = int(path.stat().st_mtime)
    parser = LineParser(hashers, config.host, year_hint=time.gmtime(mtime).tm_year)
    current = mtime // 3600
    consumed = 0
    try:
        with _open(path) as handle:
            _skip(handle, start)
            rest = b""
            while True:
                block = handle.read(READ_BLOCK)
                if not block:
                    break
                data = rest + block
                cut = data.rfind(b"\n") + 1
                if cut == 0 and len(data) < 4 * READ_BLOCK:
                    rest = data
                    continue
                cut = cut or len(data)  # a line over 4 MiB: parsed (as unparsed) in pieces
                current = _ship_lines(data[:cut], parser, hours, current, result)
                consumed += cut
                rest = data[cut:]
            if rest and to_end:
                current = _ship_lines(rest + b"\n", parser, hours, current, result)
                consumed += len(rest)
        for hour in hours.values():
            name, data = hour.finish(config.host)
            if upload_once(container, name, data):
                result.uploaded += 1
            else:
                result.already += 1
    finally:
        for hour in hours.values():
            hour.raw.close()
    result.bytes_read = consumed


def _ship_lines(data: bytes, parser: LineParser, hours: dict[int, _Hour], current: int, result: FileResult) -> int:
    """Parse a block of whole lines into their hours; returns the hour of the last line."""
    lines = data.decode("utf-8", "replace").split("\n")
    lines.pop()  # after the final "\n"
    by_hour: dict[int, list[str]] = {}
    parse = parser.parse
    unparsed = 0
    for line in lines:
        record, second, parsed = parse(line)
        if second is not None:
            current = second // 3600
        unparsed += not parsed
        bucket = by_hour.get(current)
        if bucket is None:
            bucket = by_hour[current] = []
            if current not in hours:
                hours[current] = _Hour(second if second is not None and second // 3600 == current else current * 3600)
        bucket.append(record)
    for hour, records in by_hour.items():
        records.append("")
        hours[hour].write("\n".join(records).encode("utf-8"))
    result.lines += len(lines)
    result.unparsed += unparsed
    return current


def _open(path: Path) -> IO[bytes]:
    import gzip

    handle = path.open("rb")
    if handle.read(2) == b"\x1f\x8b":  # logrotate's delaycompress: an older rotation, compressed
        handle.close()
        return gzip.open(path, "rb")
    handle.seek(0)
    return handle


def _skip(handle: IO[bytes], offset: int) -> None:
    if offset and handle.seekable() and not hasattr(handle, "fileobj"):
        handle.seek(offset)
        return
    while offset > 0:  # a compressed file: read past what was shipped
        skipped = len(handle.read(min(offset, READ_BLOCK)))
        if not skipped:
            break
        offset -= skipped


def prune(results: list[FileResult], config: ShipConfig, state: ShipState, now: float) -> None:
    """Delete the files shipped completely and older than ``keep_hours``, with their markers."""
    for result in results:
        path = Path(result.path)
        try:
            if result.complete and now - path.stat().st_mtime >= config.keep_hours * 3600:
                path.unlink()
                state.forget(path)
                log.info("%s: shipped and older than %g h, deleted", path, config.keep_hours)
        except OSError as exc:
            log.warning("%s: cannot delete: %s", path, exc.strerror or exc)


def main(patterns: list[str], env: Mapping[str, str] = os.environ, *, clock: Callable[[], float] = time.time) -> int:
    """The command: 0 when every file is shipped as far as it can be, 1 when any failed or held
    too many lines it could not parse, 2 for settings."""
    try:
        config = load_config(env)
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    log.info(
        "ship-logs: host %s, container %s, LOGS_HASH_KEY fingerprint %s",
        config.host,
        config.container,
        config.key_fingerprint,
    )
    results = ship(patterns, config, clock=clock)
    failed = 0
    for result in results:
        name = rotation_name(Path(result.path))
        if result.skipped:
            log.debug("%s: shipped before, skipped", name)
        elif result.error:
            failed += 1
            log.error("%s: not shipped, left for the next run: %s", result.path, result.error)
        else:
            share = 100.0 * result.unparsed / result.lines if result.lines else 0.0
            log.info(
                "%s: %d lines (%d not parsed) -> %d blobs uploaded, %d already there%s",
                result.path,
                result.lines,
                result.unparsed,
                result.uploaded,
                result.already,
                "" if result.complete else "; still being written, the rest goes on the next run",
            )
            if result.lines >= 20 and share > config.max_unparsed_percent:
                failed += 1
                result.too_unparsed = True
                log.error(
                    "%s: %.1f %% of the lines could not be parsed (limit %g %%): is the rsyslog rule's "
                    "template or HAProxy's log-format the shipped one?",
                    result.path,
                    share,
                    config.max_unparsed_percent,
                )
    _status(results, config, clock())
    return 1 if failed else 0


def _pending(results: list[FileResult]) -> dict[str, Any]:
    """The files left for the next run, and the oldest of them (alert when it is hours old)."""
    pending = [r for r in results if not r.complete and Path(r.path).exists()]
    oldest = min(pending, key=lambda r: Path(r.path).stat().st_mtime, default=None)
    return {
        "files_pending": len(pending),
        "oldest_pending": oldest.path if oldest else None,
        "oldest_pending_since": now_text(Path(oldest.path).stat().st_mtime) if oldest else None,
    }


def _status(results: list[FileResult], config: ShipConfig, now: float) -> None:
    errors = [r.error for r in results if r.error]
    unparsed = [r.path for r in results if r.too_unparsed]
    status = {
        "finished_at": now_text(now),
        "files_seen": len(results),
        **_pending(results),
        "lines_shipped": sum(r.lines for r in results),
        "lines_unparsed": sum(r.unparsed for r in results),
        "files_over_unparsed_limit": unparsed,
        "key_fingerprint": config.key_fingerprint,
        "last_error": errors[0] if errors else None,
        "last_error_at": now_text(now) if errors else None,
    }
    try:
        ShipState(config.state_dir).write_status(status)
    except OSError as exc:
        log.error("cannot write %s/status.json: %s", config.state_dir, exc.strerror or exc)
