"""Pure parser for Matomo's ``Live.getCounters`` answers, plain or through ``API.getBulkRequest``.

Matomo reports most errors with HTTP 200 and ``{"result": "error", "message": ...}``, and
its counters come back as strings (``"17"``) or numbers depending on version and on whether
there were visits, so every value is checked and coerced here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from shared.core.errors import BadInputError

MAX_COUNT = 10**9


@dataclass(frozen=True)
class Counters:
    """One ``Live.getCounters`` row: ``visits``, ``visitors``, ``actions`` over ``lastMinutes``."""

    visits: int
    visitors: int
    actions: int


@dataclass(frozen=True)
class SiteAnswer:
    """A sub-request's outcome: counters, or Matomo's error message for that request."""

    counters: Counters | None = None
    error: str | None = None


def load_json(data: bytes, *, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, >4300-digit numbers
        head = data[:40].decode("utf-8", "replace").strip().replace("\n", " ")
        raise BadInputError(
            f"{what}: answer is not JSON (starts with {head!r}); "
            f"is MATOMO_URL the Matomo root, and is it reachable without a login page?"
        ) from None


def top_level_error(doc: Any) -> str | None:
    if isinstance(doc, dict) and doc.get("result") == "error":
        return str(doc.get("message") or "unspecified error")[:300]
    return None


def parse_counters(doc: Any) -> SiteAnswer:
    """One Live.getCounters answer: ``[{"visits": .., "actions": .., "visitors": .., ...}]``."""
    error = top_level_error(doc)
    if error is not None:
        return SiteAnswer(error=error)
    row = doc[0] if isinstance(doc, list) and len(doc) == 1 else doc if isinstance(doc, dict) else None
    if not isinstance(row, dict):
        return SiteAnswer(error=f"unexpected answer shape ({type(doc).__name__})")
    try:
        return SiteAnswer(
            counters=Counters(
                visits=_count(row, "visits"), visitors=_count(row, "visitors"), actions=_count(row, "actions")
            )
        )
    except ValueError as exc:
        return SiteAnswer(error=str(exc))


def parse_bulk(data: bytes, *, expected: int, what: str = "matomo API.getBulkRequest") -> list[SiteAnswer]:
    """The answers of a bulk request, in the order of its ``urls[i]``.

    Raises BadInputError when the whole answer is unusable (not JSON, a top-level error, or a
    list of the wrong length); an error in one sub-request only marks that answer.
    """
    doc = load_json(data, what=what)
    error = top_level_error(doc)
    if error is not None:
        raise BadInputError(f"{what}: Matomo error: {error}")
    if not isinstance(doc, list) or len(doc) != expected:
        size = len(doc) if isinstance(doc, list) else type(doc).__name__
        raise BadInputError(f"{what}: expected a list of {expected} answers, got {size}")
    return [parse_counters(item) for item in doc]


def _count(row: dict, name: str) -> int:
    value = row.get(name, 0)
    if isinstance(value, bool):
        raise ValueError(f"{name}: not a count ({value!r})")
    if isinstance(value, str):
        value = value.strip() or "0"
        if not value.isdigit():
            raise ValueError(f"{name}: not a count ({value[:20]!r})")
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{name}: not a count ({str(value)[:20]!r})")
    return value


def sub_requests(site_ids: Sequence[int], *, window_minutes: int) -> list[tuple[int, int]]:
    """(site, lastMinutes) pairs, in order: the visitor window, then the last minute for actions."""
    out = []
    for site in site_ids:
        out.append((site, window_minutes))
        if window_minutes != 1:
            out.append((site, 1))
    return out
