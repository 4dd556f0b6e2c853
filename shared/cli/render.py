"""Terminal rendering for the CLI: run reports, live series with sparklines, status tables."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

from shared.core.descriptor import Series
from shared.live.store import Sample
from shared.runtime.status import RunReport, SourceStatus

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
    lines = [
        f"{series}  ({len(samples)} samples, {_clock(samples[0].time_ms)} .. {_clock(samples[-1].time_ms)} UTC)",
        f"  {'metric':<{name_w}}  {'now':>7} {'min':>7} {'max':>7}  trend",
    ]
    for m in metrics:
        values = [s.metrics[m] for s in samples if m in s.metrics]
        latest = next((s.metrics[m] for s in reversed(samples) if m in s.metrics), None)
        spark = sparkline(bucketed(samples, m, start_ms=start_ms, end_ms=end_ms, width=width))
        lines.append(f"  {m:<{name_w}}  {_num(latest):>7} {min(values):>7} {max(values):>7}  {spark}")
    return "\n".join(lines)


def report_text(report: RunReport) -> str:
    lines = [
        f"{report.function}: {'ok' if report.ok else 'FAILED'} "
        f"in {max(0, (report.finished_ms or report.started_ms) - report.started_ms)} ms"
    ]
    for o in report.outcomes.values():
        counts = ", ".join(f"{k}={v}" for k, v in sorted(o.counts.items()))
        state = "ok" if o.ok else f"FAILED: {o.error}"
        lines.append(f"  {o.source}: {state}" + (f"  [{counts}]" if counts else ""))
    return "\n".join(lines)


def status_table(rows: Iterable[SourceStatus], verdicts: Iterable[Any], *, now_ms: int, show_gone: bool = False) -> str:
    """One line per judged source (``shared.runtime.verdict``), gone sources only with ``show_gone``."""
    verdicts = list(verdicts)
    by_key = {(r.function, r.source): r for r in rows}
    if not verdicts:
        return "no runs recorded yet, and no collector configured in these settings"
    gone = [r for r in by_key.values() if r.gone]
    lines = [(v.function, v.source, v.state, _ago(v.last_success_ms, now_ms), v.reason) for v in verdicts]
    if show_gone:
        lines += [(r.function, r.source, "gone", _ago(r.last_success, now_ms), "") for r in gone]
    fw = max(len("function"), *(len(x[0]) for x in lines))
    sw = max(len("source"), *(len(x[1]) for x in lines))
    out = [f"{'function':<{fw}} {'source':<{sw}} {'state':<7} {'last success':<20} why"]
    for function, source, state, success, reason in lines:
        out.append(f"{function:<{fw}} {source:<{sw}} {state:<7} {success:<20} {reason}".rstrip())
    if gone and not show_gone:
        out.append(
            f"({len(gone)} sources not in their function's latest run hidden: fixed, removed or idle "
            f"for over an hour; --all shows them)"
        )
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


def metric_table(series: Iterable[Series]) -> str:
    """The metrics of every live series as the Markdown table of docs/redis-schema.md
    (``python -m shared.cli metrics``; a test keeps the doc equal to it)."""
    lines = ["| series | metric | unit | meaning |", "|---|---|---|---|"]
    for spec in series:
        for i, metric in enumerate(spec.metrics):
            lines.append(f"| {f'`{spec.name}`' if i == 0 else ''} | `{metric.name}` | {metric.unit} | {metric.help} |")
    return "\n".join(lines)
