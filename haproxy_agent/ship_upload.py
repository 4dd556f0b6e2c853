"""Blob Storage for ship-logs: a container client that never creates the container, uploads that
happen once, and ``--check``.

Why no ``create_container()`` at run time: it needs a right the edge should not have. The
container is created once at deploy (docs/deploy.md); the edge then needs only *create* and
*write* on it, which a container SAS or a role limited to that container gives.
"""

from __future__ import annotations

from typing import IO, Any

from haproxy_agent.ship_config import ShipConfig
from shared.clients.azure_auth import credential
from shared.clients.blob import describe as base
from shared.core.errors import StorageError

BLOCK = 4 * 1024 * 1024
CHECK_BLOB = "_checks/{host}.txt"  # "_" first: Spark's file index and the documented globs skip it


class UploadFailed(StorageError):
    """Storage refused or could not be reached; the message names the container and the cause."""


def open_container(config: ShipConfig, *, salts: bool = False) -> Any:
    """The logs container, or with ``salts`` the daily salts' (through ``LOGS_SALT_CONNECTION``
    when it is set)."""
    from azure.storage.blob import BlobServiceClient, ExponentialRetry

    target = (config.salt_connection or config.connection) if salts else config.connection
    # One retry: an outage should cost a run seconds, not minutes per file (the next run retries).
    options = dict(
        connection_timeout=10,
        read_timeout=60,
        max_block_size=BLOCK,
        max_single_put_size=BLOCK,
        retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=1),
    )
    if target.connection_string is not None:
        service = BlobServiceClient.from_connection_string(target.connection_string, **options)
    else:
        service = BlobServiceClient(
            target.account_url, credential=credential(target.credential_kind, target.client_id), **options
        )
    return service.get_container_client(config.salt_container if salts else config.container)


def describe(exc: Exception, container: Any, what: str) -> str:
    """The shared one-line description (endpoint and cause), with what to do for the usual refusals."""

    code = str(getattr(exc, "error_code", "") or "")
    hint = {
        "ContainerNotFound": " (create the container at deploy: docs/deploy.md)",
        "AuthorizationPermissionMismatch": (
            " (the SAS or role needs create and write on the logs container; read, create, write, delete"
            " and list on the salts container)"
        ),
        "AuthenticationFailed": " (wrong key or SAS, or an expired SAS)",
    }.get(code, "")
    name = getattr(container, "container_name", "?")
    return base(exc, container, f"{what} in container {name}") + hint


def upload_once(container: Any, name: str, data: IO[bytes]) -> bool:
    """Upload ``name`` unless it exists; False when it was already there (shipped before)."""
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import ContentSettings

    try:
        container.upload_blob(
            name,
            data,
            overwrite=False,
            max_concurrency=2,
            content_settings=ContentSettings(content_type="application/gzip"),
        )
    except ResourceExistsError:
        return False
    except AzureError as exc:
        raise UploadFailed(describe(exc, container, f"upload of {name}")) from None
    return True


def check(config: ShipConfig) -> str:
    """Write a small probe blob with the same rights a run uses; returns its name, raises UploadFailed."""
    from azure.core.exceptions import AzureError

    container = open_container(config)
    name = CHECK_BLOB.format(host=config.host)
    try:
        container.upload_blob(
            name, f"ship-logs check from {config.host}, key {config.key_fingerprint}\n".encode(), overwrite=True
        )
    except AzureError as exc:
        raise UploadFailed(describe(exc, container, f"write of {name}")) from None
    return name
