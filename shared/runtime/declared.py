"""Declared means enforced: what a run writes is checked against its descriptors' series.

A metric whose name no series declares (a typo, a family without its prefix), a series no
function declares, or a value that is not what every declared unit is (a whole number of
connections, sessions or seconds, 0 or more) is not written: the rest of the sample is, the run
logs it and fails a source named ``metrics`` (status, health, and every test that asserts a run
ok). A collector cannot put a name into Redis that docs/redis-schema.md does not list.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

from shared.core.descriptor import Series
from shared.live.records import Sample

MAX_VALUE = 2**53  # what a browser's JSON reads exactly; more is a bug upstream


def keep_declared(samples: Iterable[Sample], series: Mapping[str, Series]) -> tuple[list[Sample], list[str]]:
    """The samples with only their declared metrics and valid values, and what was left out
    (``<series>.<metric>: why``, each named once)."""
    kept: list[Sample] = []
    problems: dict[str, str] = {}
    for sample in samples:
        spec = series.get(sample.series)
        if spec is None:
            problems.setdefault(sample.series, f"no function declares the series {sample.series!r}")
            continue
        bad = {name: why for name, value in sample.metrics.items() if (why := _problem(spec, name, value))}
        if bad:
            problems.update({f"{sample.series}.{name}": why for name, why in bad.items()})
            sample = replace(sample, metrics={k: v for k, v in sample.metrics.items() if k not in bad})
        kept.append(sample)
    return kept, [f"{where}: {why}" for where, why in sorted(problems.items())]


def _problem(spec: Series, name: str, value: object) -> str | None:
    metric = spec.metric_for(name)
    if metric is None:
        return "not declared (shared.core.descriptor: add it to the series, or fix the name)"
    if value.__class__ is not int or not 0 <= value <= MAX_VALUE:  # bool is not a count
        return f"{value!r} is not a whole number of {metric.unit} from 0"
    return None
