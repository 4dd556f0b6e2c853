"""Viewer links for one tenant: signed, expiring tokens (docs/live-api.md, "Viewer links").

Why not function keys: a Functions key carries no tenant, so the key that opens one station's
page opened every station's. A viewer token names one tenant and expires; the app checks it on
every data call, and answers the same for a foreign tenant whether or not that tenant exists.

HS256 JWTs (pyjwt) signed with the first of ``VIEW_SIGNING_KEYS`` (comma-separated base64
keys of at least 32 bytes) and verified with any of them, found by the ``kid`` header (a short
one-way name of the key): add a new key first, sign with it, drop the old one when its links
have expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from dataclasses import dataclass
from typing import Mapping

from shared.core.errors import RequestError

AUDIENCE = "fabrik-live-view"
ISSUER = "fabrik-live-collectors"
MAX_DAYS = 366


class TokenRefused(RequestError):
    """The token cannot be used: ``status`` 401 (not ours, altered, expired) or 403 (another tenant)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason, status=status)


@dataclass(frozen=True)
class ViewKeys:
    signing: bytes
    by_kid: Mapping[str, bytes]

    def __repr__(self) -> str:
        return f"ViewKeys(<{len(self.by_kid)} keys redacted>)"


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"fabrik-view-key\x00" + key).hexdigest()[:12]


def parse_keys(raw: str) -> ViewKeys:
    """``VIEW_SIGNING_KEYS``: raises ValueError naming what is wrong, never echoing a key."""
    keys = []
    for position, text in enumerate((p.strip() for p in raw.split(",")), 1):
        if not text:
            continue
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {position} is not base64 (make one with: openssl rand -base64 32)") from None
        if len(key) < 32:
            raise ValueError(f"key {position} is {len(key)} bytes; at least 32 (openssl rand -base64 32)")
        keys.append(key)
    if not keys:
        raise ValueError("no key (make one with: openssl rand -base64 32)")
    return ViewKeys(signing=keys[0], by_kid={key_id(k): k for k in keys})


def issue(keys: ViewKeys, tenant: str, *, days: float, now: float | None = None) -> str:
    import jwt

    if not 0 < days <= MAX_DAYS:
        raise ValueError(f"days: from more than 0 to {MAX_DAYS}")
    import secrets

    issued = int(time.time() if now is None else now)
    claims = {
        "sub": tenant,
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": issued,
        "exp": issued + int(days * 86400),
        "jti": secrets.token_hex(6),  # the link's id: `share --end` ends this one alone
    }
    return jwt.encode(claims, keys.signing, algorithm="HS256", headers={"kid": key_id(keys.signing)})


def link_id(token: str) -> str:
    """The link id (``jti``) of a token this app issued, unverified: for printing only."""
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False}).get("jti", ""))


def check_not_ended(claims: Mapping[str, object], ended: Mapping[str, str]) -> None:
    """TokenRefused(401) when the link was ended: alone (its ``jti``) or with every link of its
    tenant issued until a time (``*``). ``ended`` is the tenant's hash (docs/live-api.md)."""
    jti = str(claims.get("jti", ""))
    if jti and jti in ended:
        raise TokenRefused(401, "this link was ended: ask for a new one")
    until = ended.get("*")
    if until is not None and int(str(claims["iat"])) <= int(until):
        raise TokenRefused(401, "this link was ended: ask for a new one")


def verify(keys: ViewKeys, token: str, tenant: str, *, now: float | None = None) -> dict:
    """The token's claims when it opens ``tenant``; TokenRefused otherwise. A token living
    longer than ``MAX_DAYS`` is refused even when correctly signed."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRefused(401, "the link's token is not valid") from None
    key = keys.by_kid.get(str(header.get("kid", "")))
    if key is None or header.get("alg") != "HS256":
        raise TokenRefused(401, "the link's token is not valid (signed with a key this app does not have)")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"], "verify_exp": now is None},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused(401, "the link has expired: ask for a new one") from None
    except jwt.PyJWTError:
        raise TokenRefused(401, "the link's token is not valid") from None
    if now is not None and claims["exp"] <= now:
        raise TokenRefused(401, "the link has expired: ask for a new one")
    if claims["exp"] - claims["iat"] > MAX_DAYS * 86400:
        raise TokenRefused(401, "the link's token is not valid (it would live longer than a link may)")
    if claims.get("sub") != tenant:
        raise TokenRefused(403, "this link is for another page")
    return claims


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any case), or None."""
    for name, value in headers.items():
        if name.lower() == "authorization":
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
