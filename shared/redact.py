"""Take secrets out of text before it is logged, stored in a status or raised.

Two layers, because either alone leaks: URLs are rewritten structurally (userinfo and the
values of secret-looking query parameters), and known secret values from the settings are
replaced wherever they appear (a password echoed back inside a server's error page).
"""
from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = re.compile(r"(token|auth|key|secret|pass|pwd|sig|signature|code|credential|session)",
                           re.IGNORECASE)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_KV_SECRET = re.compile(
    r"(?i)\b([\w.-]*(?:token|password|passwd|secret|api[_-]?key|sharedaccesskey|accountkey)[\w.-]*)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&;,]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
MASK = "***"


def redact_url(url: str) -> str:
    """The URL without credentials and with secret query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="/:*[]")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URLs redacted, ``key=value`` secrets masked and every known secret removed."""
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _KV_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def connection_string_secrets(connection: str) -> list[str]:
    """The key parts of an Azure connection string (AccountKey, SharedAccessKey, ...)."""
    out = []
    for part in connection.split(";"):
        name, _, value = part.partition("=")
        if value and SECRET_PARAMS.search(name):
            out.append(value)
    return out
