"""A local Spark (Java 17, local[2]) for the consumer-contract tests; `make test-consumers` runs them."""

import os
import sys

import pytest

from tests.store_downloads_fetcher.conftest import apple_key, downloads_env, gcs, google_key  # noqa: F401
from tests.store_downloads_fetcher.test_google import env as google_env  # noqa: F401


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("fabrik-consumer-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
