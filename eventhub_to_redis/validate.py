"""Check one Event Hub message against the contract (docs/eventhub-messages.schema.json).

Hand-written rather than a JSON Schema library: this runs for every event of every batch,
and the contract is small. Pure: bytes and a position in, an Event, a Sample or a Rejection
out; the clock and the hasher are arguments.

A platform event keeps only the fields the contract declares (eventhub_to_redis/event_body.py:
an allow-list, pseudonyms hashed), so the stored body carries no raw identifier.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Collection

from eventhub_to_redis.event_body import stored
from shared.core.errors import BadInputError
from shared.core.measurement import HLS_METRICS
from shared.core.tenants import name_problem
from shared.live.store import Event, Sample
from shared.privacy.identity import IdentityHasher
from shared.privacy.scrub import looks_personal

HLS_TYPE = "hls.listeners"  # 1.0.0: one tenant's count from one edge
HLS_TICK = "hls.tick"  # 1.1.0: one edge's whole tick, many tenants
TYPE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
MAX_LISTENERS = 10_000_000
SESSION_FIELDS = frozenset(HLS_METRICS)  # an edge's sessions (shared.core.measurement)
# An edge's count is true when sent: one timed further ahead of the Event Hub's enqueued time
# (the clock of the hub, not of the edge) than this is a clock running ahead, and is clamped
# to the enqueued time (docs/eventhub-messages.md).
HLS_AHEAD_MS = 5_000
# RFC 3339 date-time, as the schema's pattern says; ranges are checked by fromisoformat.
TIME_PATTERN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ONE_MS = dt.timedelta(milliseconds=1)


@dataclass(frozen=True)
class Position:
    """Where a message sits in the Event Hub: unique by (partition, sequence)."""

    partition: str
    sequence: int
    offset: str | None = None
    enqueued_ms: int | None = None


@dataclass(frozen=True)
class HlsTick:
    """An ``hls.tick`` message: one edge ticked at ``time_ms``, with these tenants' counts.
    ``not_tenants``: entries left out because their tenant is not in ``TENANTS``."""

    host: str
    time_ms: int
    samples: tuple[Sample, ...]
    not_tenants: int = 0


@dataclass(frozen=True)
class Rejection:
    position: Position
    reason: str
    body: bytes


class MessageRefused(BadInputError):
    """Why a message cannot be used; ``check`` turns it into a Rejection (a dead letter)."""


def check(
    body: bytes,
    position: Position,
    *,
    now_ms: int,
    hasher: IdentityHasher,
    max_bytes: int,
    max_future_ms: int,
    tenants: Collection[str] | None = None,
    extra_fields: Collection[str] = (),
) -> Event | Sample | HlsTick | Rejection:
    """Classify one message; a Rejection says, in one line, what is wrong and where.

    Reasons never quote the message: a rejected message may carry personal data.
    """
    try:
        doc, text = _document(body, max_bytes)
        if doc.get("type") == HLS_TICK:
            return _hls_tick(doc, position, tenants=tenants, now_ms=now_ms, max_future_ms=max_future_ms)
        tenant, kind, time_ms = _envelope(doc, tenants=tenants, now_ms=now_ms, max_future_ms=max_future_ms)
        if kind == HLS_TYPE:
            return _hls_sample(doc, tenant, _hls_time(time_ms, position, now_ms))
        kept = stored(doc, text, hasher, extra=extra_fields)
        if kept.text is None:
            raise MessageRefused("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff escape): not valid Unicode")
    except MessageRefused as refused:
        return Rejection(position=position, reason=str(refused), body=body)
    return Event(
        tenant=tenant,
        type=kind,
        time_ms=time_ms,
        partition=position.partition,
        sequence=position.sequence,
        body=kept.text,
        dropped_fields=kept.dropped,
    )


def _document(body: bytes, max_bytes: int) -> tuple[dict, str]:
    """The message as a JSON object, and its text."""
    if len(body) > max_bytes:
        raise MessageRefused(f"message is {len(body)} bytes, more than the {max_bytes} allowed")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageRefused(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    try:
        doc = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # bad JSON, NaN, huge numbers, deep nesting
        raise MessageRefused(f"not JSON: {str(exc)[:100] or type(exc).__name__}") from None
    if not isinstance(doc, dict):
        raise MessageRefused(f"expected a JSON object, got {type(doc).__name__}")
    return doc, text


def _envelope(doc: dict, *, tenants: Collection[str] | None, now_ms: int, max_future_ms: int) -> tuple[str, str, int]:
    """The fields every message has (docs/eventhub-messages.md): ``(tenant, type, time ms)``."""
    tenant = doc.get("tenant")
    if not isinstance(tenant, str) or not tenant:
        raise MessageRefused("field 'tenant' is missing or not a string")
    problem = name_problem(tenant)
    if problem:
        raise MessageRefused(f"field 'tenant' {problem}")
    if tenants is not None and tenant not in tenants:
        raise MessageRefused(f"tenant {tenant!r} is not in TENANTS")
    kind = doc.get("type")
    if not isinstance(kind, str) or not TYPE_PATTERN.fullmatch(kind):
        raise MessageRefused("field 'type' is missing or not a name of 1-100 letters, digits and . _ : -")
    if looks_personal(kind):
        raise MessageRefused("field 'type' looks like an IP address")
    return tenant, kind, _time(doc, now_ms=now_ms, max_future_ms=max_future_ms)


def _time(doc: dict, *, now_ms: int, max_future_ms: int) -> int:
    """The message's ``time`` (ms): an RFC 3339 date-time, at most ``max_future_ms`` ahead."""
    time_ms = parse_time(doc.get("time"))
    if time_ms is None:
        raise MessageRefused("field 'time' is missing or not an RFC 3339 date-time with a time zone")
    if time_ms > now_ms + max_future_ms:
        raise MessageRefused(f"field 'time' is {(time_ms - now_ms) // 1000} s in the future")
    return time_ms


def _hls_time(time_ms: int, position: Position, now_ms: int) -> int:
    """An edge's count is true when sent: a time further ahead of the hub's enqueued time than
    ``HLS_AHEAD_MS`` is an edge clock running ahead, filed at the enqueued time."""
    reference = position.enqueued_ms if position.enqueued_ms is not None else now_ms
    return reference if time_ms > reference + HLS_AHEAD_MS else time_ms


def _hls_sample(doc: dict, tenant: str, time_ms: int) -> Sample:
    """An ``hls.listeners`` message: one edge's count (and countries) at ``time_ms``."""
    host = doc.get("host", "-")  # "-": an agent from before the field, one host
    if "host" in doc:
        _check_host(host)
    return Sample(tenant=tenant, series="hls", time_ms=time_ms, metrics=_hls_metrics(doc), host=host)


def _hls_tick(
    doc: dict, position: Position, *, tenants: Collection[str] | None, now_ms: int, max_future_ms: int
) -> HlsTick:
    """An ``hls.tick`` message: ``{"host", "time", "tenants": {tenant: {"listeners", "countries"}}}``."""
    host = doc.get("host")
    _check_host(host)
    time_ms = _hls_time(_time(doc, now_ms=now_ms, max_future_ms=max_future_ms), position, now_ms)
    entries = doc.get("tenants", {})
    if not isinstance(entries, dict):
        raise MessageRefused("field 'tenants' must be an object of tenant names to counts")
    samples, skipped = [], 0
    for index, (tenant, counts) in enumerate(entries.items(), 1):
        where = f"entry {index} of 'tenants'"  # by position: a refused name may be personal
        problem = name_problem(tenant)
        if problem:
            raise MessageRefused(f"{where}: the tenant name {problem}")
        if not isinstance(counts, dict):
            raise MessageRefused(f"{where}: expected an object with 'listeners'")
        try:
            metrics = _hls_metrics(counts)
        except MessageRefused as refused:
            raise MessageRefused(f"{where}: {refused}") from None
        if tenants is not None and tenant not in tenants:
            skipped += 1
            continue
        samples.append(Sample(tenant=tenant, series="hls", time_ms=time_ms, metrics=metrics, host=host))
    return HlsTick(host=host, time_ms=time_ms, samples=tuple(samples), not_tenants=skipped)


def _check_host(host: Any) -> None:
    if not isinstance(host, str) or name_problem(host):
        raise MessageRefused(
            "field 'host' must be a short host name of 1-64 letters, digits and . _ - (not an address)"
        )


def _hls_metrics(doc: dict) -> dict[str, int]:
    """``listeners`` and ``countries`` of one tenant's count, as metrics."""
    listeners = doc.get("listeners")
    if isinstance(listeners, float) and listeners.is_integer():
        listeners = int(listeners)  # JSON Schema's "integer" includes 5.0
    if isinstance(listeners, bool) or not isinstance(listeners, int) or not 0 <= listeners <= MAX_LISTENERS:
        raise MessageRefused("field 'listeners' must be a whole number from 0 to 10000000")
    metrics = {"listeners": listeners}
    for name in SESSION_FIELDS.intersection(doc):  # 1.1.0: sessions by the industry's rules
        value = doc[name]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LISTENERS:
            raise MessageRefused(f"field {name!r} must be a whole number from 0 to 10000000")
        metrics[name] = value
    if "countries" in doc:
        countries = _countries(doc["countries"])
        if countries is None:
            raise MessageRefused(
                "field 'countries' must be an object of at most 52 country codes (two capital "
                "letters, 'other', 'unknown') to whole numbers from 0 to 10000000"
            )
        metrics.update({f"country:{code}": n for code, n in countries.items()})
    return metrics


_COUNTRY_KEY = re.compile(r"[A-Z]{2}|other|unknown")


def _countries(value: Any) -> dict[str, int] | None:
    """An ``hls.listeners`` message's ``countries`` (listeners per country), or None when invalid."""
    if not isinstance(value, dict) or len(value) > 52:
        return None
    out = {}
    for code, count in value.items():
        if isinstance(count, float) and count.is_integer():
            count = int(count)
        if (
            not (isinstance(code, str) and _COUNTRY_KEY.fullmatch(code))
            or isinstance(count, bool)
            or not isinstance(count, int)
            or not 0 <= count <= MAX_LISTENERS
        ):
            return None
        out[code] = count
    return out


def parse_time(value: Any) -> int | None:
    """Epoch ms of a strict RFC 3339 date-time with a zone (``Z`` or ``±hh:mm``), else None.

    The pattern says which strings are RFC 3339 (``fromisoformat`` alone takes other ISO 8601
    forms); ``fromisoformat`` then checks the ranges (days of the month, no leap second)."""
    if not isinstance(value, str) or len(value) > 40 or TIME_PATTERN.fullmatch(value) is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value[:-1] + "Z" if value[-1] == "z" else value)
    except ValueError:
        return None
    return (when - EPOCH) // ONE_MS


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is too large")
    return value
