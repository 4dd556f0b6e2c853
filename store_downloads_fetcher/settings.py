"""Settings of store_downloads_fetcher. Each store is optional; a half-configured one is an error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping

from shared.clients.azure_auth import BlobTarget
from shared.core.settings import SettingsReader, cached_loader, http_url, positive_int, read_storage, read_tenants
from shared.core.tenants import Tenants
from shared.runtime.logs import register_secrets

APPLE_KEYS = ("APPLE_ISSUER_ID", "APPLE_KEY_ID", "APPLE_PRIVATE_KEY", "APPLE_VENDOR_NUMBER")
GOOGLE_KEYS = ("GOOGLE_SERVICE_ACCOUNT_JSON", "GOOGLE_PLAY_BUCKET")


@dataclass(frozen=True)
class AppleSettings:
    issuer_id: str
    key_id: str
    private_key: str = field(repr=False)
    vendor_number: str = ""
    api_url: str = "https://api.appstoreconnect.apple.com"
    report_version: str = "1_0"
    lookback_days: int = 7


@dataclass(frozen=True)
class GoogleSettings:
    client_email: str
    private_key: str = field(repr=False)
    private_key_id: str | None = None
    bucket: str = ""
    token_url: str = "https://oauth2.googleapis.com/token"
    storage_url: str = "https://storage.googleapis.com"
    months: int = 2


@dataclass(frozen=True)
class DownloadsSettings:
    tenants: Tenants
    connection: BlobTarget = field(repr=False)
    container: str
    apple: AppleSettings | None
    google: GoogleSettings | None


def parse_service_account(raw: str) -> dict:
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError("not valid JSON (paste the whole key file)") from None
    missing = [k for k in ("client_email", "private_key") if not isinstance(data.get(k), str) or not data.get(k)]
    if not isinstance(data, dict) or missing:
        raise ValueError(f"missing {', '.join(missing) or 'fields'} (a service-account key file is expected)")
    if "BEGIN PRIVATE KEY" not in data["private_key"]:
        raise ValueError("private_key is not a PEM private key")
    return data


def apple_key(raw: str) -> str:
    text = raw.replace("\\n", "\n").strip()
    if "BEGIN PRIVATE KEY" not in text:
        raise ValueError("expected the PEM text of the .p8 key (-----BEGIN PRIVATE KEY-----)")
    return text + "\n"


def _load(env: Mapping[str, str]) -> DownloadsSettings:
    reader = SettingsReader(env)
    tenants = read_tenants(reader)
    connection = read_storage(reader, "DOWNLOADS_STORAGE_CONNECTION")
    container = reader.get("DOWNLOADS_CONTAINER", str, default="app-downloads")
    apple = google = None
    if any(env.get(k) for k in APPLE_KEYS):
        issuer = reader.get("APPLE_ISSUER_ID", str)
        key_id = reader.get("APPLE_KEY_ID", str)
        key = reader.get("APPLE_PRIVATE_KEY", apple_key, secret=True)
        vendor = reader.get("APPLE_VENDOR_NUMBER", str)
        url = reader.get("APPLE_API_URL", http_url, default="https://api.appstoreconnect.apple.com")
        version = reader.get("APPLE_REPORT_VERSION", str, default="1_0")
        lookback = reader.get("APPLE_LOOKBACK_DAYS", positive_int, default=7)
        if key is not None:
            register_secrets([key])
        apple = AppleSettings(
            issuer_id=issuer,
            key_id=key_id,
            private_key=key,
            vendor_number=vendor,
            api_url=url,
            report_version=version,
            lookback_days=lookback,
        )
    if any(env.get(k) for k in GOOGLE_KEYS):
        account = reader.get("GOOGLE_SERVICE_ACCOUNT_JSON", parse_service_account, secret=True)
        bucket = reader.get("GOOGLE_PLAY_BUCKET", str)
        account = account or {}
        token_url = reader.get(
            "GOOGLE_TOKEN_URL", http_url, default=account.get("token_uri") or "https://oauth2.googleapis.com/token"
        )
        storage_url = reader.get("GOOGLE_STORAGE_URL", http_url, default="https://storage.googleapis.com")
        months = reader.get("GOOGLE_MONTHS", positive_int, default=2)
        if account.get("private_key"):
            register_secrets([account["private_key"]])
        google = GoogleSettings(
            client_email=account.get("client_email", ""),
            private_key=account.get("private_key", ""),
            private_key_id=account.get("private_key_id"),
            bucket=bucket,
            token_url=token_url,
            storage_url=storage_url,
            months=months,
        )
    if apple is None and google is None:
        reader.fail("APPLE_ISSUER_ID", "neither App Store (APPLE_*) nor Google Play (GOOGLE_*) is configured")
    reader.check()
    return DownloadsSettings(tenants=tenants, connection=connection, container=container, apple=apple, google=google)


load_settings = cached_loader(_load)
