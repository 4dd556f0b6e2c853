"""What of a message is kept: the fields the contract declares, and nothing else.

Why an allow-list: a deny-list (field names that look personal) stored ``userId``, names,
``lat``/``lon``, ``sessionId`` and ``push_token`` in clear, and any field a platform adds
tomorrow would be stored until someone noticed. Here a field is kept only when the contract
(docs/eventhub-messages.md) or the deployment (``EVENT_EXTRA_FIELDS``) declares it:

* declared fields are kept, with address-shaped text and personal field names inside their
  values still hashed (shared.privacy.scrub: a second net, not the rule);
* declared pseudonyms (``user_id``, ``session_id``, ``device_id``, ``install_id``) are kept as
  keyed hashes, ``hmac:<hash>`` (a string or a number; anything else is dropped);
* every other field is dropped, and counted.

Dead letters keep the same fields, but nothing keyed: pseudonyms and address-shaped text are
replaced by ``removed`` markers (``hmac:removed``, ``ip:removed``), so a dead letter kept for
weeks links to no listener (issue 37.6). A body that is not a JSON object keeps no text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Collection

from shared.privacy.identity import IdentityHasher
from shared.privacy.scrub import looks_personal, personal_kind, scrub_document

ENVELOPE = frozenset({"tenant", "type", "time"})
# A platform event's declared fields: what the platform's apps and players say of a play.
DECLARED = frozenset(
    {
        "station",
        "mount",
        "channel",
        "program",
        "content_id",
        "content_type",
        "title",
        "platform",
        "os",
        "os_version",
        "app_version",
        "device_type",
        "player",
        "country",
        "duration_seconds",
        "position_seconds",
        "bitrate",
        "quality",
        "source",
        "campaign",
        "error",
        "code",
        "value",
        "count",
    }
)
PSEUDONYMS = frozenset({"user_id", "session_id", "device_id", "install_id"})
HLS_FIELDS = frozenset({"host", "listeners", "countries", "tenants"})  # kept in dead letters only
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Kept:
    text: str | None  # None: a string is not valid Unicode (a lone surrogate)
    dropped: int  # fields left out


def extra_field_problem(name: str) -> str | None:
    """Why ``name`` cannot be an ``EVENT_EXTRA_FIELDS`` entry, or None."""
    if not FIELD_NAME.fullmatch(name):
        return f"{name[:70]!r} is not a field name of 1-64 of a-z 0-9 _ starting with a letter"
    if name in ENVELOPE | DECLARED | PSEUDONYMS:
        return f"{name!r} is declared already"
    if personal_kind(name) is not None:
        return f"{name!r} names personal data ({personal_kind(name)}): it cannot be kept in clear"
    return None


def stored(doc: dict, text: str, hasher: IdentityHasher, *, extra: Collection[str] = ()) -> Kept:
    """A platform event's body as it is stored in Redis: the body as sent when every field is
    declared and nothing in it is personal (a few C-level scans, no walk), else re-encoded."""
    pseudonyms = PSEUDONYMS.intersection(doc)
    fast = not pseudonyms and "\\" not in text and not looks_personal(text)
    if fast and all(key in ENVELOPE or key in DECLARED or key in extra for key in doc):
        if not any(personal_kind(key) for key in _KEY.findall(text)):
            return Kept(text, 0)
    kept, dropped = _declared(doc, extra)
    clean = scrub_document(kept, hasher)
    for key in pseudonyms:
        value = doc[key]
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            clean[key] = f"hmac:{hasher.hash(str(value), kind=key)}"
        else:
            dropped += 1
    return Kept(_encode(clean), dropped)


def dead_letter_body(text: str, *, extra: Collection[str] = ()) -> tuple[str | None, int]:
    """``(body, fields dropped)`` of a rejected message: the declared fields of a JSON object,
    with nothing keyed in it; None when the body is not a JSON object (its text is not kept)."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None, 0
    if not isinstance(doc, dict):
        return None, 0
    kept, dropped = _declared(doc, (*extra, *HLS_FIELDS))
    clean = scrub_document(kept, REMOVED)
    for key in PSEUDONYMS.intersection(doc):
        clean[key] = "hmac:removed"
    return _encode(clean, ascii_only=True), dropped


def _declared(doc: dict, extra: Collection[str]) -> tuple[dict, int]:
    kept = {k: v for k, v in doc.items() if k in ENVELOPE or k in DECLARED or k in extra}
    return kept, len(doc) - len(kept) - len(PSEUDONYMS.intersection(doc))


def _encode(doc: dict, *, ascii_only: bool = False) -> str | None:
    clean = json.dumps(doc, ensure_ascii=ascii_only, separators=(",", ":"))
    try:
        clean.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return clean


class _Removed:
    """Stands in for the hasher in dead letters: every hash is the word ``removed``."""

    def hash(self, value: str, *, kind: str = "id") -> str:
        return "removed"

    def hash_ip(self, address: str) -> str:
        return "removed"


REMOVED: Any = _Removed()
# Without any backslash in the text, every key is exactly a match of this.
_KEY = re.compile(r'"([^"]*)"\s*:')
