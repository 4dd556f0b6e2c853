"""Issue 25: DuckDB reads what the app writes with the docs' queries, verbatim, and gets the truth."""

import datetime as dt
from pathlib import Path

import duckdb

from tests.consumers import scenario
from tests.consumers.docs import blocks, query

ROOT = Path(__file__).resolve().parent.parent.parent


def run(sql, folder):
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{folder}'")
    return con.execute(sql).fetchall()


def test_the_documented_queries_give_the_newest_truth_of_revised_downloads(
    httpserver, apple_key, google_env, gcs, tmp_path
):
    folder = scenario.write_downloads(httpserver, apple_key, google_env, gcs, tmp_path / "app-downloads")
    newest = run(query("downloads.md", "downloads-newest"), folder)
    got = {
        (d.isoformat(), store, app, country): (downloads, updates)
        for d, store, tenant, app, country, downloads, _re, updates, _ie, _ue in newest
    }
    assert got == scenario.DOWNLOADS
    assert {t for _d, _s, t, *_ in newest} == {"acme-fm"}
    current = run(query("downloads.md", "downloads-current-version"), folder)
    assert {
        (d.isoformat(), store, app, country): (downloads, updates)
        for d, store, _t, app, country, downloads, _re, updates, _ie, _ue, _rev in current
    } == scenario.DOWNLOADS
    # the documented layout: every column right, and nothing outside normalised/ matches the glob
    files = sorted((folder / "normalised").rglob("*.csv"))
    assert files and all(len(f.relative_to(folder).parts) == 5 for f in files)
    assert not any(p.is_dir() and p.name.endswith(".csv") for p in folder.rglob("*"))


def test_the_documented_queries_read_the_shipped_logs(azurite_server, key_prefix, tmp_path):
    from azure.storage.blob import BlobServiceClient

    from devstack.azurite import connection_string

    container = BlobServiceClient.from_connection_string(connection_string(azurite_server.port)).get_container_client(
        f"logs-{key_prefix.lower()}"
    )
    container.create_container()
    folder = scenario.write_logs(container, tmp_path, tmp_path / "haproxy-logs")
    hourly = run(query("logs.md", "logs-hourly"), folder)
    assert {(t, d.isoformat(), h): (r, u, b) for t, d, h, r, u, b in hourly} == scenario.logs_expected()
    unparsed = run(query("logs.md", "logs-unparsed"), folder)
    assert unparsed == [(host, dt.date(2026, 11, 29), 18, 1) for host in ("edge-1", "edge-2")]


def test_the_docs_quote_the_reference_job_verbatim():
    job = (ROOT / "batch" / "reference_job.py").read_text()
    quoted = blocks("downloads.md", "python") + blocks("logs.md", "python")
    assert len(quoted) == 2 and all(block in job for block in quoted)
