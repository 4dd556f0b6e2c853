"""What a month of the platform costs on Flex Consumption, from one measured run per function.

The rule (issue 35, Flex Consumption on-demand pricing in EUR): each execution is billed
max(1 s, its time rounded up to 100 ms) × the instance memory, at €0.000025 per GB-s, plus
€0.371 per million executions; 100,000 GB-s and 250,000 executions a month are free (per
subscription, so taken off the platform's total, not each station's). An instance's CPU is
taken in proportion to its memory (2,048 MB ≈ one core of this machine, 512 MB a quarter), so
CPU seconds measured here are stretched by that share; waiting on the network is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MONTH_S = 30 * 86400
PRICE_GB_S = 0.000025
PRICE_PER_EXECUTION = 0.371e-6
FREE_GB_S = 100_000
FREE_EXECUTIONS = 250_000
PARTITIONS = 4
BATCH = 1000  # host.json: minEventBatchSize = maxEventBatchSize
MAX_WAIT_S = 20  # host.json: maxWaitTime
HOST_DEFAULT_BATCH = 100  # 1.0.0's host.json: no minimum, so a run takes what is there
NAIVE_RUN_S = 0.05  # 1.0.0 model: a run takes the events that arrived in the last 50 ms


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float


def instance_seconds(m: Measured, memory_mb: int) -> float:
    share = memory_mb / 2048
    return max(0.0, m.wall_s - m.cpu_s) + m.cpu_s / share


def billed_seconds(m: Measured, memory_mb: int) -> float:
    return max(1.0, math.ceil(instance_seconds(m, memory_mb) * 10 - 1e-9) / 10)


def eventhub_executions(stations: int, *, edges: int = 20, events_per_station_s: float = 0.2) -> float:
    """A month of runs with full batches or ``MAX_WAIT_S``: per partition, one run per 20 s
    until its messages fill a batch sooner."""
    per_partition = (events_per_station_s * stations + edges / 10) / PARTITIONS
    fill_s = min(MAX_WAIT_S, BATCH / per_partition)
    return PARTITIONS * MONTH_S / fill_s


def eventhub_messages_1_0(stations: int, *, edges: int = 20, events_per_station_s: float = 0.2) -> float:
    """1.0.0: a message per tenant and edge every 10 s, plus the events (per second)."""
    return events_per_station_s * stations + stations * edges / 10


def naive_executions(stations: int, *, edges: int = 20, events_per_station_s: float = 0.2) -> float:
    """1.0.0's host.json (no minimum batch): each edge's tick arrives as a burst on every
    partition holding one of its tenants, a run taking at most 100 of it; events arrive on
    their own, a run taking those of the last 50 ms."""
    partitions = min(PARTITIONS, stations)
    per_tick = partitions * math.ceil(stations / partitions / HOST_DEFAULT_BATCH)
    events = events_per_station_s * stations / PARTITIONS
    event_runs = PARTITIONS * events / min(HOST_DEFAULT_BATCH, max(1.0, events * NAIVE_RUN_S))
    return MONTH_S * (edges / 10 * per_tick + event_runs)


SCHEDULED = {  # executions a month of each timer (docs/settings.md defaults), health probed each minute
    "icecast_poller": MONTH_S / 30,
    "matomo_live_poller": MONTH_S / 60,
    "health": MONTH_S / 60,
}


def platform_euros(runs: dict[str, tuple[float, Measured]], memory_mb: int) -> tuple[float, float, float]:
    """``(executions, GB-s, €)`` a month for ``runs`` (function -> (executions, one run)), free grants off."""
    executions = sum(n for n, _ in runs.values())
    gb_s = sum(n * billed_seconds(m, memory_mb) * memory_mb / 1024 for n, m in runs.values())
    euros = max(0.0, gb_s - FREE_GB_S) * PRICE_GB_S + max(0.0, executions - FREE_EXECUTIONS) * PRICE_PER_EXECUTION
    return executions, gb_s, euros


def per_viewer_hour(m: Measured, memory_mb: int, *, reads: float) -> float:
    """€ of one open page for an hour at ``reads`` requests an hour (no free grant: it is the margin)."""
    return reads * (billed_seconds(m, memory_mb) * memory_mb / 1024 * PRICE_GB_S + PRICE_PER_EXECUTION)
