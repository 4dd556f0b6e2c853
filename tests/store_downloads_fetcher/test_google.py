"""Google Play end to end: OAuth stand-in verifying the assertion, gcp-storage-emulator, Azurite."""

import codecs
import datetime as dt
import json

import pytest

import store_downloads_fetcher
from devstack.appstore import google_token_handler
from store_downloads_fetcher.google import list_reports
from store_downloads_fetcher.settings import GoogleSettings
from tests.store_downloads_fetcher.conftest import BUCKET, google_env, put_object
from tests.store_downloads_fetcher.test_apple import blobs

NOW = dt.datetime(2026, 11, 28, 17, 0, tzinfo=dt.timezone.utc).timestamp()
PKG = "com.acme.radio"
TENANTS = json.dumps({"acme-fm": {"google": {"package": PKG}}})


def utf16(text: str) -> bytes:
    return codecs.BOM_UTF16_LE + text.replace("\n", "\r\n").encode("utf-16-le")


COUNTRY_NOV = (
    "Date,Package name,Country,Daily Device Installs,Daily Device Uninstalls,Daily Device Upgrades,"
    "Total User Installs,Daily User Installs,Daily User Uninstalls,Active Device Installs,Install events,"
    "Update events,Uninstall events\n"
    f"2026-11-24,{PKG},DE,12,1,30,0,0,0,500,14,31,1\n"
    f"2026-11-24,{PKG},AT,3,0,4,0,0,0,80,3,4,0\n"
    f"2026-11-25,{PKG},DE,9,2,25,0,0,0,507,10,25,2\n"
    f"2026-11-25,{PKG},,1,0,0,0,0,0,1,1,0,0\n"
)
OVERVIEW_NOV = (
    "Date,Package Name,Install events,Update events,Uninstall events,Active Device Installs\n"
    f"2026-11-24,{PKG},17,35,1,580\n"
)
OVERVIEW_OCT = (
    "Date,Package Name,Install events,Update events,Uninstall events,Active Device Installs\n"
    f"2026-10-31,{PKG},7,9,0,560\n"
)


@pytest.fixture
def env(httpserver, gcs, google_key, downloads_env):
    token_url = httpserver.url_for("/token")
    seen = []
    httpserver.expect_request("/token", method="POST").respond_with_handler(
        google_token_handler(
            google_key["public"],
            client_email="reports@fabrik-test.iam.gserviceaccount.com",
            token_url=token_url,
            seen=seen,
        )
    )
    values = {**downloads_env, **google_env(token_url, gcs, google_key), "TENANTS": TENANTS}
    values["_seen"] = seen
    return values


def test_fetch_unchanged_and_revised(env, gcs):
    seen = env.pop("_seen")
    put_object(gcs, f"stats/installs/installs_{PKG}_202611_country.csv", utf16(COUNTRY_NOV))
    put_object(gcs, f"stats/installs/installs_{PKG}_202611_overview.csv", utf16(OVERVIEW_NOV))
    put_object(gcs, f"stats/installs/installs_{PKG}_202610_overview.csv", utf16(OVERVIEW_OCT))
    put_object(gcs, f"stats/installs/installs_{PKG}_202611_device.csv", utf16("Date,Device\n"))
    put_object(gcs, f"stats/installs/installs_{PKG}.beta_202611_country.csv", utf16(COUNTRY_NOV))

    report = store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert report.ok, report.summary()
    assert len(seen) == 1 and seen[0]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    stored = blobs(env)
    day = lambda d: sorted(n for n in stored if n.startswith(f"normalised/google/acme-fm/{d}/"))
    revision = day("2026-11-24")[0].rsplit("/", 1)[1].split("-")[0]
    assert stored[day("2026-11-24")[0]].decode() == (
        "date,store,tenant,app_id,country,downloads,redownloads,updates,install_events,update_events,revision,change\n"
        f"2026-11-24,google,acme-fm,{PKG},AT,3,,4,3,4,{revision},add\n"
        f"2026-11-24,google,acme-fm,{PKG},DE,12,,30,14,31,{revision},add\n"
    )
    assert (
        stored[day("2026-11-25")[0]].decode().splitlines()[1].startswith(f"2026-11-25,google,acme-fm,{PKG},,1,,0,1,0,")
    )
    # October has only an events-only overview: used without a country breakdown, and its
    # events stay events: downloads/updates are empty, never filled with another metric
    assert stored[day("2026-10-31")[0]].decode().splitlines()[1].startswith(f"2026-10-31,google,acme-fm,{PKG},,,,,7,9,")
    assert report.outcomes["google:acme-fm"].counts["columns_empty"] == 2
    raws = sorted(n for n in stored if n.startswith("raw/google/"))
    assert len(raws) == 3 and stored[raws[0]][:2] == codecs.BOM_UTF16_LE
    assert not any(".beta_" in n or "_device" in n for n in stored)

    store_downloads_fetcher.run(env=env, clock=lambda: NOW)  # nothing changed in the bucket
    assert set(blobs(env)) == set(stored)

    revised = COUNTRY_NOV.replace(f"2026-11-25,{PKG},DE,9,", f"2026-11-25,{PKG},DE,11,")
    put_object(gcs, f"stats/installs/installs_{PKG}_202611_country.csv", utf16(revised))
    store_downloads_fetcher.run(env=env, clock=lambda: NOW + 86400)  # the next day's run
    after = blobs(env)
    assert len(day("2026-11-24")) == 1 and len([n for n in after if "/2026-11-24/" in n]) == 1  # unchanged day
    versions = sorted(n for n in after if n.startswith("normalised/google/acme-fm/2026-11-25/"))
    assert len(versions) == 2 and "DE,11,,25" in after[versions[-1]].decode()


def test_listing_follows_next_page_token(httpserver):
    pages = {
        None: {
            "items": [{"name": f"stats/installs/installs_{PKG}_202611_overview.csv", "generation": "1"}],
            "nextPageToken": "p2",
        },
        "p2": {"items": [{"name": f"stats/installs/installs_{PKG}_202611_country.csv", "generation": "2"}]},
    }

    def handler(request):
        from werkzeug import Response

        assert request.headers["Authorization"] == "Bearer t"
        return Response(json.dumps(pages[request.args.get("pageToken")]), content_type="application/json")

    httpserver.expect_request(f"/storage/v1/b/{BUCKET}/o").respond_with_handler(handler)
    settings = GoogleSettings(
        client_email="x", private_key="x", bucket=BUCKET, storage_url=httpserver.url_for("").rstrip("/")
    )
    from shared.clients.http import make_session

    found = list_reports(make_session(), settings, lambda: "t", PKG, {"202611"})
    assert [(o.dimension, o.generation) for o in found] == [("country", "2"), ("overview", "1")]


def test_403_says_to_grant_report_access_in_play_console(httpserver, google_key, downloads_env):
    token_url = httpserver.url_for("/token")
    httpserver.expect_request("/token", method="POST").respond_with_handler(
        google_token_handler(
            google_key["public"], client_email="reports@fabrik-test.iam.gserviceaccount.com", token_url=token_url
        )
    )
    httpserver.expect_request(f"/storage/v1/b/{BUCKET}/o").respond_with_json(
        {"error": {"code": 403, "message": "reports@… does not have storage.objects.list access"}}, status=403
    )
    env = {**downloads_env, **google_env(token_url, httpserver.url_for("").rstrip("/"), google_key), "TENANTS": TENANTS}
    report = store_downloads_fetcher.run(env=env, clock=lambda: NOW)
    assert "Play Console" in report.outcomes["google:acme-fm"].error
