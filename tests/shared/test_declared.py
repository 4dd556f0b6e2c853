"""Declared means enforced (issue 39): a run writes only what its series declare."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.core.functions import all_series
from shared.core.settings import load_store_settings
from shared.live.store import Sample
from shared.runtime.logs import get_logger
from shared.runtime.runs import finish_run
from shared.runtime.status import RunReport

SERIES = all_series()
# Names and values a collector's bug could write: anything but a declared metric with a count.
undeclared_names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30).filter(
    lambda name: SERIES["icecast"].metric_for(name) is None and "|" not in name
)
bad_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(max_value=-1),
    st.integers(min_value=2**53 + 1),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=undeclared_names, value=bad_values, listeners=st.integers(0, 10**6))
def test_an_undeclared_metric_or_a_value_that_is_no_count_is_logged_not_written(
    base_env, store_for, name, value, listeners
):
    """The typo passed every test the guide asked for in issue 39; now the run fails its
    `metrics` source naming it, writes nothing of it, and keeps every declared metric."""
    store = store_for(base_env)
    now_ms = int(time.time() * 1000)
    report = RunReport("icecast_poller", started_ms=now_ms)
    sample = Sample("acme-fm", "icecast", now_ms, {"listeners": listeners, name: 3, "relays": value})
    finish_run(
        report,
        [sample],
        store_settings=load_store_settings(base_env),
        redis=store.redis,
        log=get_logger("icecast_poller"),
        env=base_env,
    )
    assert not report.ok and report.failures[0].source == "metrics"
    error = report.failures[0].error  # the name itself may be masked (an address-like name is redacted)
    assert "not declared" in error and "icecast.relays: " in error and "not a whole number" in error
    [stored] = [s for s in store.read_series("acme-fm", "icecast") if s.time_ms == now_ms]
    assert stored.metrics == {"listeners": listeners}


def test_declared_metrics_with_counts_pass_untouched(base_env, store_for):
    store = store_for(base_env)
    now_ms = int(time.time() * 1000)
    report = RunReport("icecast_poller", started_ms=now_ms)
    metrics = {"listeners": 5, "mount:/acme.mp3": 5, "listening_seconds": 120, "client:player": 4, "relays": 0}
    finish_run(
        report,
        [Sample("acme-fm", "icecast", now_ms, metrics)],
        store_settings=load_store_settings(base_env),
        redis=store.redis,
        log=get_logger("icecast_poller"),
        env=base_env,
    )
    assert report.ok, report.summary()
    assert store.read_series("acme-fm", "icecast")[-1].metrics == metrics


def test_a_series_no_function_declares_is_not_written(base_env, store_for):
    store = store_for(base_env)
    now_ms = int(time.time() * 1000)
    report = RunReport("icecast_poller", started_ms=now_ms)
    finish_run(
        report,
        [Sample("acme-fm", "icecats", now_ms, {"listeners": 1})],
        store_settings=load_store_settings(base_env),
        redis=store.redis,
        log=get_logger("icecast_poller"),
        env=base_env,
    )
    assert not report.ok and "icecats" in report.failures[0].error
    assert store.series_present("acme-fm") == []
