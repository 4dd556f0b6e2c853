"""App settings (environment variables) read and validated in one pass.

Why a reader that collects problems instead of raising on the first one: a deploy with three
wrong settings should fail once, naming all three, not three times. Secrets are marked so
that no message ever echoes their value; non-secret values are quoted, shortened.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar
from urllib.parse import parse_qsl, urlsplit

from shared.clients.azure_auth import blob_target
from shared.core.errors import ConfigError
from shared.core.tenants import parse_tenants
from shared.privacy.identity import IdentityHasher
from shared.privacy.redact import connection_string_secrets, redact_text, secret_name
from shared.runtime.logs import register_secrets

if TYPE_CHECKING:
    from shared.core.tenants import Tenants
    from shared.privacy.identity import IdentityHasher

T = TypeVar("T")
_REQUIRED = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsReader:
    """Reads settings from ``env``, collecting every problem; ``check()`` raises them together."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.problems: dict[str, str] = {}

    def get(self, name: str, parse: Callable[[str], T] = str, *, default: Any = _REQUIRED, secret: bool = False) -> T:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            if default is _REQUIRED:
                self.problems[name] = "missing (required)"
                return None  # type: ignore[return-value]
            return default
        try:
            return parse(raw.strip())
        except (ValueError, TypeError) as exc:
            shown = "" if secret or secret_name(name) else f" (got {_shorten(redact_text(raw))})"
            self.problems[name] = f"{exc}{shown}"
            return None  # type: ignore[return-value]
        except RecursionError:  # JSON nested thousands deep
            self.problems[name] = "nested too deep to be a setting"
            return None  # type: ignore[return-value]

    def fail(self, name: str, why: str) -> None:
        self.problems.setdefault(name, why)

    def check(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


def _shorten(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def parse_bool(raw: str) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("expected true or false")


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("expected a whole number") from None
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def http_url(raw: str) -> str:
    """An http(s) base URL without a trailing slash. Never echoes the value (it may hold creds)."""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    return raw.rstrip("/")


def redis_url(raw: str) -> str:
    """Checked as the client will read it, so a typo is a settings error, not a traceback later."""
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    problem = _tls_problem(raw, parse_qsl(parts.query, keep_blank_values=True))
    if problem:
        raise ValueError(problem)
    if parts.scheme != "unix":
        if not parts.hostname:
            raise ValueError("the URL has no host")
        if port == 0:
            raise ValueError("the port must be a number from 1 to 65535")
        db = parts.path.strip("/")
        if db and not (db.isascii() and db.isdigit()):
            raise ValueError("the path must be a database number like /0")
    return raw


def _tls_problem(raw: str, pairs: list[tuple[str, str]]) -> str | None:
    """Why the URL would weaken TLS, judged as redis-py reads it (its own parser: the first of
    a repeated parameter, ``f``/``n``/``0``/``no`` as false), not as this module would."""
    names = [name for name, _ in pairs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return f"the parameter {repeated[0]!r} appears more than once: which one a client uses differs"
    from redis.connection import parse_url

    try:
        options = parse_url(raw)
    except ValueError as exc:
        return str(exc)
    weakened = [
        name
        for name, value in options.items()
        if name.lower().startswith("ssl_")
        and not (name == "ssl_cert_reqs" and value == "required")
        and not (name == "ssl_check_hostname" and value is not False)
    ]
    if weakened:
        return (
            f"TLS options cannot be set in the URL ({sorted(weakened)[0]}): certificate checks stay on; "
            "for a private CA set REDIS_CA_FILE"
        )
    return None


def storage_connection_problem(raw: str) -> str | None:
    """Why ``raw`` cannot be a Blob Storage connection string (never echoing it: it holds a key)."""
    if raw.strip().lower() == "usedevelopmentstorage=true":
        return None
    pairs = dict(part.split("=", 1) for part in raw.split(";") if "=" in part)
    if not pairs or not ({"AccountName", "BlobEndpoint"} & set(pairs)):
        return "not a storage connection string (want AccountName=…;AccountKey=… or BlobEndpoint=…)"
    return None


def key_prefix(raw: str) -> str:
    if any(c in raw for c in "{}: \t\n"):
        raise ValueError("must not contain braces, colons or spaces")
    return raw


def hash_key(raw: str) -> bytes:
    data = raw.encode("utf-8")
    if len(data) < 16:
        raise ValueError("must be at least 16 characters (use 32+ random bytes)")
    return data


@dataclass(frozen=True)
class StoreSettings:
    """Where live data goes: the settings every Redis-writing function and the CLI share."""

    redis_url: str
    redis_cluster: bool = False
    window_seconds: int = 7200
    key_prefix: str = "fabrik"
    hls_host_stale_seconds: int = 30  # an HAProxy host silent longer than this drops out of the sum
    redis_credential: str = ""  # "managedidentity" or "default": Microsoft Entra ID instead of a key
    redis_client_id: str = ""  # a user-assigned identity's client id
    redis_ca_file: str = ""  # a private CA for rediss:// (Azure's certificates verify without one)

    def __repr__(self) -> str:  # the URL may carry the access key
        return (
            f"StoreSettings(redis_url=<redacted>, redis_cluster={self.redis_cluster}, "
            f"window_seconds={self.window_seconds}, key_prefix={self.key_prefix!r}, "
            f"hls_host_stale_seconds={self.hls_host_stale_seconds})"
        )


def read_store(reader: SettingsReader) -> StoreSettings:
    """The store settings with the rules that tie them together, for every loader that reads
    them (each function's and the CLI's): an identity's token never travels in clear."""
    settings = StoreSettings(
        redis_url=reader.get("REDIS_URL", redis_url, secret=True),
        redis_cluster=reader.get("REDIS_CLUSTER", parse_bool, default=False),
        window_seconds=reader.get("LIVE_WINDOW_SECONDS", positive_int, default=7200),
        key_prefix=reader.get("REDIS_KEY_PREFIX", key_prefix, default="fabrik"),
        hls_host_stale_seconds=reader.get("HLS_HOST_STALE_SECONDS", positive_int, default=30),
        redis_credential=reader.get("REDIS_CREDENTIAL", _credential_kind, default=""),
        redis_client_id=reader.get("REDIS_CLIENT_ID", str, default=""),
        redis_ca_file=reader.get("REDIS_CA_FILE", _readable_file, default=""),
    )
    if settings.redis_credential and settings.redis_url and urlsplit(settings.redis_url).password:
        reader.fail("REDIS_URL", "carries a password: with REDIS_CREDENTIAL the identity's token is the password")
    if settings.redis_credential and settings.redis_url and not settings.redis_url.startswith("rediss://"):
        reader.fail(
            "REDIS_CREDENTIAL",
            "needs a rediss:// REDIS_URL: the identity's token is the password and would travel in clear",
        )
    if settings.redis_ca_file and settings.redis_url and not settings.redis_url.startswith("rediss://"):
        reader.fail("REDIS_CA_FILE", "needs a rediss:// REDIS_URL (TLS)")
    return settings


def load_store_settings(env: Mapping[str, str] | None = None) -> StoreSettings:
    reader = SettingsReader(os.environ if env is None else env)
    settings = read_store(reader)
    reader.check()
    return settings


def _credential_kind(raw: str) -> str:
    if raw.lower() not in ("managedidentity", "default"):
        raise ValueError(
            "managedidentity (the app's identity) or default (azure-identity's chain: a service "
            "principal's AZURE_* variables, az login)"
        )
    return raw.lower()


def _readable_file(raw: str) -> str:
    if not Path(raw).is_file():
        raise ValueError("no such file")
    return raw


def cached_loader(loader: Callable[[Mapping[str, str]], T]) -> Callable[[Mapping[str, str] | None], T]:
    """Wrap ``loader`` so the same environment is parsed and validated once per process.

    Keyed on the environment's contents, so a changed setting (tests, the CLI's ``--settings``)
    is picked up while warm invocations of the host skip the work.
    """

    @functools.lru_cache(maxsize=8)
    def _load(items: tuple[tuple[str, str], ...]) -> T:
        return loader(dict(items))

    def load(env: Mapping[str, str] | None = None) -> T:
        env = os.environ if env is None else env
        return _load(tuple(sorted(env.items())))

    return load


def read_storage(
    reader: SettingsReader, name: str, *, fallback: str | None = "AzureWebJobsStorage", required: bool = True
) -> Any:
    """The Blob Storage connection ``name``, falling back to ``AzureWebJobsStorage`` as the host
    does (an edge has no such fallback): a connection string, or the identity-based
    ``name__blobServiceUri``/``__serviceUri``/``__accountName`` (+ ``__credential``,
    ``__clientId``). A ``shared.clients.azure_auth.BlobTarget``, or None when not ``required``."""

    env = reader.env
    try:
        target = blob_target(env, name) or (blob_target(env, fallback) if fallback else None)
    except ConfigError as exc:
        for key, why in exc.problems.items():
            reader.fail(key, why)
        return None
    if target is None:
        if not required:
            return None
        reader.fail(
            name,
            "missing (and AzureWebJobsStorage is not set either, in neither form: a connection "
            "string or __blobServiceUri/__accountName)",
        )
        return None
    if target.connection_string is not None:
        problem = storage_connection_problem(target.connection_string)
        if problem:
            reader.fail(target.setting, problem)
            return None
        register_secrets([target.connection_string, *connection_string_secrets(target.connection_string)])
    return target


def read_tenants(reader: SettingsReader) -> "Tenants":

    return reader.get("TENANTS", lambda raw: parse_tenants(raw, base_dir=Path.cwd()))


def read_identity(reader: SettingsReader) -> "IdentityHasher | None":

    key = reader.get("IDENTITY_HASH_KEY", hash_key, secret=True)
    return None if key is None else IdentityHasher(key)
