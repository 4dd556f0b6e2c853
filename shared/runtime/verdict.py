"""One truth for on-call: every enabled function and source judged ``ok``, ``warn``,
``unknown`` or ``fail``, the same way by ``status``, ``doctor`` and ``/api/health``.

* ``ok``: the last run succeeded within the freshness limit, and nothing below applies;
* ``warn``: it succeeded, but dead-lettered some messages (below the ratio limit);
* ``unknown``: Redis lost its data (restart without persistence, failover, flush) and the
  function has not run since, for one freshness limit after the loss;
* ``fail``: the last run failed; no success within the limit; never ran (a new install); the
  dead-letter ratio over the last 10-20 minutes is above ``HEALTH_MAX_DEADLETTER_RATIO``; the
  Event Hub function is further behind than ``HEALTH_MAX_EVENTHUB_LAG_SECONDS``.

A replayed file's source is judged by its dead letters only, and only while they are recent:
once its 10-20 minutes are over it leaves the verdicts (it is not a partition that must flow).

Pure: status records, settings, the data-loss note and a time in, verdicts out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from shared.runtime.health import max_age_seconds
from shared.runtime.status import SourceStatus

DEFAULT_MAX_DEADLETTER_RATIO = 0.05
MIN_EVENTS_FOR_RATIO = 20  # fewer messages than this in the window: a single bad one is not a ratio
DEFAULT_MAX_LAG_S = 300
REPLAY_PREFIX = "partition:replay:"  # a replayed file's source (eventhub_to_redis/cli.py)


@dataclass(frozen=True)
class DataLoss:
    """Redis lost the status it held: when (about), and when the app noticed."""

    lost_at_ms: int
    first_run_ms: int | None = None


@dataclass(frozen=True)
class Verdict:
    function: str
    source: str
    state: str  # ok | warn | unknown | fail
    reason: str
    max_age_s: int
    last_success_ms: int | None = None

    def as_json(self) -> dict:
        return {
            "function": self.function,
            "source": self.source,
            "state": self.state,
            "reason": self.reason,
            "max_age_s": self.max_age_s,
            "last_success": iso(self.last_success_ms),
        }


def limits(env: Mapping[str, str]) -> tuple[float, int]:
    """``(dead-letter ratio, lag seconds)`` from the settings; ValueError naming a bad one."""
    raw_ratio = env.get("HEALTH_MAX_DEADLETTER_RATIO", "").strip()
    raw_lag = env.get("HEALTH_MAX_EVENTHUB_LAG_SECONDS", "").strip()
    try:
        ratio = float(raw_ratio) if raw_ratio else DEFAULT_MAX_DEADLETTER_RATIO
        if not 0 <= ratio <= 1:
            raise ValueError
    except ValueError:
        raise ValueError("HEALTH_MAX_DEADLETTER_RATIO: a number from 0 to 1, e.g. 0.05") from None
    if raw_lag and (not raw_lag.isdigit() or int(raw_lag) < 1):
        raise ValueError("HEALTH_MAX_EVENTHUB_LAG_SECONDS: a whole number of seconds, at least 1")
    return ratio, int(raw_lag) if raw_lag else DEFAULT_MAX_LAG_S


def judge(
    status: Mapping[str, list[SourceStatus]],
    functions: Iterable[str],
    env: Mapping[str, str],
    *,
    now_ms: int,
    loss: DataLoss | None = None,
) -> list[Verdict]:
    max_ratio, max_lag_s = limits(env)
    out = []
    for function in functions:
        limit = max_age_seconds(function, env)
        rows = [r for r in status.get(function, []) if not r.gone]
        if not rows:
            out.append(_never(function, limit, now_ms, loss))
            continue
        for row in rows:
            if row.source.startswith(REPLAY_PREFIX):
                if row.counts.get("rolling_messages") or row.current_error:  # its window is not over
                    out.append(_replay(row, limit, max_ratio))
                continue
            out.append(_one(row, limit, now_ms, max_ratio, max_lag_s))
    return out


def _replay(row: SourceStatus, limit: int, max_ratio: float) -> Verdict:
    """A replay (``run eventhub_to_redis --input``) is not a partition that must keep flowing:
    it is judged by its dead letters while they are recent (10-20 minutes), then leaves health."""
    make = lambda state, reason: Verdict(row.function, row.source, state, reason, limit, row.last_success)  # noqa: E731
    if not row.ok:
        return make("fail", row.current_error or "the replay failed")
    return _dead_letters(row, make, max_ratio) or make("ok", "")


def _never(function: str, limit: int, now_ms: int, loss: DataLoss | None) -> Verdict:
    if loss is None:
        return Verdict(
            function,
            "_run",
            "fail",
            "no run recorded (a new install that has not run yet, or a function that never starts)",
            limit,
        )
    when = iso(loss.lost_at_ms)
    if now_ms - loss.lost_at_ms <= limit * 1000:
        return Verdict(function, "_run", "unknown", f"Redis lost its data at about {when}; not run since", limit)
    return Verdict(function, "_run", "fail", f"no run since Redis lost its data at about {when}", limit)


def _one(row: SourceStatus, limit: int, now_ms: int, max_ratio: float, max_lag_s: int) -> Verdict:
    make = lambda state, reason: Verdict(row.function, row.source, state, reason, limit, row.last_success)  # noqa: E731
    if not row.ok:
        return make("fail", row.current_error or "the last run failed")
    if row.last_success is None or now_ms - row.last_success > limit * 1000:
        return make("fail", f"no success within {limit} s (last: {iso(row.last_success) or 'never'})")
    lag_ms = row.counts.get("lag_ms")
    if lag_ms is not None and lag_ms > max_lag_s * 1000:
        return make("fail", f"{lag_ms // 1000} s behind the Event Hub (limit {max_lag_s} s)")
    judged = _dead_letters(row, make, max_ratio)
    if judged is not None:
        return judged
    if row.counts.get("deadlettered"):
        return make("warn", f"{row.counts['deadlettered']} dead-lettered in the last batch")
    return make("ok", "")


def _dead_letters(row: SourceStatus, make: Callable[[str, str], Verdict], max_ratio: float) -> Verdict | None:
    """``fail`` above the ratio, ``warn`` below it, None without recent dead letters."""
    seen, dead = row.counts.get("rolling_messages", 0), row.counts.get("rolling_deadlettered", 0)
    if not dead:
        return None
    text = f"{dead} of {seen} messages dead-lettered in the last 10-20 minutes ({dead / seen if seen else 1.0:.0%})"
    if over_ratio(dead, seen, max_ratio):
        return make("fail", f"{text}: above HEALTH_MAX_DEADLETTER_RATIO {max_ratio:g}; see the deadletter container")
    return make("warn", f"{text}; see the deadletter container")


def over_ratio(dead: int, seen: int, max_ratio: float) -> bool:
    """Whether ``dead`` of ``seen`` messages is a failing share (from MIN_EVENTS_FOR_RATIO on)."""
    return seen >= MIN_EVENTS_FOR_RATIO and dead / seen > max_ratio


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
