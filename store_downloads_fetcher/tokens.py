"""Signed credentials for the two stores, made with PyJWT (imported here, on first use only).

* App Store Connect: an ES256 JWT made by us, valid 19 minutes (Apple refuses more than 20,
  and clocks drift), reused until a minute before it expires.
* Google: an RS256 JWT assertion exchanged at the token endpoint (JWT bearer grant) for an
  access token with the ``devstorage.read_only`` scope, cached until a minute before expiry.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from shared.clients.http import request
from shared.core.errors import BadInputError, ConfigError

APPLE_LIFETIME = 19 * 60
GOOGLE_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
MARGIN = 60


@dataclass
class _Cached:
    value: str
    expires: float


class _CachedToken:
    """Calling it gives a valid token, made anew only within MARGIN of the last one's expiry."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._cached: _Cached | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        now = self.clock()
        with self._lock:
            if self._cached is None or now > self._cached.expires - MARGIN:
                self._cached = self._new(now)
            return self._cached.value

    def _new(self, now: float) -> _Cached:
        raise NotImplementedError


class AppleToken(_CachedToken):
    def __init__(self, *, issuer_id: str, key_id: str, private_key: str, clock: Callable[[], float] = time.time):
        super().__init__(clock)
        self.issuer_id, self.key_id, self._key = issuer_id, key_id, private_key

    def _new(self, now: float) -> _Cached:
        return _Cached(self._mint(now), now + APPLE_LIFETIME)

    def _mint(self, now: float) -> str:
        import jwt

        payload = {
            "iss": self.issuer_id,
            "iat": int(now),
            "exp": int(now) + APPLE_LIFETIME,
            "aud": "appstoreconnect-v1",
        }
        try:
            return jwt.encode(payload, self._key, algorithm="ES256", headers={"kid": self.key_id, "typ": "JWT"})
        except (ValueError, TypeError, jwt.PyJWTError):
            raise ConfigError(
                {"APPLE_PRIVATE_KEY": "cannot sign with it (is it the P-256 .p8 key of APPLE_KEY_ID?)"}
            ) from None


class GoogleToken(_CachedToken):
    def __init__(
        self,
        *,
        client_email: str,
        private_key: str,
        private_key_id: str | None,
        token_url: str,
        session: Any,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(clock)
        self.client_email, self._key, self.key_id = client_email, private_key, private_key_id
        self.token_url, self.session = token_url, session

    def _new(self, now: float) -> _Cached:
        import jwt

        claims = {
            "iss": self.client_email,
            "scope": GOOGLE_SCOPE,
            "aud": self.token_url,
            "iat": int(now) - 30,
            "exp": int(now) + 3300,
        }
        headers = {"kid": self.key_id} if self.key_id else None
        try:
            assertion = jwt.encode(claims, self._key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError):
            raise ConfigError({"GOOGLE_SERVICE_ACCOUNT_JSON": "cannot sign with its private_key"}) from None
        try:
            response = request(
                self.session,
                "POST",
                self.token_url,
                what="google oauth token",
                auth_setting="GOOGLE_SERVICE_ACCOUNT_JSON",
                data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
            )
        except BadInputError as exc:  # 400 invalid_grant: a revoked key, another project's key, a skewed clock
            raise ConfigError({"GOOGLE_SERVICE_ACCOUNT_JSON": f"the token endpoint refused the key ({exc})"}) from None
        try:
            doc = response.json()
            token, lifetime = str(doc["access_token"]), int(doc.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise BadInputError("google oauth token: the answer has no access_token") from None
        return _Cached(token, now + lifetime)
