import gzip
import io
from pathlib import Path

import pytest

from shared.core.errors import BadInputError
from store_downloads_fetcher.apple_report import parse_sales_summary
from store_downloads_fetcher.cli import backfill_dates
from store_downloads_fetcher.google_report import parse_installs
from store_downloads_fetcher.normalised import Row, render

DATA = Path(__file__).parent / "testdata"
ACME = "1234567890"


def data(name):
    return io.BytesIO((DATA / name).read_bytes())


def test_apple_current_report_counts_by_product_type_and_country():
    counts = parse_sales_summary(data("apple-sales-summary-1_0_2026-11-27.txt.gz"), app_ids=[ACME])
    assert counts.report_date == "2026-11-27"
    assert counts.counts == {(ACME, "DE"): (15, 2, 40), (ACME, "AT"): (4, 0, 0), (ACME, "US"): (2, 0, 0)}
    assert (counts.rows, counts.ignored_rows) == (9, 2)  # the in-app purchase and the unclaimed app


def test_apple_old_layout_maps_columns_by_name():
    counts = parse_sales_summary(data("apple-sales-summary-2015-24cols.txt"), app_ids=[ACME])
    assert counts.report_date == "2015-11-27"
    assert counts.counts == {(ACME, "DE"): (15, 2, 0)}


@pytest.mark.parametrize(
    "body,message",
    [
        (b"Provider\tTitle\nAPPLE\tx\n", "missing columns"),
        (gzip.compress(b"x", mtime=0)[:12], "damaged"),
    ],
    ids=["no-columns", "cut-gzip"],
)
def test_apple_broken_reports_are_named(body, message):
    with pytest.raises(BadInputError, match=message):
        parse_sales_summary(io.BytesIO(body), app_ids=[ACME])


def test_apple_fractional_units_are_refused():
    text = (DATA / "apple-sales-summary-1_0_2026-11-27.txt.gz").read_bytes()
    body = gzip.decompress(text).replace(b"\t2.00\t", b"\t2.50\t")
    with pytest.raises(BadInputError, match="line 10: Units '2.50'"):
        parse_sales_summary(io.BytesIO(body), app_ids=[ACME])


def test_google_utf16_country_file():
    days = parse_installs(data("google-play-2026_installs_country.csv"), package="com.acme.radio")
    assert [(d.date, d.rows) for d in days] == [
        ("2026-11-24", (("AT", 3, 4, 3, 4), ("DE", 12, 30, 14, 31))),  # devices and events: two metrics
        ("2026-11-25", (("", 1, 0, 1, 0), ("DE", 9, 25, 10, 25))),
        ("2026-11-26", (("DE", None, None, None, None),)),  # blank cells: not reported, not zero
    ]
    assert days[0].missing == ()


def test_google_events_only_and_legacy_utf8_headers():
    [day] = parse_installs(data("google-play-2026_installs_overview_events_only.csv"), package="com.acme.radio")
    # Issue 15.4: no device columns -> downloads/updates stay empty, never filled with events
    assert day.rows == (("", None, None, 17, 35),) and day.missing == ("downloads", "updates")
    [old] = parse_installs(data("google-play-2016_installs_overview_utf8.csv"), package="com.acme.radio")
    assert old.rows == (("", 4, 9, None, None),) and old.missing == ("install_events", "update_events")


def test_google_bad_bytes_and_dates_are_named():
    with pytest.raises(BadInputError, match="no Date column"):
        parse_installs(io.BytesIO(b"Day,Installs\n1,2\n"), package="p")
    with pytest.raises(BadInputError, match="line 2: Date '24.11.2026'"):
        parse_installs(io.BytesIO(b"Date,Install events\n24.11.2026,3\n"), package="p")
    with pytest.raises(BadInputError, match="not UTF-16/UTF-8"):
        parse_installs(io.BytesIO(b"\xff\xfeD\x00a\x00\x00\xd8"), package="p")


def test_normalised_csv_neutralises_formulas_and_invalid_countries():
    rows = [
        Row("2026-11-27", "apple", '=HYPERLINK("x")', "+1234", "de", 3, None, -1),
        Row("2026-11-27", "apple", "@t", "-1", "=cmd|' /C calc'!A0", 1, 2, 3),
    ]
    lines = render(rows, revision="20261128T000000Z", retracted=rows).decode().splitlines()
    assert lines[0] == (
        "date,store,tenant,app_id,country,downloads,redownloads,updates,install_events,update_events,revision,change"
    )
    for line in lines[1:]:
        for cell in line.split(","):
            assert not cell.startswith(("=", "+", "@")) and not (cell.startswith("-") and not cell[1:].isdigit())
    assert sum(",DE,3,,-1,,,20261128T000000Z,add" in line for line in lines) == 1
    assert sum(",DE,-3,,1,,,20261128T000000Z,retract" in line for line in lines) == 1


def test_backfill_dates():
    import datetime as dt

    assert backfill_dates(dt.date(2026, 11, 1), None, None) == [dt.date(2026, 11, 1)]
    assert len(backfill_dates(None, dt.date(2026, 11, 1), dt.date(2026, 11, 7))) == 7
    from shared.core.errors import ConfigError

    with pytest.raises(ConfigError, match="before"):
        backfill_dates(None, dt.date(2026, 11, 7), dt.date(2026, 11, 1))
