"""Keys, stand-ins and emulators for the store downloads tests."""

import json
import uuid

import pytest

from devstack.azurite import connection_string
from devstack.process import free_port

BUCKET = "pubsite_prod_rev_01234567890987654321"
ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
KEY_ID = "2X9R4HXF34"
VENDOR = "85012345"


@pytest.fixture(scope="session")
def apple_key():
    from devstack.keys import apple_key

    pair = apple_key()
    return {"private": pair.private, "public": pair.public}


@pytest.fixture(scope="session")
def google_key():
    from devstack.keys import google_key

    pair = google_key()
    return {"private": pair.private, "public": pair.public}


@pytest.fixture(scope="session")
def gcs():
    from gcp_storage_emulator.server import create_server

    port = free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def put_object(gcs_url: str, name: str, data: bytes) -> None:
    from urllib.parse import quote

    import requests

    r = requests.post(
        f"{gcs_url}/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name={quote(name, safe='')}",
        data=data,
        headers={"Content-Type": "text/csv"},
        timeout=10,
    )
    r.raise_for_status()


@pytest.fixture
def downloads_env(azurite_server, key_prefix):
    return {
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DOWNLOADS_CONTAINER": f"dl-{key_prefix.lower()}-{uuid.uuid4().hex[:6]}",
    }


def apple_env(httpserver, key):
    return {
        "APPLE_ISSUER_ID": ISSUER,
        "APPLE_KEY_ID": KEY_ID,
        "APPLE_PRIVATE_KEY": key["private"],
        "APPLE_VENDOR_NUMBER": VENDOR,
        "APPLE_API_URL": httpserver.url_for("/"),
    }


def google_env(token_url, gcs_url, key):
    account = {
        "type": "service_account",
        "client_email": "reports@fabrik-test.iam.gserviceaccount.com",
        "private_key": key["private"],
        "private_key_id": "k1",
        "token_uri": token_url,
    }
    return {
        "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(account),
        "GOOGLE_PLAY_BUCKET": BUCKET,
        "GOOGLE_STORAGE_URL": gcs_url,
    }
