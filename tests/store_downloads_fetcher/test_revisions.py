"""Issue 15: numbers that survive late, revised, damaged and repeated reports.

Apple: the App Store Connect stand-in (verifies the JWT). Google: the OAuth stand-in and the
GCS emulator. Output: Azurite. Each case was reproduced on the code before the fix.
"""

import datetime as dt
import gzip
import json
import time

import pytest

import store_downloads_fetcher
from devstack.appstore import apple_tsv
from shared.core.errors import ConfigError
from shared.core.tenants import parse_tenants
from store_downloads_fetcher.cli import backfill_dates, latest_final_day
from tests.store_downloads_fetcher.conftest import apple_env, put_object
from tests.store_downloads_fetcher.test_apple import ACME, NOW, blobs, serve
from tests.store_downloads_fetcher.test_google import PKG, utf16
from tests.store_downloads_fetcher.test_google import env as google_env_fixture  # noqa: F401 (a fixture)

IOS, MAC = ACME, "1234567999"
HEAD = "Date,Package name,Country,Daily Device Installs,Daily Device Upgrades,Install events,Update events\n"


def newest(env, store, tenant, date):
    names = sorted(n for n in blobs(env) if n.startswith(f"normalised/{store}/{tenant}/{date}/"))
    if not names:
        return None
    rows = blobs(env)[names[-1]].decode().splitlines()[1:]  # the newest version: its "add" rows
    return [r.rsplit(",", 2)[0] for r in rows if r.endswith(",add")]


def state_of(env):
    return json.loads(blobs(env)["state/store_downloads_fetcher.json"])


def test_1_a_google_backfill_does_not_freeze_a_revised_month(google_env_fixture, gcs):
    env = google_env_fixture
    env.pop("_seen")
    name = f"stats/installs/installs_{PKG}_202610_country.csv"
    put_object(gcs, name, utf16(HEAD + f"2026-10-05,{PKG},DE,1,1,1,1\n2026-10-31,{PKG},DE,0,0,0,0\n"))
    store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert newest(env, "google", "acme-fm", "2026-10-31") == [f"2026-10-31,google,acme-fm,{PKG},DE,0,,0,0,0"]
    put_object(gcs, name, utf16(HEAD + f"2026-10-05,{PKG},DE,1,1,1,1\n2026-10-31,{PKG},DE,50,60,50,60\n"))
    store_downloads_fetcher.run(env=env, dates=[dt.date(2026, 10, 5)], clock=lambda: NOW + 60)  # backfill Oct 5
    assert newest(env, "google", "acme-fm", "2026-10-31")[0].endswith(",0,,0,0,0")  # backfill wrote only its day
    store_downloads_fetcher.run(env=env, clock=lambda: NOW + 120)  # the daily run still sees October as revised
    assert newest(env, "google", "acme-fm", "2026-10-31") == [f"2026-10-31,google,acme-fm,{PKG},DE,50,,60,50,60"]


def test_2_a_damaged_apple_report_costs_that_day_only(httpserver, apple_key, google_env_fixture, gcs):
    env = google_env_fixture
    env.pop("_seen")
    put_object(gcs, f"stats/installs/installs_{PKG}_202611_country.csv", utf16(HEAD + f"2026-11-20,{PKG},DE,4,5,4,5\n"))
    good = apple_tsv("2026-11-26", [(ACME, "1F", "DE", 12)])
    truncated = gzip.compress(apple_tsv("2026-11-27", [(ACME, "1F", "DE", 5)] * 50))[:60]
    serve(httpserver, apple_key, {"2026-11-26": good, "2026-11-27": ("raw", truncated)}, [])
    tenants = json.dumps({"acme-fm": {"apple": {"app_id": ACME}, "google": {"package": PKG}}})
    env = {**env, **apple_env(httpserver, apple_key), "TENANTS": tenants}

    report = store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert report.outcomes["apple"].counts["failed"] == 1 and report.outcomes["apple"].counts["fetched"] == 1
    assert "damaged gzip" in state_of(env)["apple"]["days"]["2026-11-27"]["detail"]
    assert report.outcomes["google:acme-fm"].ok  # the other store ran
    assert newest(env, "google", "acme-fm", "2026-11-20") is not None
    assert newest(env, "apple", "acme-fm", "2026-11-27") is None
    before = set(blobs(env))
    again = store_downloads_fetcher.run(env=env, clock=lambda: NOW + 3600)  # retried, still damaged
    assert again.outcomes["apple"].counts["failed"] == 1
    assert set(blobs(env)) == before  # no duplicate versions of the days already done


def test_3_no_sales_never_replaces_rows_and_is_pending_until_surely_published(httpserver, apple_key, downloads_env):
    days = {"2026-11-20": apple_tsv("2026-11-20", [(ACME, "1F", "DE", 12)])}
    serve(httpserver, apple_key, days, [])
    env = {
        **downloads_env,
        **apple_env(httpserver, apple_key),
        "TENANTS": json.dumps({"acme-fm": {"apple": {"app_id": ACME}}}),
    }
    store_downloads_fetcher.run(env=env, dates=[dt.date(2026, 11, 20)], clock=lambda: NOW)
    days["2026-11-20"] = "zero"  # Apple now answers "no sales" for the day that had DE=12
    report = store_downloads_fetcher.run(env=env, dates=[dt.date(2026, 11, 20)], clock=lambda: NOW + 86400)
    assert newest(env, "apple", "acme-fm", "2026-11-20") == [f"2026-11-20,apple,acme-fm,{ACME},DE,12,0,0,,"]
    assert "rows are kept" in state_of(env)["apple"]["days"]["2026-11-20"]["detail"]

    # 07:00 Pacific on the 28th: the 27th is not published yet, its "no sales" is not a zero
    early = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.timezone.utc).timestamp()
    httpserver.clear()
    serve(httpserver, apple_key, {}, [])
    report = store_downloads_fetcher.run(env=env, clock=lambda: early)
    status = state_of(env)["apple"]["days"]
    assert status["2026-11-27"]["status"] == "pending" and status["2026-11-26"]["status"] == "pending"
    assert status["2026-11-25"]["status"] == "zero"  # a day after its publication: final
    assert report.outcomes["apple"].counts["pending"] == 2
    assert newest(env, "apple", "acme-fm", "2026-11-27") is None
    later = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.timezone.utc).timestamp()
    store_downloads_fetcher.run(env=env, clock=lambda: later)  # pending days are retried and resolve
    assert state_of(env)["apple"]["days"]["2026-11-27"]["status"] == "zero"


def test_5_several_apps_per_tenant_and_one_owner_per_app(httpserver, apple_key, downloads_env):
    with pytest.raises(ValueError, match=f"apple app id {IOS} is claimed by both acme-fm and metro-kids"):
        parse_tenants(json.dumps({"acme-fm": {"apple": {"app_id": IOS}}, "metro-kids": {"apple": {"app_ids": [IOS]}}}))
    with pytest.raises(ValueError, match="google package com.a.b is claimed by both a and b"):
        parse_tenants(json.dumps({"a": {"google": {"package": "com.a.b"}}, "b": {"google": {"packages": ["com.a.b"]}}}))
    serve(
        httpserver, apple_key, {"2026-11-20": apple_tsv("2026-11-20", [(IOS, "1F", "DE", 3), (MAC, "F1", "DE", 2)])}, []
    )
    env = {
        **downloads_env,
        **apple_env(httpserver, apple_key),
        "TENANTS": json.dumps({"acme-fm": {"apple": {"app_ids": [IOS, MAC]}}}),
    }
    store_downloads_fetcher.run(env=env, dates=[dt.date(2026, 11, 20)], clock=lambda: NOW)
    assert newest(env, "apple", "acme-fm", "2026-11-20") == [
        f"2026-11-20,apple,acme-fm,{IOS},DE,3,0,0,,",
        f"2026-11-20,apple,acme-fm,{MAC},DE,2,0,0,,",
    ]


def test_5_two_google_packages_of_one_tenant_make_one_complete_day(google_env_fixture, gcs):
    env = google_env_fixture
    env.pop("_seen")
    env["TENANTS"] = json.dumps({"acme-fm": {"google": {"packages": [PKG, PKG + ".kids"]}}})
    put_object(gcs, f"stats/installs/installs_{PKG}_202611_country.csv", utf16(HEAD + f"2026-11-20,{PKG},DE,4,5,4,5\n"))
    kids = f"stats/installs/installs_{PKG}.kids_202611_country.csv"
    put_object(gcs, kids, utf16(HEAD + f"2026-11-20,{PKG}.kids,AT,1,1,1,1\n"))
    store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    put_object(gcs, kids, utf16(HEAD + f"2026-11-20,{PKG}.kids,AT,2,1,2,1\n"))  # one package revised
    store_downloads_fetcher.run(env=env, clock=lambda: NOW + 60)
    assert newest(env, "google", "acme-fm", "2026-11-20") == [
        f"2026-11-20,google,acme-fm,{PKG},DE,4,,5,4,5",
        f"2026-11-20,google,acme-fm,{PKG}.kids,AT,2,,1,2,1",
    ]


def test_6_sustained_rate_limiting_stops_asking_apple_and_saves_the_state(
    httpserver, apple_key, google_env_fixture, gcs
):
    env = google_env_fixture
    env.pop("_seen")
    put_object(gcs, f"stats/installs/installs_{PKG}_202611_country.csv", utf16(HEAD + f"2026-11-20,{PKG},DE,4,5,4,5\n"))
    seen = []
    serve(httpserver, apple_key, {f"2026-11-{d}": ["ratelimit"] for d in range(10, 28)}, seen)
    tenants = json.dumps({"acme-fm": {"apple": {"app_id": ACME}, "google": {"package": PKG}}})
    env = {**env, **apple_env(httpserver, apple_key), "TENANTS": tenants}
    started = time.monotonic()
    report = store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert time.monotonic() - started < 60
    counts = report.outcomes["apple"].counts
    assert counts["failed"] == 1 and counts["deferred"] == 6 and "429" in report.outcomes["apple"].error
    assert len({s["args"]["filter[reportDate]"] for s in seen}) == 1  # stopped after the first day
    assert report.outcomes["google:acme-fm"].ok and "2026-11-27" in state_of(env)["apple"]["days"]


def test_7_backfill_refuses_days_that_cannot_be_final_yet():
    at_7am_pacific = dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.timezone.utc).timestamp()
    assert latest_final_day(at_7am_pacific) == dt.date(2026, 11, 26)
    assert latest_final_day(NOW) == dt.date(2026, 11, 27)  # 09:00 Pacific
    for args in (
        (dt.date(2026, 11, 28), None, None),
        (dt.date(2026, 11, 27), None, None),
        (None, dt.date(2026, 11, 20), dt.date(2026, 12, 1)),
    ):
        with pytest.raises(ConfigError, match="cannot be final yet"):
            backfill_dates(*args, now=at_7am_pacific)
    assert backfill_dates(dt.date(2026, 11, 26), None, None, now=at_7am_pacific) == [dt.date(2026, 11, 26)]
