"""Take secrets out of text before it is logged, stored in a status or raised.

Two layers, because either alone leaks: URLs are rewritten structurally (userinfo and the
values of secret-looking query parameters), and known secret values from the settings are
replaced wherever they appear (a password echoed back inside a server's error page).
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = re.compile(r"(token|auth|key|secret|pass|pwd|sig|signature|code|credential|session)", re.IGNORECASE)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_KV_SECRET = re.compile(
    r"(?i)\b([\w.-]*(?:token|password|passwd|secret|api[_-]?key|sharedaccesskey|accountkey)[\w.-]*)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&;,]+)"
)
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


_SECRET_NAME = re.compile(r"(TOKEN|KEY|PASSWORD|SECRET|CONNECTION|CREDENTIAL|SERVERS|PRIVATE|_SAS)", re.IGNORECASE)
_USERINFO = re.compile(r"://([^/@\s]*)@")


def secret_name(name: str) -> bool:
    """Whether a setting's value is (or may hold) a secret: never shown, even in an error."""
    return bool(_SECRET_NAME.search(name)) and not name.endswith(("_SECONDS", "_CONTAINER", "_NAME"))


def settings_secrets(env: Mapping[str, str]) -> list[str]:
    """Every secret value a set of settings holds: whole values of secret-named settings, the
    keys inside connection strings, URL passwords (also behind a mistyped scheme) and the
    passwords and private keys inside JSON settings."""
    out: list[str] = []
    for name, value in env.items():
        if not isinstance(value, str) or not value:
            continue
        for userinfo in _USERINFO.findall(value):
            out.append(userinfo.partition(":")[2] or userinfo)
        if not secret_name(name):
            continue
        out.append(value)
        out += connection_string_secrets(value)
        if value.lstrip()[:1] in "[{":
            try:
                out += _json_secrets(json.loads(value))
            except (ValueError, RecursionError):
                pass
    return [s for s in out if len(s) >= 4]


def _json_secrets(doc: object) -> list[str]:
    found, stack = [], [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, str) and SECRET_PARAMS.search(str(key)) or str(key) == "private_key":
                    found.append(str(value))
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return found
