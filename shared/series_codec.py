"""The compact encoding of live series (docs/redis-schema.md, "Samples"), and the one before it.

Why this shape: Redis memory is what the app costs. A sample used to be one member of one
sorted set per series, ``<time>|{"listeners":4,"mount:/a.mp3":3,...}``: every member repeated
every metric name, and 240 members (two hours at 30 s) leave Redis's compact encoding
(``zset-max-ziplist-entries``/``-listpack-entries`` 128, ``-value`` 64 bytes), costing ~345
bytes a sample. Now:

* a series is cut into **buckets**, one sorted set each
  (``fabrik:live:{tenant}:<series>:<bucket>``, bucket = time ms // bucket length: 30 min for
  icecast, 10 min for hls, 60 min for matomo): about 60 samples a bucket, so each stays in
  the compact encoding;
* a member is ``<ms into the bucket>|<schema id>|<v1>,<v2>,…``: positional whole numbers;
* the metric names of each schema id are kept once, in ``fabrik:live:{tenant}:<series>:fields``
  (hash: schema id -> JSON list of names). The id is derived from the names, so writers agree
  on it without coordination.

The score is still the sample's time in epoch ms: time ranges, exact trimming
(``ZREMRANGEBYSCORE``), late and out-of-order samples and idempotent rewrites work as before,
with Redis 6.0 commands only. Pure: no I/O here.
"""
from __future__ import annotations

import hashlib
import json
from typing import Iterable, Mapping, Sequence

BUCKET_MS = 600_000
# Per series, a bucket length that keeps about 60 samples a bucket at the series' rate: few
# keys (each costs ~150 bytes) and every bucket in the compact encoding. Part of the contract.
BUCKET_MS_OF = {"icecast": 1_800_000, "hls": 600_000, "matomo": 3_600_000}


def bucket_ms(series: str) -> int:
    return BUCKET_MS_OF.get(series, BUCKET_MS)


def bucket_of(time_ms: int, series: str = "") -> int:
    return time_ms // bucket_ms(series)


def buckets_between(low_ms: int, high_ms: int, series: str = "") -> range:
    return range(bucket_of(low_ms, series), bucket_of(high_ms, series) + 1)


def schema_id(names: Sequence[str]) -> str:
    """Six hex characters naming an ordered list of metric names (the same on every writer)."""
    return hashlib.sha256("\x00".join(names).encode("utf-8")).hexdigest()[:6]


def encode(time_ms: int, metrics: Mapping[str, int], series: str = "") -> tuple[str, str, str]:
    """``(member, schema id, names as JSON)`` for one sample; names in sorted order."""
    names = sorted(metrics)
    sid = schema_id(names)
    values = ",".join(str(int(metrics[n])) for n in names)
    return f"{time_ms % bucket_ms(series)}|{sid}|{values}", sid, json.dumps(names, separators=(",", ":"))


def decode(member: str, score: float, fields: Mapping[str, str]) -> tuple[int, dict[str, int]] | None:
    """``(time ms, metrics)`` of one member, or None when it cannot be read (unknown schema)."""
    _, _, rest = member.partition("|")
    sid, _, values = rest.partition("|")
    names_json = fields.get(sid)
    if names_json is None:
        return None
    try:
        names = json.loads(names_json)
        numbers = [int(v) for v in values.split(",")] if values else []
    except ValueError:
        return None
    if len(names) != len(numbers):
        return None
    return int(score), dict(zip(names, numbers))


def decode_legacy(member: str) -> tuple[int, dict[str, int]] | None:
    """A member of the encoding before buckets: ``<time ms>|<metrics JSON>``."""
    stamp, _, payload = member.partition("|")
    try:
        metrics = json.loads(payload)
        return int(stamp), {str(k): int(v) for k, v in metrics.items()}
    except (ValueError, AttributeError, TypeError):
        return None


def merge(rows: Iterable[tuple[int, dict[str, int]]]) -> list[tuple[int, dict[str, int]]]:
    """Rows of both encodings, oldest first; for one time the compact encoding's row wins
    (it was written after the upgrade)."""
    by_time: dict[int, dict[str, int]] = {}
    for time_ms, metrics in rows:
        by_time[time_ms] = metrics
    return sorted(by_time.items())
