"""Dead letters: every message that cannot be valid, kept in Blob Storage with its reason.

One blob per message, named by its Event Hub position, so a redelivered batch rewrites the
same blobs instead of adding copies. A body keeps the fields the contract declares, with nothing
keyed in it (eventhub_to_redis/event_body.py: pseudonyms and addresses become ``removed``
markers, so a dead letter links to no listener however long it is kept); a body that is not a
JSON object keeps no text at all.

Writing is bounded in time: after the first failed upload no further upload starts, and the
whole batch gives up after ``DEADLINE_SECONDS``, so an unreachable storage account costs the
batch well under a minute before the host's retry policy redelivers it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Collection, Sequence

from eventhub_to_redis.event_body import dead_letter_body
from eventhub_to_redis.validate import Rejection
from shared.clients.blob import upload
from shared.core.errors import RetriableError

MAX_BODY_CHARS = 1_048_576
DEADLINE_SECONDS = 30.0


def blob_name(rejection: Rejection) -> str:
    pos = rejection.position
    day = "unknown-date"
    if pos.enqueued_ms is not None:
        day = dt.datetime.fromtimestamp(pos.enqueued_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")
    safe_partition = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in pos.partition)
    if safe_partition != pos.partition or len(safe_partition) > 40:
        # Two partitions (replay files) must never share names: keep a digest of the original.
        digest = hashlib.sha256(pos.partition.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        safe_partition = f"{safe_partition[:40]}-{digest}"
    return f"eventhub_to_redis/{day}/p{safe_partition}-s{pos.sequence:020d}.json"


def document(rejection: Rejection, *, extra_fields: Collection[str] = ()) -> bytes:
    pos = rejection.position
    try:
        text, encoding = rejection.body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = rejection.body.decode("utf-8", "backslashreplace"), "utf-8-backslashreplace"
    body, dropped = dead_letter_body(text[:MAX_BODY_CHARS], extra=extra_fields)
    doc = {
        "reason": rejection.reason,
        "partition": pos.partition,
        "sequence_number": pos.sequence,
        "offset": pos.offset,
        "enqueued_time_ms": pos.enqueued_ms,
        "size_bytes": len(rejection.body),
        "body_encoding": encoding,
        "body": body,  # null: not a JSON object, so no text of it is kept
        "body_truncated": len(text) > MAX_BODY_CHARS,
        "fields_dropped": dropped,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def write_all(
    container: Any,
    rejections: Sequence[Rejection],
    *,
    extra_fields: Collection[str] = (),
    deadline_s: float = DEADLINE_SECONDS,
) -> None:
    """Upload every dead letter; raises RetriableError on the first failure (the batch retries)."""
    if not rejections:
        return
    jobs = [(blob_name(r), document(r, extra_fields=extra_fields)) for r in rejections]
    failed = threading.Event()

    def one(name: str, data: bytes) -> None:
        if failed.is_set():
            return  # storage already failed this batch: do not queue more of the same wait
        try:
            upload(container, name, data, content_type="application/json")
        except BaseException:
            failed.set()
            raise

    if len(jobs) == 1:
        one(*jobs[0])
        return
    pool = ThreadPoolExecutor(max_workers=min(8, len(jobs)))
    try:
        futures = [pool.submit(one, name, data) for name, data in jobs]
        done, pending = wait(futures, timeout=deadline_s, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        if pending:
            failed.set()
            raise RetriableError(
                f"dead-letter storage: {len(pending)} of {len(jobs)} uploads not done after {deadline_s:.0f} s"
            )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
