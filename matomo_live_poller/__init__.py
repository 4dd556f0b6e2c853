"""matomo_live_poller: live visitors, visits and actions from Matomo into each tenant's ``matomo`` series."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import azure.functions as func

from shared.runtime.status import RunReport


def main(timer: func.TimerRequest) -> None:
    """Host entry point (timer). Matomo failures are recorded, not raised; Redis down raises."""
    run(timer)


def run(
    timer: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> RunReport:
    """Ask Matomo for every tenant's site and store one sample per tenant (matomo_live_poller/collect.py)."""
    from matomo_live_poller.descriptor import DESCRIPTOR
    from shared.runtime.collect import run_collector

    return run_collector(DESCRIPTOR, timer, env=env, session=session, redis=redis, clock=clock)
