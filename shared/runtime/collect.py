"""A collector's run, owned here: its descriptor's ``collect`` step is all a collector writes.

Settings first (a settings error is recorded and raised: ``start_run``), then the step, then the
samples and the run's status in one write (``finish_run``: only declared metrics are written,
Redis down raises so the host retries). The failure rules a collector needs stay in its step,
as data: a source that fails is ``context.report.fail(...)`` and the run goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from shared.core.descriptor import Descriptor
from shared.runtime.logs import ContextLogger
from shared.runtime.runs import finish_run, start_run
from shared.runtime.status import RunReport


@dataclass(frozen=True)
class Context:
    """What a collect step is handed: the run's report and logger, the environment, and the
    clients a test passes in (``session`` None: the step makes its own with its timeouts)."""

    report: RunReport
    log: ContextLogger
    env: Mapping[str, str]
    trigger: Any = None
    session: Any = None
    redis: Any = None
    clock: Callable[[], float] = time.time


def run_collector(
    descriptor: Descriptor,
    trigger: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> RunReport:
    """One run of a collector: its settings, its ``collect`` step, the write. Returns what happened."""
    if descriptor.collect is None or descriptor.load_settings is None:
        raise TypeError(f"{descriptor.name}: a collector's descriptor declares load_settings and collect")
    started = start_run(descriptor.name, descriptor.load_settings, env=env, redis=redis, clock=clock)
    if getattr(trigger, "past_due", False):
        started.log.warning("timer is past due; running now")
    context = Context(
        report=started.report,
        log=started.log,
        env=started.env,
        trigger=trigger,
        session=session,
        redis=redis,
        clock=clock,
    )
    samples = list(descriptor.collect(started.settings, context))
    return finish_run(
        started.report,
        samples,
        store_settings=started.settings.store,
        redis=redis,
        clock=clock,
        log=started.log,
        env=started.env,
    )
