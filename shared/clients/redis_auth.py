"""Microsoft Entra ID for Azure Managed Redis (and Azure Cache for Redis): a token instead of a key.

The identity asks for a token for ``https://redis.azure.com/.default``; Redis takes it as the
password of the user named by the token's ``oid`` claim (the identity's object id). Tokens
last about an hour and Redis ends a session whose token expired, so:

* every new connection authenticates with the current token (redis-py calls
  ``get_credentials`` on connect), and
* ``refresh_due`` tells the caller (``shared.clients.redis_client.get_redis``, once per invocation) to
  get a new token five minutes before expiry and to drop the *idle* pooled connections, which
  then reconnect with it. Connections another thread is using are left alone (closing them
  failed its command); if Redis ends one when its old token expires, the client's retry
  reconnects it with the new token.
* a failed refresh is not an error while the current token is valid: it is kept, and the
  refresh is tried again with back-off (5 s, doubling, at most 60 s). Only when the token has
  expired and no new one comes is there an error: one line, as RetriableError.

Why not the ``redis-entraid`` package: it re-authenticates connections in a background
thread, a second moving part in a worker that already runs each invocation to completion,
and it pins ``redis`` to a narrower range than the app supports. ``azure-identity`` does the
token work (managed identity, service principal); this is the remaining forty lines.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any, Callable

from shared.core.errors import ConfigError, RetriableError

SCOPE = "https://redis.azure.com/.default"
REFRESH_BEFORE_S = 300


def object_id(token: str) -> str:
    """The ``oid`` claim of a JWT (not verified here: Redis verifies the token)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        oid = claims["oid"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise ConfigError(
            {"REDIS_CREDENTIAL": "the identity's token has no oid claim (is it an Entra ID token?)"}
        ) from None
    return str(oid)


def entra_provider(credential: Any, *, clock: Callable[[], float] = time.time) -> Any:
    """A ``redis.CredentialProvider`` giving ``(object id, token)``."""
    import logging

    from redis.credentials import CredentialProvider

    log = logging.getLogger("fabrik.redis")

    class EntraTokenProvider(CredentialProvider):
        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._token: Any = None
            self._failures = 0
            self._next_try = 0.0
            self.generation = 0  # bumped with every new token: the pool knows when to reconnect

        def get_credentials(self) -> tuple[str, str]:
            token = self._current()
            return object_id(token.token), token.token

        def refresh_due(self) -> bool:
            return self._token is not None and self._token.expires_on - clock() < REFRESH_BEFORE_S

        def refresh(self) -> bool:
            """Get a new token if one is due; True when the token changed."""
            before = self.generation
            self._current()
            return self.generation != before

        def _current(self) -> Any:
            with self._lock:
                now = clock()
                token = self._token
                if token is not None and token.expires_on - now >= REFRESH_BEFORE_S:
                    return token
                valid = token is not None and token.expires_on - now > 5
                if valid and now < self._next_try:
                    return token  # backing off after a failed refresh: the current token still works
                try:
                    fresh = credential.get_token(SCOPE)
                except Exception as exc:  # azure-identity's errors, a hung or failing identity endpoint
                    why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                    if not valid:
                        raise RetriableError(
                            f"redis: no Entra ID token (the identity endpoint failed: {why})"
                        ) from None
                    self._failures += 1
                    self._next_try = now + min(60.0, 5.0 * 2 ** (self._failures - 1))
                    log.warning(
                        "redis: could not refresh the Entra ID token (%s); the current one is valid "
                        "for %d s more, next try in %d s",
                        why,
                        token.expires_on - now,
                        self._next_try - now,
                    )
                    return token
                self._token, self._failures, self._next_try = fresh, 0, 0.0
                self.generation += 1
                return fresh

    return EntraTokenProvider()
