"""The stand-ins and emulators of the store tests, for the consumer-contract scenario."""

from tests.store_downloads_fetcher.conftest import apple_key, downloads_env, gcs, google_key  # noqa: F401
from tests.store_downloads_fetcher.test_google import env as google_env  # noqa: F401
