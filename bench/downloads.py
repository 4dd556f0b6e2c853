"""store_downloads_fetcher: rows/s and peak memory on a 500,000-row Apple report, streamed vs
read whole (the naive way: decompress into memory, split, keep every row)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import HWM_SNIPPET, Row

ROWS = 500_000
ROOT = Path(__file__).resolve().parent.parent

STREAMED = (
    HWM_SNIPPET
    + r"""
import resource, sys, time
sys.path.insert(0, sys.argv[2])
from store_downloads_fetcher.apple_report import parse_sales_summary
t = time.perf_counter()
with open(sys.argv[1], "rb") as raw:
    counts = parse_sales_summary(raw, app_ids=[str(1000000000 + i) for i in range(50)])
elapsed = time.perf_counter() - t
print(counts.rows, elapsed, hwm_kib())
"""
)

NAIVE = (
    HWM_SNIPPET
    + r"""
import csv, gzip, io, resource, sys, time
from collections import defaultdict
t = time.perf_counter()
text = gzip.decompress(open(sys.argv[1], "rb").read()).decode("utf-8")
rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
totals = defaultdict(int)
for r in rows:
    totals[(r["Apple Identifier"], r["Country Code"], r["Product Type Identifier"])] += int(float(r["Units"]))
elapsed = time.perf_counter() - t
print(len(rows), elapsed, hwm_kib())
"""
)


def make_report(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from devstack.appstore import APPLE_COLUMNS

    kinds, countries = ("1F", "3", "7", "IA1", "1T"), ("DE", "AT", "US", "FR", "GB", "CH", "NL", "PL")
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("\t".join(APPLE_COLUMNS) + "\n")
        for i in range(ROWS):
            values = {
                "Provider": "APPLE",
                "SKU": f"sku{i % 80}",
                "Title": "Some App",
                "Version": "1.2",
                "Product Type Identifier": kinds[i % 5],
                "Units": str(1 + i % 7),
                "Begin Date": "11/27/2026",
                "End Date": "11/27/2026",
                "Country Code": countries[i % 8],
                "Apple Identifier": str(1000000000 + i % 80),
                "Customer Currency": "EUR",
            }
            out.write("\t".join(values.get(c, "") for c in APPLE_COLUMNS) + "\n")


def _measure(script: str, report: Path) -> tuple[int, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", script, str(report), str(ROOT)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "S_D_500k.txt.gz"
        make_report(report)
        size = report.stat().st_size
        rows, t_ours, kb_ours = _measure(STREAMED, report)
        rows_naive, t_naive, kb_naive = _measure(NAIVE, report)
    assert rows == rows_naive == ROWS
    note = (
        f"gzip report {size / 1e6:.1f} MB, {ROWS:,} rows; memory is the process's peak RSS, interpreter "
        f"included (ours also imports its package)"
    )
    return [
        Row(
            "store_downloads_fetcher",
            "500k-row Apple report: speed",
            rows / t_ours,
            rows / t_naive,
            "rows/s",
            "decompress whole, csv.DictReader into a list",
            note=note,
        ),
        Row(
            "store_downloads_fetcher",
            "500k-row Apple report: peak RSS",
            kb_ours / 1024,
            kb_naive / 1024,
            "MiB",
            "decompress whole, csv.DictReader into a list",
            higher_is_better=False,
        ),
    ]
