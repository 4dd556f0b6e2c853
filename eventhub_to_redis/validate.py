"""Check one Event Hub message against the contract (docs/eventhub-messages.schema.json).

Hand-written rather than a JSON Schema library: this runs for every event of every batch,
and the contract is small. Pure: bytes and a position in, an Event, a Sample or a Rejection
out; the clock and the hasher are arguments.

Personal fields (IP addresses, device ids) are replaced by their keyed hash before the
body is kept, so the stored "original body" carries no raw identifier.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Collection

from shared.live_store import Event, Sample
from shared.tenants import TENANT_NAME

HLS_TYPE = "hls.listeners"
TYPE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
PERSONAL_FIELDS = {"ip": "ip", "client_ip": "ip", "ip_address": "ip", "remote_addr": "ip", "user_ip": "ip",
                   "device_id": "device", "idfa": "device", "idfv": "device", "gaid": "device",
                   "advertising_id": "device", "android_id": "device"}
MAX_LISTENERS = 10_000_000


@dataclass(frozen=True)
class Position:
    """Where a message sits in the Event Hub: unique by (partition, sequence)."""

    partition: str
    sequence: int
    offset: str | None = None
    enqueued_ms: int | None = None


@dataclass(frozen=True)
class Rejection:
    position: Position
    reason: str
    body: bytes


def check(body: bytes, position: Position, *, now_ms: int, hash_value: Callable[[str, str], str],
          max_bytes: int, max_future_ms: int, tenants: Collection[str] | None = None) -> Event | Sample | Rejection:
    """Classify one message; a Rejection says, in one line, what is wrong and where."""
    def reject(reason: str) -> Rejection:
        return Rejection(position=position, reason=reason, body=body)

    if len(body) > max_bytes:
        return reject(f"message is {len(body)} bytes, more than the {max_bytes} allowed")
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, huge ints, deep nesting
        return reject(f"not JSON: {str(exc)[:100]}")
    if not isinstance(doc, dict):
        return reject(f"expected a JSON object, got {type(doc).__name__}")
    tenant = doc.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        return reject("field 'tenant' is missing or not a string")
    if not TENANT_NAME.match(tenant):
        return reject("field 'tenant' is not a valid tenant name")
    if tenants is not None and tenant not in tenants:
        return reject(f"tenant {tenant!r} is not in TENANTS")
    kind = doc.get("type")
    if not isinstance(kind, str) or not TYPE_PATTERN.match(kind):
        return reject("field 'type' is missing or not a name of 1-100 letters, digits and . _ : -")
    when = doc.get("time")
    time_ms = _parse_time(when)
    if time_ms is None:
        return reject("field 'time' is missing or not an ISO 8601 date-time with a time zone")
    if time_ms > now_ms + max_future_ms:
        return reject(f"field 'time' is {(time_ms - now_ms) // 1000} s in the future")
    if kind == HLS_TYPE:
        listeners = doc.get("listeners")
        if isinstance(listeners, bool) or not isinstance(listeners, int) or not 0 <= listeners <= MAX_LISTENERS:
            return reject("field 'listeners' must be a whole number from 0 to 10000000")
        return Sample(tenant=tenant, series="hls", time_ms=time_ms, metrics={"listeners": listeners})
    stored = _without_personal_data(doc, body, hash_value)
    return Event(tenant=tenant, type=kind, time_ms=time_ms, partition=position.partition,
                 sequence=position.sequence, body=stored)


def _parse_time(value: Any) -> int | None:
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


def _without_personal_data(doc: dict, body: bytes, hash_value: Callable[[str, str], str]) -> str:
    """The body as sent, unless it carries personal fields: then with those hashed."""
    if not _has_personal(doc):
        return body.decode("utf-8")
    return json.dumps(_hash_personal(doc, hash_value), ensure_ascii=False, separators=(",", ":"))


def _has_personal(value: Any, depth: int = 0) -> bool:
    # Runs for every event: plain loops, and no descent into scalars.
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower() in PERSONAL_FIELDS:
                return True
            if depth < 3 and isinstance(item, (dict, list)) and _has_personal(item, depth + 1):
                return True
    elif isinstance(value, list) and depth < 3:
        for item in value:
            if isinstance(item, (dict, list)) and _has_personal(item, depth + 1):
                return True
    return False


def _hash_personal(value: Any, hash_value: Callable[[str, str], str], depth: int = 0) -> Any:
    if depth > 3:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            kind = PERSONAL_FIELDS.get(k.lower())
            if kind is not None and isinstance(v, (str, int)) and not isinstance(v, bool):
                out[k] = f"hmac:{hash_value(str(v), kind)}"
            else:
                out[k] = _hash_personal(v, hash_value, depth + 1)
        return out
    if isinstance(value, list):
        return [_hash_personal(v, hash_value, depth + 1) for v in value]
    return value
