import pytest
import redis

from shared.clients.redis_client import connect
from shared.core.errors import RetriableError
from shared.core.functions import all_series
from shared.core.settings import load_store_settings
from shared.live.store import Event, LiveStore, Sample
from shared.runtime.status import RunReport, parse_status

NOW = 1_800_000_000.0  # a fixed clock: 2027-01-15
NOW_MS = int(NOW * 1000)


class CountingConnection(redis.connection.Connection):
    """Counts round trips: one per packed send (a pipeline is sent as one)."""

    sends = 0

    def send_packed_command(self, command, check_health=True):
        type(self).sends += 1
        return super().send_packed_command(command, check_health)


def make_store(env, clock=lambda: NOW, **overrides):
    settings = load_store_settings(env)
    return LiveStore(connect(settings, **overrides), settings=settings, clock=clock)


def s(t_ms, tenant="acme-fm", series="icecast", **metrics):
    return Sample(tenant=tenant, series=series, time_ms=t_ms, metrics=metrics or {"listeners": 1})


def test_samples_read_back_by_time_range(base_env):
    store = make_store(base_env)
    store.write(samples=[s(NOW_MS - 60_000, listeners=5), s(NOW_MS - 30_000, listeners=7), s(NOW_MS, listeners=9)])
    got = store.read_series("acme-fm", "icecast", since_ms=NOW_MS - 45_000, until_ms=NOW_MS - 1)
    assert [(x.time_ms, x.metrics["listeners"]) for x in got] == [(NOW_MS - 30_000, 7)]
    assert [x.metrics["listeners"] for x in store.read_series("acme-fm", "icecast")] == [5, 7, 9]


def test_replayed_sample_is_stored_once_and_latest_value_wins(base_env):
    store = make_store(base_env)
    for _ in range(3):
        store.write(samples=[s(NOW_MS, listeners=4)])
    store.write(samples=[s(NOW_MS, listeners=6)])  # same instant, corrected value
    got = store.read_series("acme-fm", "icecast")
    assert [(x.time_ms, dict(x.metrics)) for x in got] == [(NOW_MS, {"listeners": 6})]


def test_late_and_out_of_order_samples_are_accepted(base_env):
    store = make_store(base_env)
    store.write(samples=[s(NOW_MS, listeners=3)])
    store.write(samples=[s(NOW_MS - 600_000, listeners=1), s(NOW_MS - 300_000, listeners=2)])
    assert [x.metrics["listeners"] for x in store.read_series("acme-fm", "icecast")] == [1, 2, 3]


def test_window_trims_old_samples_and_refreshes_expiry(base_env):
    env = {**base_env, "LIVE_WINDOW_SECONDS": "600"}
    clock = [NOW]
    store = make_store(env, clock=lambda: clock[0])
    store.write(samples=[s(NOW_MS - 500_000), s(NOW_MS)])
    clock[0] = NOW + 200  # the first sample is now 700 s old
    result = store.write(samples=[s(NOW_MS + 200_000), s(NOW_MS - 2_000_000)])
    assert result.too_old == 1 and result.samples == 1
    bucket_ms = 1_800_000  # the icecast series' bucket: 30 minutes (docs/redis-schema.md)

    def bucket_of(t: int, series: str) -> int:
        return t // bucket_ms

    assert [x.time_ms for x in store.read_series("acme-fm", "icecast", since_ms=0)] == [NOW_MS, NOW_MS + 200_000]
    keys = {
        bucket_of(t, "icecast"): store.keys.live_hash_bucket("acme-fm", "icecast", bucket_of(t, "icecast"))
        for t in (NOW_MS - 500_000, NOW_MS, NOW_MS + 200_000)
    }
    stored = sum(len(store.redis.hkeys(k)) - 1 for k in set(keys.values()) if store.redis.exists(k))  # less "s"
    assert stored == 2  # the 700 s old one was trimmed on write, exactly
    newest = keys[bucket_of(NOW_MS + 200_000, "icecast")]  # lives until its bucket's end leaves the window
    expected = (bucket_of(NOW_MS + 200_000, "icecast") + 1) * bucket_ms + 600_000 - (NOW_MS + 200_000)
    assert expected - 1000 < store.redis.pttl(newest) <= expected


def test_keys_follow_the_contract(base_env, key_prefix):
    store = make_store(base_env)
    store.write(
        samples=[s(NOW_MS), s(NOW_MS, series="hls")],
        events=[Event("acme-fm", "play", NOW_MS, "0", 12, '{"tenant":"acme-fm"}')],
    )
    keys = set(store.redis.keys(f"{key_prefix}:*"))
    assert keys == {
        f"{key_prefix}:live:{{acme-fm}}:icecast:h:{NOW_MS // 1_800_000}",
        f"{key_prefix}:live:{{acme-fm}}:icecast:fields",
        f"{key_prefix}:live:{{acme-fm}}:hls:hosts",
        f"{key_prefix}:live:{{acme-fm}}:hls:host:-:{NOW_MS // 1_800_000}",
        f"{key_prefix}:events:{{acme-fm}}",
        f"{key_prefix}:events:{{acme-fm}}:m:{NOW_MS // 60_000 * 60_000}",  # 1.1.0: counts per minute
        f"{key_prefix}:events:{{acme-fm}}:counted",
        f"{key_prefix}:live:hls:alive",  # 1.1.0: when each edge was ticking, for all tenants
    }


def test_any_sequence_of_writes_reads_back_as_the_last_write_at_each_time(base_env):
    """The contract under hostile ordering: schemas changing inside a bucket, rewrites of one
    millisecond with another schema, late samples, several writes per run."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    store = make_store(base_env)
    names = st.sampled_from([("listeners",), ("listeners", "mount:/a.mp3"), ("hosts", "listeners"), ("visits",)])
    write = st.tuples(
        st.integers(0, 7_000_000 // 15_000).map(lambda k: NOW_MS - k * 15_000), names, st.integers(0, 10**6)
    )
    tenants = iter(range(10**6))

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(st.lists(write, min_size=1, max_size=6), min_size=1, max_size=4),
        st.sampled_from([name for name, spec in all_series().items() if not spec.per_edge]),
    )  # hls: summed per edge, tested below
    def check(runs, series):
        tenant = f"prop-{next(tenants)}"
        expected = {}
        for run in runs:
            batch = {}
            for t, keys, value in run:
                batch[t] = {k: value + i for i, k in enumerate(keys)}
            store.write(samples=[Sample(tenant, series, t, m) for t, m in batch.items()])
            expected.update(batch)
        got = [(x.time_ms, dict(x.metrics)) for x in store.read_series(tenant, series)]
        assert got == sorted(expected.items())

    check()


def test_events_are_idempotent_by_position(base_env):
    store = make_store(base_env)
    batch = [Event("acme-fm", "play", NOW_MS - i, "3", 100 + i, f'{{"n":{i}}}') for i in range(5)]
    store.write(events=batch)
    store.write(events=batch[2:])  # a redelivery of part of the batch
    got = store.read_events("acme-fm")
    assert sorted(e.sequence for e in got) == [100, 101, 102, 103, 104]
    assert {e.body for e in got} == {f'{{"n":{i}}}' for i in range(5)}


def test_a_batch_is_one_round_trip_whatever_its_size(base_env):
    CountingConnection.sends = 0
    store = make_store(base_env, connection_class=CountingConnection)
    store.write(samples=[s(NOW_MS)])  # connect (handshake) happens here
    CountingConnection.sends = 0
    store.write(
        samples=[s(NOW_MS - i * 1000, tenant=f"t{i % 7}") for i in range(500)],
        events=[Event("acme-fm", "x", NOW_MS - i, "0", i, "{}") for i in range(500)],
        report=RunReport("test").finish(NOW_MS),
    )
    assert CountingConnection.sends == 1


def test_status_keeps_last_success_through_a_failure(base_env):
    store = make_store(base_env)
    ok = RunReport("icecast_poller", started_ms=NOW_MS - 5)
    ok.succeed("ice1", listeners=4)
    store.write(report=ok.finish(NOW_MS))
    bad = RunReport("icecast_poller", started_ms=NOW_MS + 30_000)
    bad.fail("ice1", "cannot connect (http://admin:pw@ice1:8000/admin/stats)")
    store.write(report=bad.finish(NOW_MS + 30_001))
    rows = {
        r.source: r for r in parse_status("icecast_poller", store.redis.hgetall(store.keys.status("icecast_poller")))
    }
    ice1 = rows["ice1"]
    assert (ice1.ok, ice1.last_success, ice1.last_error_time) == (False, NOW_MS, NOW_MS + 30_001)
    assert "pw" not in ice1.last_error and "ice1:8000" in ice1.last_error
    assert ice1.counts == {}
    assert rows["_run"].ok is False


def test_redis_down_raises_retriable_and_claims_nothing(base_env):
    env = {**base_env, "REDIS_URL": "redis://127.0.0.1:1/0"}
    store = make_store(env)
    with pytest.raises(RetriableError, match="redis unavailable"):
        store.write(samples=[s(NOW_MS)])


def test_cluster_writes_each_tenant_to_its_slot(redis_cluster, key_prefix):
    env = {"REDIS_URL": redis_cluster.url, "REDIS_CLUSTER": "true", "REDIS_KEY_PREFIX": key_prefix}
    store = make_store(env)
    tenants = [f"tenant-{i}" for i in range(20)]
    store.write(
        samples=[
            s(NOW_MS - j, tenant=t, series=series) for t in tenants for j in range(3) for series in ("icecast", "hls")
        ],
        report=RunReport("test").finish(NOW_MS),
    )
    for t in tenants:
        assert len(store.read_series(t, "icecast")) == 3
        assert sorted(store.series_present(t)) == ["hls", "icecast"]
        assert [x.metrics for x in store.read_series(t, "hls")] == [{"hosts": 1, "listeners": 1}] * 3
    slots = {store.redis.keyslot(store.keys.live_fields(t, "icecast")) for t in tenants}
    assert len(slots) > 1  # spread over the cluster, and each tenant's keys share one slot
    assert (
        len(
            {
                store.redis.keyslot(k)
                for k in (
                    store.keys.live_fields("tenant-1", "icecast"),
                    store.keys.events("tenant-1"),
                    store.keys.hls_hosts("tenant-1"),
                    store.keys.hls_edge_bucket("tenant-1", "edge-1", 5),
                )
            }
        )
        == 1
    )


def test_the_read_example_in_the_schema_doc_reads_what_the_app_writes(base_env):
    """docs/redis-schema.md shows a dashboard's read in plain redis-py: it must stay true."""
    import re

    from tests.helpers import ROOT

    doc = (ROOT / "docs" / "redis-schema.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    namespace = {}
    exec(code.replace("fabrik:", base_env["REDIS_KEY_PREFIX"] + ":"), namespace)  # this test's key prefix
    store = make_store(base_env)
    store.write(
        samples=[s(NOW_MS - 60_000 * i, listeners=i) for i in range(30)]
        + [Sample("acme-fm", "matomo", NOW_MS - 60_000, {"visitors": 3, "visits": 4, "actions": 9})]
    )
    for series in ("icecast", "matomo"):
        expected = [(x.time_ms, dict(x.metrics)) for x in store.read_series("acme-fm", series)]
        assert namespace["read"](store.redis, "acme-fm", series, NOW_MS - 7_200_000, NOW_MS) == expected
        assert expected


def test_hls_reads_survive_a_redis_that_forgot_the_script(base_env):
    """After a restart or a failover Redis no longer knows the read script: it is loaded and the read runs again."""
    store = make_store(base_env)
    store.write(
        samples=[Sample("acme-fm", "hls", NOW_MS - 10_000 * i, {"listeners": 4}, host="edge-1") for i in range(2)]
        + [Sample("acme-fm", "hls", NOW_MS - 10_000 * i, {"listeners": 3}, host="edge-2") for i in range(2)]
    )
    store.redis.script_flush()
    assert [x.metrics for x in store.read_series("acme-fm", "hls")] == [{"hosts": 2, "listeners": 7}] * 2


def _sums_model(messages, stale_ms, low, high):
    """The definition, literally. ``messages``: (edge, time, count or None), None a tick of the
    edge that names no count of this tenant. An edge's ticks make runs wherever two are at most
    ``stale_ms`` apart; at a time t an edge's latest count at or before t stands while t is at
    most ``stale_ms`` after the end of the run the count is in. Evaluated at each reported time,
    each run's end (edges with a count), and ``low`` when nothing was reported in the range; a
    time where nothing stands and nothing was reported is left out."""
    runs = {}
    for edge in {e for e, _, _ in messages}:
        ticks = sorted({t for e, t, _ in messages if e == edge})
        spans = [[ticks[0], ticks[0]]]
        for t in ticks[1:]:
            if t - spans[-1][1] <= stale_ms:
                spans[-1][1] = t
            else:
                spans.append([t, t])
        runs[edge] = spans
    counts = [(e, t, c) for e, t, c in messages if c is not None]
    reported = {t for _, t, _ in counts if low <= t <= high}
    times = set(reported) or {low}
    for edge in {e for e, _, _ in counts}:
        first = min(t for e, t, _ in counts if e == edge)
        times |= {end for _, end in runs[edge] if low <= end <= high and end >= first}
    out = []
    for t in sorted(times):
        latest = {}
        for edge, when, count in counts:
            if when <= t and (edge not in latest or when > latest[edge][0]):
                latest[edge] = (when, count)
        standing = []
        for edge, (when, count) in latest.items():
            end = next(e for s, e in runs[edge] if s <= when <= e)
            if t - end <= stale_ms:
                standing.append(count)
        if standing or t in reported:
            out.append((t, {"hosts": len(standing), "listeners": sum(standing)}))
    return out


def test_hls_sums_follow_the_definition_whatever_the_arrival(base_env):
    """Random counts and bare ticks of three edges (one may fall silent, a count may be sent
    once and stand while its edge ticks), delivered in any order, in any batches, some twice,
    by two writers at once: the read is the definition's sum."""
    import threading

    from hypothesis import given, settings
    from hypothesis import strategies as st

    store = make_store(base_env)
    examples = iter(range(10**6))
    message = st.tuples(
        st.sampled_from(["edge-1", "edge-2", "edge-3"]),
        st.integers(0, 1000).map(lambda k: k * 7_000),
        st.none() | st.integers(0, 5000),
    )

    @settings(max_examples=60, deadline=None)
    @given(
        st.lists(message, min_size=1, max_size=40, unique_by=lambda m: (m[0], m[1])),
        st.randoms(),
        st.data(),
        st.sampled_from([0, 3_600_000, 7_100_000]),
    )
    def check(messages, rng, data, since):
        n = next(examples)  # edges are the platform's: each example has its own
        tenant = f"edges-{n}"
        messages = [(f"{h}-{n}", NOW_MS - 7_100_000 + t, c) for h, t, c in messages]
        arrivals = messages + [m for m in messages if rng.random() < 0.3]  # redeliveries
        rng.shuffle(arrivals)
        cuts = sorted(data.draw(st.sets(st.integers(1, len(arrivals)), max_size=5)))
        batches = [arrivals[a:b] for a, b in zip([0, *cuts], [*cuts, len(arrivals)]) if arrivals[a:b]]
        writers = [batches[0::2], batches[1::2]]  # two partitions' functions, concurrently

        def write(mine):
            for batch in mine:
                store.write(
                    samples=[Sample(tenant, "hls", t, {"listeners": c}, host=h) for h, t, c in batch if c is not None],
                    ticks=[(h, t) for h, t, c in batch if c is None],
                )

        threads = [threading.Thread(target=write, args=(mine,)) for mine in writers]
        [t.start() for t in threads]
        [t.join() for t in threads]
        low = NOW_MS - 7_200_000 + since
        got = [(x.time_ms, dict(x.metrics)) for x in store.read_series(tenant, "hls", since_ms=low)]
        assert got == _sums_model(messages, 30_000, low, NOW_MS)

    check()


def test_a_zero_sent_once_stands_while_its_edge_ticks(base_env):
    """1.1.0 edges send a tenant's zero once: an hour later, the edge still ticking (for other
    tenants or bare), the tenant reads 0 now; when the edge stops, it drops out."""
    store = make_store(base_env)
    start = NOW_MS - 3_600_000
    store.write(samples=[Sample("quiet-fm", "hls", start, {"listeners": 0}, host="edge-q")])
    ticks = [("edge-q", start + 10_000 * i) for i in range(1, 361)]
    store.write(ticks=ticks[:300])  # the edge ticks until ten minutes ago
    recent = store.read_series("quiet-fm", "hls", since_ms=NOW_MS - 1_200_000)
    assert [x.metrics for x in recent] == [{"hosts": 1, "listeners": 0}] * 2  # the window's start, its last tick
    assert recent[-1].time_ms == ticks[299][1]
    assert store.read_series("quiet-fm", "hls", since_ms=NOW_MS - 300_000) == []  # stopped: nothing stands
    store.write(ticks=ticks[300:])
    assert store.read_series("quiet-fm", "hls", since_ms=NOW_MS - 300_000)[-1].time_ms == ticks[-1][1]


def test_late_edges_count_once_they_arrive(base_env):
    """Issue 27.1: three edges report 10, 20 and 30; the third edge's batch is processed after
    the other two. Every time after all three reported reads 60."""
    store = make_store(base_env)
    times = [NOW_MS - 600_000 + 10_000 * i for i in range(50)]
    for edge, count in (("edge-1", 10), ("edge-2", 20)):
        store.write(samples=[Sample("acme-fm", "hls", t, {"listeners": count}, host=edge) for t in times])
    store.write(samples=[Sample("acme-fm", "hls", t, {"listeners": 30}, host="edge-3") for t in times])
    assert {x.metrics["listeners"] for x in store.read_series("acme-fm", "hls")} == {60}


def test_the_store_refuses_the_future_and_reads_end_now(base_env):
    store = make_store(base_env)
    result = store.write(
        samples=[s(NOW_MS + 61_000), s(NOW_MS + 30_000), s(NOW_MS)],
        events=[Event("acme-fm", "play", NOW_MS + 86_400_000, "0", 1, "{}")],
    )
    assert (result.samples, result.too_new) == (2, 2)
    assert [x.time_ms for x in store.read_series("acme-fm", "icecast")] == [NOW_MS]  # +30 s: not shown yet
    later = make_store(base_env, clock=lambda: NOW + 31)
    assert [x.time_ms for x in later.read_series("acme-fm", "icecast")] == [NOW_MS, NOW_MS + 30_000]


def test_hls_sums_at_one_point_per_step_are_the_full_sums_at_those_points():
    """The page's thinned HLS series (one point per 10 s) must be the definition's values at
    the kept times: the last reported time of each step, as the full series has them."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from shared.live.hls_edges import sums

    count = st.integers(0, 50) | st.fixed_dictionaries(
        {"listeners": st.integers(0, 50), "country:DE": st.integers(0, 9)}
    )

    @settings(max_examples=200, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(["e1", "e2", "e3"]),
            st.lists(st.tuples(st.integers(0, 400_000), count), max_size=30, unique_by=lambda c: c[0]),
        ),
        st.dictionaries(
            st.sampled_from(["e1", "e2", "e3"]),
            st.lists(st.tuples(st.integers(0, 400_000), st.integers(0, 60_000)), max_size=4),
        ),
        st.integers(0, 200_000),
    )
    def check(edges, raw_spans, low):
        edges = {e: sorted(c) for e, c in edges.items()}
        alive = {e: sorted((a, a + d) for a, d in spans) for e, spans in raw_spans.items()}
        full = dict(sums(edges, alive=alive, stale_ms=30_000, low_ms=low, high_ms=400_000))
        thinned = sums(edges, alive=alive, stale_ms=30_000, low_ms=low, high_ms=400_000, step_ms=10_000)
        kept = {}
        for when in full:
            kept[when // 10_000] = max(kept.get(when // 10_000, when), when)
        assert [t for t, _ in thinned] == sorted(t for t in kept.values() if t in full)
        assert all(full[t] == metrics for t, metrics in thinned)

    check()
