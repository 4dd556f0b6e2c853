"""Run status for on-call: per function and source, the last success, last error and counts.

Stored as one hash per function (``fabrik:status:<function>``) with flat fields
``<source>|<what>``, so a run sets only what it knows: a failing run updates ``last_error``
and leaves ``last_success`` as it was, with no read before the write.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from shared.privacy.redact import redact_text
from shared.runtime.logs import known_secrets

MAX_ERROR_CHARS = 500


@dataclass
class SourceOutcome:
    """What one source (a server, a site, a tenant) gave in one run."""

    source: str
    ok: bool = True
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def merge_reports(total: "RunReport", part: "RunReport") -> "RunReport":
    """Add one run's outcomes to ``total`` (a replay read in batches reports them as one)."""
    for name, outcome in part.outcomes.items():
        into = total.source(name)
        if not outcome.ok:
            into.ok, into.error = False, outcome.error
        for key, value in outcome.counts.items():
            if key.startswith("last_"):
                into.counts[key] = max(into.counts.get(key, value), value)
            elif key == "lag_ms":
                into.counts[key] = value  # how far behind the newest batch was
            else:
                into.counts[key] = into.counts.get(key, 0) + value
    for name, counters in part.rolling.items():
        into_rolling = total.rolling.setdefault(name, {})
        for key, value in counters.items():
            into_rolling[key] = into_rolling.get(key, 0) + value
    return total


@dataclass
class RunReport:
    """Everything one invocation did; the CLI prints it, the store keeps it as status."""

    function: str
    started_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    finished_ms: int | None = None
    outcomes: dict[str, SourceOutcome] = field(default_factory=dict)
    # Counters to add up over time per source (e.g. messages and dead letters per partition):
    # kept per 10 minutes, so a replay in many batches and a busy partition show real totals.
    rolling: dict[str, dict[str, int]] = field(default_factory=dict)

    def source(self, name: str) -> SourceOutcome:
        return self.outcomes.setdefault(name, SourceOutcome(source=name))

    def succeed(self, name: str, **counts: int) -> SourceOutcome:
        outcome = self.source(name)
        outcome.counts.update(counts)
        return outcome

    def fail(self, name: str, error: str | BaseException, **counts: int) -> SourceOutcome:
        outcome = self.source(name)
        outcome.ok = False
        text = error if isinstance(error, str) else (str(error) or type(error).__name__)
        outcome.error = redact_text(text, known_secrets())[:MAX_ERROR_CHARS]
        outcome.counts.update(counts)
        return outcome

    @property
    def failures(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes.values() if not o.ok]

    @property
    def ok(self) -> bool:
        return not self.failures

    def finish(self, now_ms: int | None = None) -> "RunReport":
        self.finished_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return self

    def status_fields(self) -> dict[str, str]:
        finished = self.finished_ms or int(time.time() * 1000)
        fields = {
            "_run|last_run": str(finished),
            "_run|duration_ms": str(max(0, finished - self.started_ms)),
            "_run|ok": "1" if self.ok else "0",
            "_run|counts": json.dumps(
                {
                    "sources": len(self.outcomes),
                    "failed": len(self.failures),
                    "duration_ms": max(0, finished - self.started_ms),
                }
            ),
        }
        if self.ok:
            fields["_run|last_success"] = str(finished)
        else:
            failed = self.failures
            fields["_run|last_error"] = (
                f"{len(failed)} of {len(self.outcomes)} sources failed, first {failed[0].source}: {failed[0].error}"
            )[:MAX_ERROR_CHARS]
            fields["_run|last_error_time"] = str(finished)
        for name, outcome in self.outcomes.items():
            fields[f"{name}|last_run"] = str(finished)
            fields[f"{name}|ok"] = "1" if outcome.ok else "0"
            fields[f"{name}|counts"] = json.dumps(outcome.counts, sort_keys=True)
            if outcome.ok:
                fields[f"{name}|last_success"] = str(finished)
            else:
                fields[f"{name}|last_error"] = outcome.error or "failed"
                fields[f"{name}|last_error_time"] = str(finished)
        return fields

    def summary(self) -> str:
        parts = []
        for outcome in self.outcomes.values():
            counts = " ".join(f"{k}={v}" for k, v in sorted(outcome.counts.items()))
            state = "ok" if outcome.ok else f"FAILED: {outcome.error}"
            parts.append(f"{outcome.source}: {state}{' (' + counts + ')' if counts else ''}")
        return "; ".join(parts) or "nothing to do"


@dataclass(frozen=True)
class SourceStatus:
    function: str
    source: str
    ok: bool
    last_run: int | None
    last_success: int | None
    last_error: str | None
    last_error_time: int | None
    counts: Mapping[str, int]
    gone: bool = False  # not part of the function's latest run (see parse_status)

    @property
    def state(self) -> str:
        """``ok``, ``FAIL``, or ``WARN`` for a run that stored its input but dead-lettered some."""
        if not self.ok:
            return "FAIL"
        return "WARN" if self.counts.get("deadlettered") else "ok"

    @property
    def current_error(self) -> str | None:
        """The last error, while it is newer than the last success (else it is history)."""
        if self.last_error and (self.last_success is None or (self.last_error_time or 0) >= self.last_success):
            return self.last_error
        return None


GONE_AFTER_MS = 3_600_000  # a source not seen for an hour (removed server, idle replay partition)


def parse_status(function: str, fields: Mapping[str, str]) -> list[SourceStatus]:
    """Turn a status hash back into one record per source (``_run`` is the run as a whole)."""
    grouped: dict[str, dict[str, str]] = {}
    for name, value in fields.items():
        source, _, what = name.rpartition("|")
        grouped.setdefault(source, {})[what] = value
    out = []
    run = grouped.get("_run", {})
    run_last, run_success = _int(run.get("last_run")) or 0, _int(run.get("last_success")) or 0
    for source in sorted(grouped, key=lambda s: (s != "_run", s)):
        f = grouped[source]
        if "last_run" not in f:
            continue  # rolling counters only (written by a run whose status was since replaced)
        last_run = _int(f.get("last_run")) or 0
        failed_then_fixed = f.get("ok") != "1" and run_success > (_int(f.get("last_error_time")) or 0)
        gone = source != "_run" and last_run < run_last and (failed_then_fixed or run_last - last_run > GONE_AFTER_MS)
        out.append(
            SourceStatus(
                function=function,
                source=source,
                ok=f.get("ok") == "1",
                last_run=_int(f.get("last_run")),
                last_success=_int(f.get("last_success")),
                last_error=f.get("last_error"),
                last_error_time=_int(f.get("last_error_time")),
                counts={
                    **(json.loads(f["counts"]) if f.get("counts") else {}),
                    **{k: int(v) for k, v in f.items() if k.startswith("rolling_")},
                },
                gone=gone,
            )
        )
    return out


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)
