"""Dead letters: every message that cannot be valid, kept in Blob Storage with its reason.

One blob per message, named by its Event Hub position, so a redelivered batch rewrites the
same blobs instead of adding copies. Bodies are kept as text with anything address-shaped
replaced by its keyed hash: an invalid message can still carry an IP, and raw IPs never
go to storage.
"""
from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from eventhub_to_redis.validate import Rejection
from shared.blob import upload
from shared.identity import IdentityHasher, scrub_ips

MAX_BODY_CHARS = 1_048_576


def blob_name(rejection: Rejection) -> str:
    pos = rejection.position
    day = "unknown-date"
    if pos.enqueued_ms is not None:
        day = dt.datetime.fromtimestamp(pos.enqueued_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")
    safe_partition = "".join(c if c.isalnum() or c in "-_" else "_" for c in pos.partition)[:40]
    return f"eventhub_to_redis/{day}/p{safe_partition}-s{pos.sequence:020d}.json"


def document(rejection: Rejection, *, hasher: IdentityHasher) -> bytes:
    pos = rejection.position
    try:
        text, encoding = rejection.body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = rejection.body.decode("utf-8", "backslashreplace"), "utf-8-backslashreplace"
    doc = {
        "reason": rejection.reason,
        "partition": pos.partition,
        "sequence_number": pos.sequence,
        "offset": pos.offset,
        "enqueued_time_ms": pos.enqueued_ms,
        "size_bytes": len(rejection.body),
        "body_encoding": encoding,
        "body": scrub_ips(text[:MAX_BODY_CHARS], hasher),
        "body_truncated": len(text) > MAX_BODY_CHARS,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def write_all(container: Any, rejections: Sequence[Rejection], *, hasher: IdentityHasher) -> None:
    """Upload every dead letter; raises RetriableError if any upload fails (the batch retries)."""
    if not rejections:
        return
    jobs = [(blob_name(r), document(r, hasher=hasher)) for r in rejections]
    if len(jobs) == 1:
        upload(container, *jobs[0], content_type="application/json")
        return
    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        for future in [pool.submit(upload, container, name, data, content_type="application/json")
                       for name, data in jobs]:
            future.result()
