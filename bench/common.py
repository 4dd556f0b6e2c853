"""Timing helpers and the result table."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

# Pasted into the scripts that benchmarks run in fresh interpreters, to report peak memory.
HWM_SNIPPET = """
def hwm_kib():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""


@dataclass
class Row:
    area: str
    case: str
    ours: float
    baseline: float
    unit: str
    baseline_name: str
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else float("inf")
        return self.baseline / self.ours if self.ours else float("inf")


def best_of(fn: Callable[[], object], *, repeat: int = 5) -> float:
    """Median seconds of ``repeat`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(fns: list[Callable[[], object]], *, rounds: int = 5) -> list[float]:
    """Median seconds of each function, timed in turn within every round: on a shared, noisy
    machine, drift then hits the project and its baseline alike."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def table(rows: list[Row]) -> str:
    head = ("area", "case", "ours", "baseline", "unit", "vs baseline", "baseline is")
    lines = [
        [r.area, r.case, _fmt(r.ours), _fmt(r.baseline), r.unit, f"{r.ratio:.1f}x better", r.baseline_name]
        for r in rows
    ]
    widths = [max(len(head[i]), *(len(l[i]) for l in lines)) for i in range(len(head))]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(l, widths)) for l in lines]
    notes = [f"- {r.area} / {r.case}: {r.note}" for r in rows if r.note]
    return "\n".join(out + ([""] + notes if notes else []))


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"
