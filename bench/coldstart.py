"""Import time of the function packages in a fresh interpreter (a worker's cold start)."""
from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from bench.common import Row

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9
FUNCTIONS = sorted(p.parent.name for p in ROOT.glob("*/function.json"))


def import_seconds(modules: list[str]) -> float:
    code = ("import sys, time; sys.path.insert(0, %r); t = time.perf_counter()\n" % str(ROOT)
            + "".join(f"import {m}\n" for m in modules) + "print(time.perf_counter() - t)")
    samples = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        samples.append(float(out))
    return statistics.median(samples)


def run() -> list[Row]:
    base = import_seconds(["azure.functions"])
    rows = []
    for name in FUNCTIONS:
        t = import_seconds(["azure.functions", name])
        rows.append(Row("cold start", f"import {name}", t * 1000, base * 1000, "ms", "import azure.functions alone",
                        higher_is_better=False))
    together = import_seconds(["azure.functions", *FUNCTIONS])
    rows.append(Row("cold start", f"import all {len(FUNCTIONS)} functions", together * 1000, base * 1000, "ms",
                    "import azure.functions alone", higher_is_better=False,
                    note=f"{together / base:.2f} x the baseline (target: at most 2.5 x); median of {RUNS} fresh interpreters"))
    return rows
