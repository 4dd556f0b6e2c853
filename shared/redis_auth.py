"""Microsoft Entra ID for Azure Managed Redis (and Azure Cache for Redis): a token instead of a key.

The identity asks for a token for ``https://redis.azure.com/.default``; Redis takes it as the
password of the user named by the token's ``oid`` claim (the identity's object id). Tokens
last about an hour and Redis ends a session whose token expired, so:

* every new connection authenticates with the current token (redis-py calls
  ``get_credentials`` on connect), and
* ``refresh_due`` tells the caller (``shared.redis_client.get_redis``, once per invocation) to
  get a new token five minutes before expiry and to drop the pooled connections, which then
  reconnect with it: long-lived connections are re-authenticated before the old token expires.

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

from shared.errors import ConfigError

SCOPE = "https://redis.azure.com/.default"
REFRESH_BEFORE_S = 300


def object_id(token: str) -> str:
    """The ``oid`` claim of a JWT (not verified here: Redis verifies the token)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        oid = claims["oid"]
    except (IndexError, ValueError, KeyError, TypeError):
        raise ConfigError({"REDIS_CREDENTIAL": "the identity's token has no oid claim (is it an Entra ID token?)"}) \
            from None
    return str(oid)


def entra_provider(credential: Any, *, clock: Callable[[], float] = time.time) -> Any:
    """A ``redis.CredentialProvider`` giving ``(object id, token)``."""
    from redis.credentials import CredentialProvider

    class EntraTokenProvider(CredentialProvider):
        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._token: Any = None
            self.generation = 0  # bumped with every new token: the pool knows when to reconnect

        def get_credentials(self) -> tuple[str, str]:
            token = self._current()
            return object_id(token.token), token.token

        def refresh_due(self) -> bool:
            return self._token is not None and self._token.expires_on - clock() < REFRESH_BEFORE_S

        def _current(self) -> Any:
            with self._lock:
                if self._token is None or self._token.expires_on - clock() < REFRESH_BEFORE_S:
                    self._token = credential.get_token(SCOPE)
                    self.generation += 1
                return self._token

        def refresh(self) -> None:
            self._current()

    return EntraTokenProvider()
