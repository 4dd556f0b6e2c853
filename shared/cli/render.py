"""Terminal rendering for the CLI: run reports, live series with sparklines, status tables."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from shared.live_store import Sample
from shared.status import RunReport, SourceStatus

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[int | None], *, low: int | None = None, high: int | None = None) -> str:
    """One character per value; ``None`` (no sample in that slot) is a space."""
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    low = min(present) if low is None else low
    high = max(present) if high is None else high
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(BARS[0] if high == 0 else BARS[len(BARS) // 2])
        else:
            out.append(BARS[round((v - low) / span * (len(BARS) - 1))])
    return "".join(out)


def bucketed(samples: Sequence[Sample], metric: str, *, start_ms: int, end_ms: int, width: int) -> list[int | None]:
    """The last value of ``metric`` in each of ``width`` equal time slots."""
    slots: list[int | None] = [None] * width
    span = max(1, end_ms - start_ms)
    for s in samples:
        if metric in s.metrics:
            i = min(width - 1, max(0, (s.time_ms - start_ms) * width // span))
            slots[i] = s.metrics[metric]
    return slots


def series_table(series: str, samples: Sequence[Sample], *, start_ms: int, end_ms: int, width: int = 40) -> str:
    if not samples:
        return f"{series}: no samples in the window"
    metrics = sorted({m for s in samples for m in s.metrics}, key=_metric_order)
    name_w = max(len("metric"), *(len(m) for m in metrics))
    lines = [f"{series}  ({len(samples)} samples, {_clock(samples[0].time_ms)} .. {_clock(samples[-1].time_ms)} UTC)",
             f"  {'metric':<{name_w}}  {'now':>7} {'min':>7} {'max':>7}  trend"]
    for m in metrics:
        values = [s.metrics[m] for s in samples if m in s.metrics]
        latest = next((s.metrics[m] for s in reversed(samples) if m in s.metrics), None)
        spark = sparkline(bucketed(samples, m, start_ms=start_ms, end_ms=end_ms, width=width))
        lines.append(f"  {m:<{name_w}}  {_num(latest):>7} {min(values):>7} {max(values):>7}  {spark}")
    return "\n".join(lines)


def report_text(report: RunReport) -> str:
    lines = [f"{report.function}: {'ok' if report.ok else 'FAILED'} "
             f"in {max(0, (report.finished_ms or report.started_ms) - report.started_ms)} ms"]
    for o in report.outcomes.values():
        counts = ", ".join(f"{k}={v}" for k, v in sorted(o.counts.items()))
        state = "ok" if o.ok else f"FAILED: {o.error}"
        lines.append(f"  {o.source}: {state}" + (f"  [{counts}]" if counts else ""))
    return "\n".join(lines)


def status_table(rows: Iterable[SourceStatus], *, now_ms: int, show_gone: bool = False) -> str:
    rows = list(rows)
    if not rows:
        return "no runs recorded yet"
    hidden = [r for r in rows if r.gone and not show_gone]
    rows = [r for r in rows if r not in hidden]
    fw = max(len("function"), *(len(r.function) for r in rows))
    sw = max(len("source"), *(len(r.source) for r in rows))
    out = [f"{'function':<{fw}} {'source':<{sw}} {'state':<6} {'last success':<20} last error"]
    for r in rows:
        error = ""
        if r.current_error:
            error = f"{_ago(r.last_error_time, now_ms)}: {r.current_error}"
        elif r.counts.get("deadlettered"):
            error = f"{r.counts['deadlettered']} dead-lettered in the last batch (see the deadletter container)"
        state = "gone" if r.gone else r.state
        out.append(f"{r.function:<{fw}} {r.source:<{sw}} {state:<6} "
                   f"{_ago(r.last_success, now_ms):<20} {error}")
    if hidden:
        out.append(f"({len(hidden)} sources not in their function's latest run hidden: fixed, removed or idle "
                   f"for over an hour; --all shows them)")
    return "\n".join(out)


def _metric_order(name: str) -> tuple[int, str]:
    return (0 if ":" not in name else 1, name)


def _num(v: int | None) -> str:
    return "-" if v is None else str(v)


def _clock(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%H:%M:%S")


def _ago(ms: int | None, now_ms: int) -> str:
    if ms is None:
        return "never"
    secs = max(0, (now_ms - ms) // 1000)
    when = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if secs < 120:
        return f"{secs}s ago"
    if secs < 7200:
        return f"{secs // 60}m ago"
    return when
