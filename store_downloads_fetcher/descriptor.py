"""store_downloads_fetcher as the rest of the app sees it (shared.core.descriptor).

It writes files to Blob Storage (docs/downloads.md), not live series.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from shared.core.descriptor import Descriptor, Probe, lazy
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


DESCRIPTOR = Descriptor(
    name="store_downloads_fetcher",
    in_use=("APPLE_KEY_ID", "APPLE_VENDOR_NUMBER", "GOOGLE_SERVICE_ACCOUNT_JSON"),
    load_settings=lazy("store_downloads_fetcher.settings", "load_settings"),
    schedule="0 30 16 * * *",
    tenant_sections=(APPLE, GOOGLE),
    probes=_probes,
)
