"""Azure Blob Storage, imported lazily (the SDK is a large share of a cold start).

One ``ContainerClient`` per (connection, container) is cached for the worker's life. A
connection is a connection string or an identity-based target (``shared.clients.azure_auth``).
Failures become StorageError (retriable) naming the endpoint and the cause, with no connection string or key.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from shared.clients.azure_auth import BlobTarget, credential
from shared.core.errors import ConfigError, StorageError

if TYPE_CHECKING:
    from shared.clients.azure_auth import BlobTarget

_containers: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def get_container(connection: "BlobTarget | str", container: str, *, setting: str = "AzureWebJobsStorage") -> Any:

    target = (
        connection if isinstance(connection, BlobTarget) else BlobTarget(setting=setting, connection_string=connection)
    )
    key = (target.cache_key, container)
    client = _containers.get(key)
    if client is None:
        with _lock:
            client = _containers.get(key)
            if client is None:
                client = _containers[key] = _connect(target, container)
    return client


def _connect(target: "BlobTarget", container: str) -> Any:
    from azure.storage.blob import ExponentialRetry

    # The SDK's default retry waits 15 s, then 45 s: longer than a caller should be blocked.
    # Two quick retries here, after about 2 s and 2.75 s (the storage SDK waits initial + base^n,
    # n from 1, ± the jitter); the Functions retry policy or the next run does the rest.
    retry = ExponentialRetry(initial_backoff=0.5, increment_base=1.5, retry_total=2, random_jitter_range=0.5)
    client = container_client(target, container, connection_timeout=5, read_timeout=20, retry_policy=retry)
    _ensure_container(client, container)
    return client


def container_client(target: "BlobTarget", container: str, **options: Any) -> Any:
    """A container client for a connection string or an identity; ``options`` go to the SDK client."""
    from azure.storage.blob import BlobServiceClient

    try:
        if target.connection_string is not None:
            service = BlobServiceClient.from_connection_string(target.connection_string, **options)
        else:
            service = BlobServiceClient(
                target.account_url, credential=credential(target.credential_kind, target.client_id), **options
            )
    except ValueError:
        raise ConfigError({target.setting: "not a valid storage connection string"}) from None
    return service.get_container_client(container)


def describe(exc: BaseException, client: Any, what: str) -> str:
    """One line naming the operation, the endpoint and the cause: refused, DNS, TLS, a timeout,
    or the HTTP status with Azure's error code. Never the URL's query (a SAS) or a key."""
    from urllib.parse import urlsplit

    from azure.core.exceptions import HttpResponseError

    parts = urlsplit(getattr(client, "url", "") or "")
    endpoint = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}" if parts.hostname else "?"
    if isinstance(exc, HttpResponseError) and exc.status_code:
        code = getattr(exc, "error_code", None) or ""
        return f"{what} at {endpoint}: HTTP {exc.status_code} {code}".rstrip()
    return f"{what} at {endpoint}: {_cause(exc, parts.hostname)}"


def _cause(exc: BaseException, hostname: str | None) -> str:
    """What went wrong below HTTP, from the transport's words (the SDK has no finer types)."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    text = str(exc)
    low = text.lower()
    if "refused" in low:
        return "connection refused"
    if any(words in low for words in ("name or service not known", "name resolution", "nodename nor servname")):
        return f"DNS: {hostname} not found"
    if "certificate" in low or "ssl" in low:
        return "TLS: " + ("certificate not trusted" if "verify" in low else "handshake failed")
    if "timed out" in low or "timeout" in low:
        return "no answer in time"
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return f"{type(exc).__name__}: {text.splitlines()[0][:120] if text else 'no detail'}"
    return type(exc).__name__


def _ensure_container(client: Any, container: str) -> None:
    from azure.core.exceptions import AzureError, ResourceExistsError

    try:
        client.create_container()
    except ResourceExistsError:
        pass
    except AzureError as exc:
        raise StorageError(describe(exc, client, f"blob container {container}")) from None


def upload(client: Any, name: str, data: Any, *, content_type: str, overwrite: bool = True, **conditions: Any) -> bool:
    """Upload bytes or a binary file object. With ``overwrite=False`` an existing blob is kept
    and False returned (content-addressed names make that "already stored")."""
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import ContentSettings

    try:
        client.upload_blob(
            name, data, overwrite=overwrite, content_settings=ContentSettings(content_type=content_type), **conditions
        )
    except ResourceExistsError:
        if overwrite or conditions:
            raise StorageError(f"blob {client.container_name}/{name}: changed by someone else meanwhile") from None
        return False
    except AzureError as exc:
        if type(exc).__name__ == "ResourceModifiedError":
            raise StorageError(f"blob {client.container_name}/{name}: changed by someone else meanwhile") from None
        raise StorageError(describe(exc, client, f"blob {client.container_name}/{name} (write)")) from None
    return True


def download(client: Any, name: str) -> tuple[bytes, str] | None:
    """A blob's bytes and ETag, or None if there is no such blob."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        stream = client.download_blob(name)
        return stream.readall(), stream.properties.etag
    except ResourceNotFoundError:
        return None
    except AzureError as exc:
        raise StorageError(describe(exc, client, f"blob {client.container_name}/{name} (read)")) from None


def reach_container(connection: "BlobTarget | str", container: str) -> str:
    """``doctor``'s probe: one request, 3 s, no SDK retries, so a storage that is down is said
    at once. Creates the container when it is missing (as a deploy would)."""
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import LinearRetry

    target = (
        connection
        if isinstance(connection, BlobTarget)
        else BlobTarget(setting="storage", connection_string=connection)
    )
    client = container_client(
        target, container, connection_timeout=3, read_timeout=3, retry_policy=LinearRetry(retry_total=0)
    )
    try:
        client.create_container()
        return "reachable, container created"
    except ResourceExistsError:
        return "reachable, container exists"
    except AzureError as exc:
        raise StorageError(describe(exc, client, f"blob container {container}")) from None
