"""Apple end to end: a stand-in that verifies the JWT and serves gzip TSVs, Azurite for the output."""

import datetime as dt
import json

import pytest
from azure.storage.blob import BlobServiceClient

import store_downloads_fetcher
from devstack.appstore import apple_tsv, appstore_handler
from shared.core.errors import ConfigError
from tests.store_downloads_fetcher.conftest import ISSUER, KEY_ID, VENDOR, apple_env

NOW = dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.timezone.utc).timestamp()  # 09:00 in Cupertino
ACME, OTHER = "1234567890", "5550001111"
TENANTS = json.dumps({"acme-fm": {"apple": {"app_id": ACME}}, "metro-kids": {"apple": {"app_id": "9990001111"}}})


def blobs(env):
    container = BlobServiceClient.from_connection_string(env["AzureWebJobsStorage"]).get_container_client(
        env["DOWNLOADS_CONTAINER"]
    )
    return {b.name: container.download_blob(b.name).readall() for b in container.list_blobs()}


def serve(httpserver, apple_key, days, seen):
    httpserver.expect_request("/v1/salesReports", method="GET").respond_with_handler(
        appstore_handler(apple_key["public"], issuer=ISSUER, key_id=KEY_ID, vendor=VENDOR, days=days, seen=seen)
    )


def test_window_fetch_idempotent_rerun_and_revision(httpserver, apple_key, downloads_env):
    day1 = apple_tsv(
        "2026-11-27",
        [
            (ACME, "1F", "DE", 12),
            (ACME, "1", "DE", 3),
            (ACME, "3", "DE", 2),
            (ACME, "7", "DE", 40),
            (ACME, "1F", "AT", 5),
            (ACME, "1F", "AT", -1),
            (ACME, "IA1", "DE", 9),
            (OTHER, "1F", "DE", 100),
        ],
    )
    days = {
        "2026-11-27": day1,
        "2026-11-26": ["ratelimit", apple_tsv("2026-11-26", [(ACME, "1F", "US", 1)])],
        "2026-11-25": "pending",
        "2026-11-24": "zero",
    }
    seen = []
    serve(httpserver, apple_key, days, seen)
    env = {**downloads_env, **apple_env(httpserver, apple_key), "TENANTS": TENANTS}

    report = store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert [s["args"]["filter[reportDate]"] for s in seen if s["args"].get("filter[reportDate]")][:2] == [
        "2026-11-27",
        "2026-11-26",
    ]  # newest first: recent days win when a run is cut short
    asked = {s["args"]["filter[reportDate]"] for s in seen}
    assert asked == {f"2026-11-{d}" for d in range(21, 28)}  # the 7-day window in Pacific time
    assert all(s["accept"] == "application/a-gzip" and s["args"]["filter[version]"] == "1_0" for s in seen)
    assert len({s["auth"] for s in seen}) == 1  # one token, reused for the whole run
    assert report.outcomes["apple"].counts["fetched"] == 2 and report.outcomes["apple"].counts["pending"] == 1

    stored = blobs(env)
    acme_27 = [n for n in stored if n.startswith("normalised/apple/acme-fm/2026-11-27/")]
    assert len(acme_27) == 1
    first = acme_27[0].rsplit("/", 1)[1].split("-")[0]  # the revision: the run's UTC time
    assert stored[acme_27[0]].decode() == (
        "date,store,tenant,app_id,country,downloads,redownloads,updates,install_events,update_events,revision,change\n"
        f"2026-11-27,apple,acme-fm,{ACME},AT,4,0,0,,,{first},add\n"
        f"2026-11-27,apple,acme-fm,{ACME},DE,15,2,40,,,{first},add\n"
    )
    metro_27 = [n for n in stored if n.startswith("normalised/apple/metro-kids/2026-11-27/")]
    assert stored[metro_27[0]] == (
        b"date,store,tenant,app_id,country,downloads,redownloads,updates,install_events,update_events,revision,change\n"
    )
    raw = [n for n in stored if n.startswith(f"raw/apple/vendor={VENDOR}/date=2026-11-27/")]
    assert len(raw) == 1 and raw[0].endswith(".txt.gz") and stored[raw[0]][:2] == b"\x1f\x8b"
    assert not any("/2026-11-25/" in n for n in stored if n.startswith("normalised/"))  # pending: nothing yet
    state = json.loads(stored["state/store_downloads_fetcher.json"])["apple"]["days"]
    assert {d: s["status"] for d, s in state.items()} == {
        "2026-11-21": "zero",
        "2026-11-22": "zero",
        "2026-11-23": "zero",
        "2026-11-24": "zero",
        "2026-11-25": "pending",
        "2026-11-26": "fetched",
        "2026-11-27": "fetched",
    }

    # the same reports again: nothing new is written
    store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert set(blobs(env)) == set(stored)

    # Apple revises the 27th: a new version beside the old one; the newest sorts last
    days["2026-11-27"] = apple_tsv("2026-11-27", [(ACME, "1F", "DE", 13)])
    store_downloads_fetcher.run(env=env, clock=lambda: NOW + 3600)
    versions = sorted(n for n in blobs(env) if n.startswith("normalised/apple/acme-fm/2026-11-27/"))
    assert len(versions) == 2 and versions[0] == acme_27[0]
    second = versions[-1].rsplit("/", 1)[1].split("-")[0]
    assert blobs(env)[versions[-1]].decode().splitlines()[1:] == [  # the old version retracted, the new one added
        f"2026-11-27,apple,acme-fm,{ACME},AT,-4,0,0,,,{second},retract",
        f"2026-11-27,apple,acme-fm,{ACME},DE,-15,-2,-40,,,{second},retract",
        f"2026-11-27,apple,acme-fm,{ACME},DE,13,0,0,,,{second},add",
    ]


def test_open_days_outside_the_window_are_retried_and_410_is_expired(httpserver, apple_key, downloads_env):
    days = {"2026-10-01": "pending"}
    serve(httpserver, apple_key, days, [])
    env = {**downloads_env, **apple_env(httpserver, apple_key), "TENANTS": TENANTS}
    store_downloads_fetcher.run(env=env, dates=[dt.date(2026, 10, 1)], clock=lambda: NOW)  # a backfill: pending
    seen = []
    httpserver.clear()
    days["2026-10-01"] = "expired"
    serve(httpserver, apple_key, days, seen)
    store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert "2026-10-01" in {s["args"]["filter[reportDate]"] for s in seen}
    state = json.loads(blobs(env)["state/store_downloads_fetcher.json"])["apple"]["days"]
    assert state["2026-10-01"]["status"] == "expired" and "retention" in state["2026-10-01"]["detail"]


def test_a_wrong_key_is_a_settings_error_naming_the_key(httpserver, apple_key, downloads_env):
    from devstack.keys import apple_key as new_key

    other = new_key().private
    serve(httpserver, apple_key, {}, [])
    env = {**downloads_env, **apple_env(httpserver, apple_key), "APPLE_PRIVATE_KEY": other, "TENANTS": TENANTS}
    report = store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    error = report.outcomes["apple"].error
    assert "APPLE_KEY_ID" in error and "401" in error and "BEGIN PRIVATE KEY" not in error


def test_half_configured_apple_names_every_missing_key(downloads_env):
    with pytest.raises(ConfigError) as caught:
        store_downloads_fetcher.run(env={**downloads_env, "APPLE_KEY_ID": "X", "TENANTS": TENANTS})
    assert {"APPLE_ISSUER_ID", "APPLE_PRIVATE_KEY", "APPLE_VENDOR_NUMBER"} <= set(caught.value.problems)


def test_cli_backfill_of_one_day(httpserver, apple_key, downloads_env, tmp_path):
    from tests.helpers import run_cli, write_settings

    seen = []
    serve(httpserver, apple_key, {"2026-11-20": apple_tsv("2026-11-20", [(ACME, "1F", "FR", 7)])}, seen)
    env = {**downloads_env, **apple_env(httpserver, apple_key), "TENANTS": TENANTS}
    settings = write_settings(tmp_path / "s.json", env)
    done = run_cli("run", "store_downloads_fetcher", "--date", "2026-11-20", settings=settings)
    assert done.returncode == 0, done.stderr
    assert [s["args"]["filter[reportDate]"] for s in seen] == ["2026-11-20"]
    assert "fetched=1" in done.stdout
    [name] = [n for n in blobs(env) if n.startswith("normalised/apple/acme-fm/2026-11-20/")]
    assert blobs(env)[name].decode().splitlines()[1].startswith(f"2026-11-20,apple,acme-fm,{ACME},FR,7,0,0,,,")
    bad = run_cli("run", "store_downloads_fetcher", "--from", "2026-11-20", settings=settings)
    assert bad.returncode == 2 and "--from/--to" in bad.stderr
