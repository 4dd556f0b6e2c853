"""Privacy by construction: nothing shaped like an IP or e-mail address is kept in clear.

Two rules, applied to every string at any depth (keys included) and to free text:

* **Address-shaped text** (IPv4 dotted quads, IPv6 in any form: compressed, mapped, bracketed,
  with a zone or a port, and ``user@host``) is replaced by ``ip:<hash>`` or ``email:<hash>``.
  The patterns over-match on purpose (a four-part version number is hashed too): losing a
  version string costs less than storing an address.
* **Personal field names** (``ip``, ``clientIp``, ``x_forwarded_for``, ``remote_addr``,
  ``device_id``, ``email`` … see :func:`personal_kind`) have their whole value hashed,
  whatever its type: a string, a number, or every leaf of a list or object.

Hashes are the keyed HMAC of :mod:`shared.privacy.identity`, so the same listener hashes the same
here, in the Icecast samples and in the shipped HAProxy logs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from shared.privacy.identity import IdentityHasher

# IPv6: a run of hex groups and colons with "::" or at least four groups (a full address has
# eight; "08:00:00" in a time has three and is left alone), optionally bracketed, with a zone.
_H = r"[0-9A-Fa-f]{1,4}"
_V4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
_IPV6 = (
    rf"\[?(?:(?:{_H}(?::{_H})*)?::(?:(?:{_H}:)*{_V4}|{_H}(?::{_H})*)?"  # compressed, mapped
    rf"|{_H}(?::{_H}){{2,}}:{_V4}|{_H}(?::{_H}){{3,}})(?:%[0-9A-Za-z._-]+)?\]?"
)  # full
_IPV4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"  # no digit boundaries: "1.2.3.4567" is hashed too
# Bounded as RFC 5321 bounds them (local part 64, domain 255): unbounded runs would make a
# long line without spaces quadratic to scan.
_EMAIL = r"[^\s@\"<>(),;:\[\]\\]{1,64}@[^\s@\"<>(),;:\[\]\\]{1,255}"
ADDRESS = re.compile(f"(?P<email>{_EMAIL})|(?P<v6>{_IPV6})|(?P<v4>{_IPV4})")
_NO_EMAIL = re.compile(f"(?P<email>(?!))|(?P<v6>{_IPV6})|(?P<v4>{_IPV4})")
# The same question, asked faster (this runs on every event): a compressed IPv6 always holds
# "::", a full one four colon-separated groups, and the e-mail pattern only matters with "@".
_EMAIL_ONLY = re.compile(_EMAIL)
# Anchored on the separators, not on every digit or hex letter: the same strings match (a run
# of four dotted groups holds "d.ddd.ddd.d", four colon groups "h:hhhh:hhhh:h"), three times faster.
_V4_OR_FULL_V6 = re.compile(
    r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]|[0-9A-Fa-f]:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]"
)

_IP_WORDS = frozenset(
    {
        "ip",
        "ips",
        "ipv4",
        "ipv6",
        "ipaddr",
        "ipaddress",
        "addr",
        "address",
        "xff",
        "forwarded",
        "forwardedfor",
        "remoteaddr",
        "remoteaddress",
        "clientaddress",
    }
)
_IP_SUFFIX_NOT = frozenset(
    {
        "zip",
        "tip",
        "trip",
        "ship",
        "skip",
        "clip",
        "chip",
        "strip",
        "flip",
        "slip",
        "grip",
        "drip",
        "equip",
        "whip",
        "dip",
        "hip",
        "lip",
        "rip",
        "sip",
        "nip",
    }
)
_DEVICE_WORDS = frozenset(
    {"deviceid", "idfa", "idfv", "gaid", "adid", "advertisingid", "androidid", "imei", "msisdn", "mac", "macaddress"}
)
_EMAIL_WORDS = frozenset({"email", "mail", "emailaddress", "phone", "phonenumber"})
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
PERSONAL_WORD_HINT = re.compile(
    r"ip|addr|forward|xff|mail|phone|device|idf|gaid|adid|advertising|android|imei|msisdn|mac", re.IGNORECASE
)


@lru_cache(maxsize=4096)
def personal_kind(key: str) -> str | None:
    """``"ip"``, ``"device"`` or ``"email"`` when a field of this name holds personal data.

    The name is split into words (camelCase, snake_case, kebab-case, dots) and lowercased, so
    ``clientIp``, ``client_ip``, ``Client-IP``, ``ipAddress`` and ``x_forwarded_for`` all match.
    """
    if not PERSONAL_WORD_HINT.search(key):
        return None
    words = [w.lower() for w in _SPLIT.split(key) if w]
    joined = "".join(words)
    candidates = {joined, *words, "".join(words[-2:])}
    if candidates & _DEVICE_WORDS:
        return "device"
    if candidates & _EMAIL_WORDS:
        return "email"
    if candidates & _IP_WORDS or any(w.endswith("ip") and len(w) <= 9 and w not in _IP_SUFFIX_NOT for w in words):
        return "ip"
    return None


def looks_personal(text: str) -> bool:
    """True when ``text`` holds anything address-shaped: ``ADDRESS.search(text)``, cheaper."""
    if "::" in text:
        return True
    if "@" in text and _EMAIL_ONLY.search(text):
        return True
    return _V4_OR_FULL_V6.search(text) is not None


def scrub_text(text: str, hasher: IdentityHasher) -> str:
    """``text`` with every address-shaped part replaced by ``ip:<hash>`` / ``email:<hash>``."""
    if not looks_personal(text):
        return text  # the common case, at the cost of three C-level scans

    def _sub(match: re.Match[str]) -> str:
        if match.group("email") is not None:
            return f"email:{hasher.hash(match.group(0).lower(), kind='email')}"
        return f"ip:{hash_address(match.group(0), hasher)}"

    return (ADDRESS if "@" in text else _NO_EMAIL).sub(_sub, text)


def hash_address(text: str, hasher: IdentityHasher) -> str:
    """The keyed hash of an address as a listener is identified: brackets, zone and port dropped."""
    return hasher.hash_ip(strip_port(text))


def strip_port(text: str) -> str:
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1 and "." in text:
        text = text.split(":", 1)[0]  # 203.0.113.5:443
    return text.split("%", 1)[0]


def hash_leaf(value: Any, kind: str, hasher: IdentityHasher) -> Any:
    """One value under a personal field: strings and numbers become ``hmac:<hash>``."""
    if value is None or isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else repr(value)
    if kind == "ip":
        return f"hmac:{hash_address(text, hasher)}"
    return f"hmac:{hasher.hash(text, kind=kind)}"


def scrub_document(doc: Any, hasher: IdentityHasher) -> Any:
    """A copy of a parsed JSON document with both rules applied at every depth.

    Iterative, so its depth is bounded only by what the JSON parser accepted.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, str | None]] = [(doc, root, 0, None)]
    while stack:
        value, parent, slot, kind = stack.pop()
        if isinstance(value, dict):
            out: Any = {}
            parent[slot] = out
            for key, item in value.items():
                item_kind = kind or personal_kind(key)
                new_key = scrub_text(key, hasher) if looks_personal(key) else key
                while new_key in out:  # two keys that hash alike must not overwrite each other
                    new_key += "_"
                out[new_key] = None
                stack.append((item, out, new_key, item_kind))
        elif isinstance(value, list):
            out = [None] * len(value)
            parent[slot] = out
            for index, item in enumerate(value):
                stack.append((item, out, index, kind))
        elif kind is not None:
            parent[slot] = hash_leaf(value, kind, hasher)
        elif isinstance(value, str) and looks_personal(value):
            parent[slot] = scrub_text(value, hasher)
        else:
            parent[slot] = value
    return root[0]
