"""store_downloads_fetcher as the rest of the app sees it (shared.core.descriptor).

It writes files to Blob Storage (docs/downloads.md), not live series.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from shared.core.descriptor import Descriptor, Probe, Setting, lazy
from store_downloads_fetcher.tenant import APPLE, GOOGLE


def _probes(settings: Any, env: Mapping[str, str]) -> Iterable[Probe]:
    from shared.clients.blob import reach_container

    yield Probe(
        f"blob container {settings.container} (downloads)",
        lambda: reach_container(settings.connection, settings.container),
    )
    if settings.apple is not None:
        yield Probe("apple sales reports API", lambda: _apple(settings.apple))
    if settings.google is not None:
        yield Probe("google token endpoint", lambda: _google(settings.google))


def _apple(apple: Any) -> str:
    from shared.clients.http import make_session
    from shared.core.errors import ConfigError
    from store_downloads_fetcher.tokens import AppleToken

    token = AppleToken(issuer_id=apple.issuer_id, key_id=apple.key_id, private_key=apple.private_key)
    response = make_session().get(
        f"{apple.api_url}/v1/salesReports", timeout=(5, 20), headers={"Authorization": f"Bearer {token()}"}
    )
    if response.status_code in (401, 403):
        raise ConfigError(
            {
                "APPLE_KEY_ID": f"Apple refused the token ({response.status_code}): check APPLE_KEY_ID, "
                "APPLE_ISSUER_ID and APPLE_PRIVATE_KEY"
            }
        )
    return f"token accepted (HTTP {response.status_code} to a request without filters)"


def _google(google: Any) -> str:
    from shared.clients.http import make_session
    from store_downloads_fetcher.tokens import GoogleToken

    GoogleToken(
        client_email=google.client_email,
        private_key=google.private_key,
        private_key_id=google.private_key_id,
        token_url=google.token_url,
        session=make_session(),
    )()
    return "access token issued"


SETTINGS = (
    Setting(
        "DOWNLOADS_STORAGE_CONNECTION",
        "storage account for the reports",
        default="`AzureWebJobsStorage`'s account",
        secret=True,
    ),
    Setting(
        "DOWNLOADS_CONTAINER",
        "container for raw files, normalised CSVs and the fetch state",
        default="`app-downloads`",
        example="app-downloads",
    ),
    Setting(
        "APPLE_ISSUER_ID",
        "App Store Connect API issuer id (Users and Access > Integrations)",
        default="required for Apple",
        example="57246542-96fe-1a63-e053-0824d011072a",
    ),
    Setting(
        "APPLE_KEY_ID",
        "the API key's id (a **Team** key with Admin, Finance or Sales role)",
        default="required for Apple",
        example="2X9R4HXF34",
    ),
    Setting(
        "APPLE_PRIVATE_KEY",
        "PEM text of the `.p8` key (`\\n` escapes are accepted)",
        default="required for Apple",
        secret=True,
        example="-----BEGIN PRIVATE KEY-----\\nreplace-with-the-p8-file-contents\\n-----END PRIVATE KEY-----",
    ),
    Setting(
        "APPLE_VENDOR_NUMBER",
        "Payments and Financial Reports > vendor number",
        default="required for Apple",
        example="85012345",
    ),
    Setting(
        "APPLE_API_URL",
        "overridable for tests",
        default="`https://api.appstoreconnect.apple.com`",
        example="https://api.appstoreconnect.apple.com",
    ),
    Setting(
        "APPLE_REPORT_VERSION",
        "`filter[version]` of SALES/SUMMARY; empty to let Apple pick",
        default="`1_0`",
        example="1_0",
    ),
    Setting(
        "APPLE_LOOKBACK_DAYS",
        "every run re-fetches this many days back from yesterday (Pacific time)",
        default="`7`",
        example="7",
    ),
    Setting(
        "GOOGLE_SERVICE_ACCOUNT_JSON",
        (
            "the service account's key file (JSON); the account needs \"View app information and download bulk "
            'reports" in Play Console'
        ),
        default="required for Google",
        secret=True,
        example=(
            '{"type": "service_account", "client_email": "reports@example.iam.gserviceaccount.com", '
            '"private_key": "-----BEGIN PRIVATE KEY-----\\nreplace-me\\n-----END PRIVATE KEY-----\\n", '
            '"token_uri": "https://oauth2.googleapis.com/token"}'
        ),
    ),
    Setting(
        "GOOGLE_PLAY_BUCKET",
        'from Play Console\'s "Copy Cloud Storage URI": `pubsite_prod_rev_<id>` (or `pubsite_prod_<id>`)',
        default="required for Google",
        example="pubsite_prod_rev_01234567890987654321",
    ),
    Setting(
        "GOOGLE_TOKEN_URL",
        "overridable for tests",
        default="the key's `token_uri`, else `https://oauth2.googleapis.com/token`",
    ),
    Setting(
        "GOOGLE_STORAGE_URL",
        "overridable for tests",
        default="`https://storage.googleapis.com`",
        example="https://storage.googleapis.com",
    ),
    Setting(
        "GOOGLE_MONTHS",
        "the current month and the ones before it to look at",
        default="`2`",
        example="2",
    ),
)


DESCRIPTOR = Descriptor(
    name="store_downloads_fetcher",
    in_use=("APPLE_KEY_ID", "APPLE_VENDOR_NUMBER", "GOOGLE_SERVICE_ACCOUNT_JSON"),
    load_settings=lazy("store_downloads_fetcher.settings", "load_settings"),
    schedule="0 30 16 * * *",
    tenant_sections=(APPLE, GOOGLE),
    probes=_probes,
    settings=SETTINGS,
    settings_note=(
        "Each store is optional; setting any of its keys makes the others required. Tenants map to apps with "
        "`TENANTS` (`apple.app_id` or `apple.app_ids` for several, e.g. an iOS and a macOS app; "
        "`google.package` or `google.packages`; an id may belong to one tenant only). When `REDIS_URL` is "
        "set, the run's status also goes to `fabrik:status:store_downloads_fetcher`."
    ),
    schedule_help="daily at 16:30 UTC, after Apple publishes the previous Pacific day (by about 08:00 PT)",
)
