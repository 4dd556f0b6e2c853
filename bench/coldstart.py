"""Import time of the function packages in a fresh interpreter (a worker's cold start)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from bench.common import Row

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
FUNCTIONS = sorted(p.parent.name for p in ROOT.glob("*/function.json"))


# What a first run adds to the imports: every function's descriptor (TENANTS, health, the store).
DESCRIPTORS = "from shared.core.functions import descriptors; descriptors()"


def _once(modules: list[str]) -> float:
    code = (
        "import sys, time; sys.path.insert(0, %r); t = time.perf_counter()\n" % str(ROOT)
        + "".join(m + "\n" if m == DESCRIPTORS else f"import {m}\n" for m in modules)
        + "print(time.perf_counter() - t)"
    )
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def run() -> list[Row]:
    # Interleaved: every round measures every case once, so drift on a shared machine hits all alike.
    cases = {
        "base": ["azure.functions"],
        **{n: ["azure.functions", n] for n in FUNCTIONS},
        "all": ["azure.functions", *FUNCTIONS],
        "all+descriptors": ["azure.functions", *FUNCTIONS, DESCRIPTORS],
    }
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(RUNS):
        for key, modules in cases.items():
            samples[key].append(_once(modules))
    median = {k: statistics.median(v) for k, v in samples.items()}
    base, together = median["base"], median["all"]
    rows = []
    for name in FUNCTIONS:
        rows.append(
            Row(
                "cold start",
                f"import {name}",
                median[name] * 1000,
                base * 1000,
                "ms",
                "import azure.functions alone",
                higher_is_better=False,
            )
        )
    rows.append(
        Row(
            "cold start",
            f"import all {len(FUNCTIONS)} functions",
            together * 1000,
            base * 1000,
            "ms",
            "import azure.functions alone",
            higher_is_better=False,
            note=f"{together / base:.2f} x the baseline (target: at most 2.5 x); median of {RUNS} fresh interpreters",
        )
    )
    rows.append(
        Row(
            "cold start",
            "import all + read every descriptor",
            median["all+descriptors"] * 1000,
            base * 1000,
            "ms",
            "import azure.functions alone",
            higher_is_better=False,
            note="what a first run adds: TENANTS sections, series, health limits",
        )
    )
    return rows
