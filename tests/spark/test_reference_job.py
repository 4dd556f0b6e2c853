"""Issue 25: Spark Structured Streaming (the reference job, trigger availableNow) over what the app
writes: revised downloads summed exactly whatever order the files arrive in, the documented
CSV schema mapped column by column, and the logs' hourly figures."""

import shutil

from batch import reference_job
from tests.consumers import scenario


def results(spark, output, name):
    return spark.read.parquet(f"{output}/{name}").collect()


def test_the_reference_job_streams_both_layouts_exactly(
    spark, httpserver, apple_key, google_env, gcs, azurite_server, key_prefix, tmp_path
):
    from azure.storage.blob import BlobServiceClient

    from devstack.azurite import connection_string

    downloads = scenario.write_downloads(httpserver, apple_key, google_env, gcs, tmp_path / "all-downloads")
    container = BlobServiceClient.from_connection_string(connection_string(azurite_server.port)).get_container_client(
        f"logs-{key_prefix.lower()}"
    )
    container.create_container()
    logs = scenario.write_logs(container, tmp_path, tmp_path / "haproxy-logs")
    # The stream first sees only the oldest version of every day, then the rest arrives: the
    # retractions in the later files correct what was summed before.
    files = sorted((downloads / "normalised").rglob("*.csv"), key=lambda p: p.name)
    arriving = tmp_path / "app-downloads" / "normalised"
    first = {}
    for path in files:
        first.setdefault(path.parent, path)
    for path in first.values():
        (arriving / path.parent.relative_to(downloads / "normalised")).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, arriving / path.relative_to(downloads / "normalised"))
    options = dict(
        downloads=str(arriving),
        logs=str(logs),
        output=str(tmp_path / "out"),
        checkpoints=str(tmp_path / "checkpoints"),
        available_now=True,
    )
    reference_job.run(spark, **options)
    early = {
        (r.date.isoformat(), r.store, r.country): r.downloads
        for r in results(spark, options["output"], "downloads_by_country")
    }
    assert early[("2026-11-27", "apple", "FR")] == 3  # the first version, before its revision arrived
    for path in files:
        shutil.copy(path, arriving / path.relative_to(downloads / "normalised"))
    reference_job.run(spark, **options)

    by_country = {
        (r.tenant, r.date.isoformat(), r.store, r.country): r.downloads
        for r in results(spark, options["output"], "downloads_by_country")
    }
    assert by_country == {
        ("acme-fm", d, store, country): dl for (d, store, _app, country), (dl, _up) in scenario.DOWNLOADS.items()
    }
    hourly = {
        (r.tenant, r.date.isoformat(), r.hour): (r.requests, r.unique_clients, r.bytes)
        for r in results(spark, options["output"], "logs_hourly")
    }
    assert hourly == scenario.logs_expected()


def test_the_documented_schema_reads_every_column_right(spark, httpserver, apple_key, google_env, gcs, tmp_path):
    folder = scenario.write_downloads(httpserver, apple_key, google_env, gcs, tmp_path / "app-downloads")
    rows = (
        spark.read.schema(reference_job.DOWNLOADS_SCHEMA)
        .option("header", True)
        .option("recursiveFileLookup", True)
        .option("pathGlobFilter", "*.csv")
        .csv(str(folder / "normalised"))
        .collect()
    )
    assert len(rows) == sum(len(p.read_text().splitlines()) - 1 for p in (folder / "normalised").rglob("*.csv"))
    assert {r.store for r in rows} == {"apple", "google"} and {r.tenant for r in rows} == {"acme-fm"}
    assert {r.change for r in rows} == {"add", "retract"} and all(len(r.revision) == 16 for r in rows)
    assert all(r.downloads is not None and r.app_id in (scenario.ACME, scenario.PKG) for r in rows)
    google = [r for r in rows if r.store == "google" and r.change == "add"]
    assert all(r.redownloads is None and r.install_events is not None for r in google)
