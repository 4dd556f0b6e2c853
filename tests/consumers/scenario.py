"""What the app writes, made by the app's own code, for the readers' tests (DuckDB, Spark).

Downloads: five fetcher runs against the App Store Connect stand-in and the GCS emulator, with
a dropped country, a day that turns to zero, changed values, a store outage day, and a day
backfilled and then revised. Logs: ship-logs over files of two hosts across two hours, with
unparsed lines. Both containers are then copied blob by blob into a folder, as a reader with a
mounted container or a download sees them (no Azure connector can be installed here).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import store_downloads_fetcher
from devstack.appstore import apple_tsv
from haproxy_agent.log_shipper import ship
from haproxy_agent.salts import DailySalts
from haproxy_agent.ship_config import ShipConfig, derive_logs_key
from tests.store_downloads_fetcher.conftest import apple_env, put_object
from tests.store_downloads_fetcher.test_apple import NOW, serve
from tests.store_downloads_fetcher.test_google import PKG, utf16

ACME = "1234567890"
HEAD = "Date,Package name,Country,Daily Device Installs,Daily Device Upgrades,Install events,Update events\n"
GOOGLE_NOV = f"stats/installs/installs_{PKG}_202611_country.csv"
# The newest truth after every run: (date, store, app, country) -> (downloads, updates)
DOWNLOADS = {
    ("2026-11-27", "apple", ACME, "DE"): (13, 0),  # revised, FR dropped
    ("2026-11-25", "apple", ACME, "DE"): (8, 0),  # a store outage on run 2, fetched on run 4
    ("2026-11-10", "apple", ACME, "DE"): (6, 0),  # backfilled, then revised by another backfill
    ("2026-11-24", "google", PKG, "DE"): (12, 30),
    ("2026-11-24", "google", PKG, "AT"): (3, 4),
    ("2026-11-25", "google", PKG, "DE"): (11, 25),
}  # 2026-11-26 (apple) became zero


def copy_container(container, folder: Path) -> Path:
    for blob in container.list_blobs():
        target = folder / blob.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(container.download_blob(blob.name).readall())
    return folder


def write_downloads(httpserver, apple_key, google_env: dict, gcs: str, folder: Path) -> Path:
    from azure.storage.blob import BlobServiceClient

    google_env.pop("_seen", None)
    days = {
        "2026-11-27": apple_tsv("2026-11-27", [(ACME, "1F", "DE", 15), (ACME, "1F", "FR", 3)]),
        "2026-11-26": apple_tsv("2026-11-26", [(ACME, "1F", "DE", 12), (ACME, "1F", "AT", 4)]),
        "2026-11-25": apple_tsv("2026-11-25", [(ACME, "1F", "DE", 7)]),
    }
    serve(httpserver, apple_key, days, [])
    tenants = json.dumps({"acme-fm": {"apple": {"app_id": ACME}, "google": {"package": PKG}}})
    env = {**google_env, **apple_env(httpserver, apple_key), "TENANTS": tenants}
    put_object(
        gcs,
        GOOGLE_NOV,
        utf16(HEAD + f"2026-11-24,{PKG},DE,12,30,14,31\n2026-11-24,{PKG},AT,3,4,3,4\n2026-11-25,{PKG},DE,9,25,10,25\n"),
    )
    store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    days["2026-11-27"] = apple_tsv("2026-11-27", [(ACME, "1F", "DE", 13)])
    days["2026-11-26"] = apple_tsv("2026-11-26", [])  # a report with a header only: Apple says zero
    days["2026-11-25"] = ("raw", b"\x1f\x8b\x08\x00damaged")  # the store fails for that day
    store_downloads_fetcher.run(env=env, clock=lambda: NOW + 3600)
    days["2026-11-10"] = apple_tsv("2026-11-10", [(ACME, "1F", "DE", 5)])
    store_downloads_fetcher.run(env=env, dates=[dt.date(2026, 11, 10)], clock=lambda: NOW + 7200)
    days["2026-11-25"] = apple_tsv("2026-11-25", [(ACME, "1F", "DE", 8)])
    put_object(
        gcs,
        GOOGLE_NOV,
        utf16(
            HEAD + f"2026-11-24,{PKG},DE,12,30,14,31\n2026-11-24,{PKG},AT,3,4,3,4\n2026-11-25,{PKG},DE,11,25,12,25\n"
        ),
    )
    store_downloads_fetcher.run(env=env, clock=lambda: NOW + 10800)
    days["2026-11-10"] = apple_tsv("2026-11-10", [(ACME, "1F", "DE", 6)])
    store_downloads_fetcher.run(env=env, dates=[dt.date(2026, 11, 10)], clock=lambda: NOW + 14400)
    container = BlobServiceClient.from_connection_string(env["AzureWebJobsStorage"]).get_container_client(
        env["DOWNLOADS_CONTAINER"]
    )
    return copy_container(container, folder)


LOGS_KEY = derive_logs_key("test-identity-hash-key-0123456789")
# (host, epoch second, tenant, client, bytes); 2026-11-29 18:xx and 19:xx UTC, two hosts
START = 1795975200  # 2026-11-29T18:00:00Z
REQUESTS = [
    (host, START + 1800 * step + i, tenant, f"203.0.113.{(i * 7 + step) % 5 + 1}", 1000 + i)
    for host in ("edge-1", "edge-2")
    for step in range(4)
    for i, tenant in enumerate(["acme-fm", "acme-fm", "metro-kids", "acme-fm", "metro-kids"])
]


def logs_expected() -> dict[tuple[str, str, int], tuple[int, int, int]]:
    """(tenant, date, hour) -> (requests, unique clients, bytes), from the requests themselves."""
    out: dict = {}
    for _host, second, tenant, client, size in REQUESTS:
        when = dt.datetime.fromtimestamp(second, dt.timezone.utc)
        key = (tenant, when.date().isoformat(), when.hour)
        requests, clients, total = out.get(key, (0, set(), 0))
        out[key] = (requests + 1, clients | {client}, total + size)
    return {k: (r, len(c), b) for k, (r, c, b) in out.items()}


def write_logs(container, tmp: Path, folder: Path) -> Path:
    salt_container = container._get_blob_service_client().get_container_client(f"{container.container_name}-salts")
    salt_container.create_container()
    for host in ("edge-1", "edge-2"):
        log = tmp / host / "haproxy-hls.log-20261129200000"
        log.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            f"{_header(second)} {host} haproxy[1]: fabrik-hls {second}.250 {client} 200 {size} 40 {tenant} "
            f'"/{tenant}/live/seg{second}.ts" "VLC/3.0.18 LibVLC/3.0.18" ""'
            for h, second, tenant, client, size in REQUESTS
            if h == host
        ]
        lines.insert(3, f"{_header(START + 5)} {host} haproxy[1]: Server hls/origin is DOWN")  # unparsed
        log.write_text("\n".join(lines) + "\n")
        config = ShipConfig(
            connection=None,
            container=container.container_name,
            host=host,
            key=LOGS_KEY.encode(),
            state_dir=tmp / host / "state",
            settle_seconds=0,
        )
        # The edges' run on the day of the requests: both share that day's salt.
        salts = DailySalts(salt_container, config.key, now=START + 3 * 3600, describe=lambda exc, what: what)
        [result] = ship([str(log)], config, container=container, salts=salts)
        assert result.error is None and result.unparsed == 1
    return copy_container(container, folder)


def _header(second: int) -> str:
    return dt.datetime.fromtimestamp(second, dt.timezone.utc).isoformat(timespec="microseconds")
