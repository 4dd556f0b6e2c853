"""Connections the way the Functions host makes them: a connection string, or an identity.

For a connection named ``NAME`` (``AzureWebJobsStorage``, ``DEADLETTER_STORAGE_CONNECTION``,
``EVENTHUB_CONNECTION`` …) the host reads either ``NAME`` itself (a connection string) or the
identity-based form: ``NAME__blobServiceUri`` / ``NAME__serviceUri`` / ``NAME__accountName``
for Blob Storage, ``NAME__fullyQualifiedNamespace`` for Event Hubs, each with an optional
``NAME__credential=managedidentity`` and ``NAME__clientId`` (a user-assigned identity). This
module reads the same settings for the clients the app builds itself, so one set of app
settings serves the host and the app. ``azure-identity`` is imported on first use only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping

from shared.core.errors import ConfigError

_credentials: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class BlobTarget:
    """Where a Blob client points: a connection string, or an account URL and a credential."""

    setting: str
    connection_string: str | None = None
    account_url: str | None = None
    credential_kind: str = ""
    client_id: str = ""

    @property
    def cache_key(self) -> str:
        return self.connection_string or f"{self.account_url}|{self.credential_kind}|{self.client_id}"


def blob_target(env: Mapping[str, str], name: str) -> BlobTarget | None:
    """The Blob settings under ``name``, or None when neither form is set."""
    connection = (env.get(name) or "").strip()
    if connection:
        return BlobTarget(setting=name, connection_string=connection)
    url = (env.get(f"{name}__blobServiceUri") or env.get(f"{name}__serviceUri") or "").strip()
    account = (env.get(f"{name}__accountName") or "").strip()
    if not url and account:
        url = f"https://{account}.blob.core.windows.net"
    if not url:
        return None
    if not url.startswith("https://"):
        raise ConfigError({f"{name}__blobServiceUri": "must be an https:// URL (tokens are never sent in clear)"})
    return BlobTarget(
        setting=name,
        account_url=url.rstrip("/"),
        credential_kind=env.get(f"{name}__credential", ""),
        client_id=env.get(f"{name}__clientId", ""),
    )


def eventhub_namespace(env: Mapping[str, str], name: str) -> tuple[str, Any] | None:
    """``(fully qualified namespace, credential)`` for ``NAME__fullyQualifiedNamespace``, or None."""
    namespace = (env.get(f"{name}__fullyQualifiedNamespace") or "").strip()
    if not namespace:
        return None
    return namespace, credential(env.get(f"{name}__credential", ""), env.get(f"{name}__clientId", ""))


def credential(kind: str, client_id: str = "") -> Any:
    """A cached token credential: the managed identity for ``managedidentity`` (a user-assigned
    one with ``client_id``); otherwise DefaultAzureCredential (environment variables of a
    service principal, workload identity, managed identity, a developer's az login)."""
    key = (kind.lower(), client_id)
    found = _credentials.get(key)
    if found is None:
        with _lock:
            found = _credentials.get(key)
            if found is None:
                found = _credentials[key] = _make_credential(kind.lower(), client_id)
    return found


def _make_credential(kind: str, client_id: str) -> Any:
    if kind not in ("", "managedidentity"):
        raise ConfigError({"__credential": f"{kind!r} is not supported; use managedidentity or leave it unset"})
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if kind == "managedidentity":
        return ManagedIdentityCredential(client_id=client_id or None)
    return DefaultAzureCredential(
        managed_identity_client_id=client_id or None, exclude_interactive_browser_credential=True
    )


def forget_credentials() -> None:
    """Drop cached credentials (the CLI between commands, tests between identity endpoints)."""
    with _lock:
        _credentials.clear()
