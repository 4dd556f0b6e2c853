"""The compact encoding of live series (docs/redis-schema.md, "Samples").

Why this shape: Redis memory is what the app costs. A sample used to be one member of one
sorted set per series, ``<time>|{"listeners":4,"mount:/a.mp3":3,...}``: every member repeated
every metric name, and 240 members (two hours at 30 s) leave Redis's compact encoding
(``zset-max-ziplist-entries``/``-listpack-entries`` 128, ``-value`` 64 bytes), costing ~345
bytes a sample. Now:

* a series is cut into **buckets**, one hash each (``fabrik:live:{tenant}:<series>:h:<bucket>``,
  bucket = time ms // bucket length, the series' ``bucket_ms``: 30 min for icecast, 60 min for
  matomo): about 60 samples
  a bucket, so each stays in the compact encoding (HLS counts are kept per edge instead:
  ``shared.live.hls_edges``);
* a field is the sample's **ms into the bucket** (a whole number: Redis stores it in 1-4 bytes,
  where a sorted set's score costs 9), its value the **positional** whole numbers
  ``<v1>,<v2>,…``;
* the metric names are kept once, in ``fabrik:live:{tenant}:<series>:fields`` (hash: schema id
  -> JSON list of names); the id is derived from the names, so writers agree on it without
  coordination. The bucket's field ``s`` names the schema of its values; a value of another
  schema (the metrics changed inside the bucket) carries its own: ``<schema id>|<values>``.
  Only the write script knows a bucket's ``s``, so writes go through ``shared.live.scripts``.

The time is ``bucket × length + field``: ranges, exact trimming (the script drops the fields
below the window), late and out-of-order samples and idempotent rewrites (a field per
millisecond) all hold. Pure: no I/O here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Mapping, Sequence

# A series' bucket length is its descriptor's ``Series.bucket_ms`` (part of the contract): about
# 60 samples a bucket at the series' rate, so few keys (each costs ~150 bytes) and every bucket
# in the compact encoding.


def buckets_between(low_ms: int, high_ms: int, bucket_ms: int) -> range:
    return range(low_ms // bucket_ms, high_ms // bucket_ms + 1)


def schema_id(names: Sequence[str]) -> str:
    """Six hex characters naming an ordered list of metric names (the same on every writer)."""
    return hashlib.sha256("\x00".join(names).encode("utf-8")).hexdigest()[:6]


def encode_values(metrics: Mapping[str, int]) -> tuple[str, str, str]:
    """``(schema id, names as JSON, values)`` of one sample; names in sorted order."""
    names = sorted(metrics)
    return schema_id(names), json.dumps(names, separators=(",", ":")), ",".join(str(int(metrics[n])) for n in names)


def decode_bucket(
    bucket: int, bucket_ms: int, mapping: Mapping[str, str], fields: Mapping[str, str], *, low: int, high: int
) -> list[tuple[int, dict[str, int]]]:
    """The samples of one hash bucket between ``low`` and ``high`` (ms, inclusive); a value
    whose schema is unknown, or a field that is not a whole number, is skipped."""
    base = bucket * bucket_ms
    default = mapping.get("s")
    names_of: dict[str, list[str] | None] = {}
    out = []
    for field, value in mapping.items():
        if field == "s":
            continue
        try:
            time_ms = base + int(field)
        except ValueError:
            continue
        if not low <= time_ms <= high:
            continue
        sid, sep, values = value.partition("|")
        if not sep:
            sid, values = default or "", value
        if sid not in names_of:
            names_of[sid] = _names(fields.get(sid))
        names = names_of[sid]
        try:
            numbers = [int(v) for v in values.split(",")] if values else []
        except ValueError:
            continue
        if names is not None and len(names) == len(numbers):
            out.append((time_ms, dict(zip(names, numbers))))
    return out


def _names(names_json: str | None) -> list[str] | None:
    try:
        names = json.loads(names_json) if names_json is not None else None
    except ValueError:
        return None
    return names if isinstance(names, list) else None
