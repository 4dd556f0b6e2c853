"""Events counted per type and minute: right under redeliveries and trimming, and a read whose
work in Redis does not grow with the event log (issue 35: paging the log inside one script cost
Redis 4.95 s at 200,000 events and answered every other client BUSY meanwhile)."""

import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.clients.redis_client import connect
from shared.core.settings import load_store_settings
from shared.live.store import Event, LiveStore

NOW = 1_800_000_000.0
NOW_MS = int(NOW * 1000)
WINDOW_MS = 600_000


def make_store(env, clock):
    settings = load_store_settings({**env, "LIVE_WINDOW_SECONDS": str(WINDOW_MS // 1000)})
    return LiveStore(connect(settings), settings=settings, clock=clock)


def truth(stored, *, low, high):
    """Counts computed independently of the store: each distinct position once, per minute, for
    the minutes that start in ``[low, high]`` (a minute that has started counts its events
    stamped ahead of now too)."""
    per: dict[str, dict[int, int]] = {}
    for (_partition, _sequence), (kind, t) in stored.items():
        minute = t // 60_000 * 60_000
        if low <= minute <= high:
            per.setdefault(kind, {})
            per[kind][minute] = per[kind].get(minute, 0) + 1
    return {k: sorted([m, n] for m, n in v.items()) for k, v in per.items()}


def test_counts_equal_the_truth_under_redeliveries_late_events_and_trimming(base_env):
    tenants = iter(range(10**6))
    event = st.tuples(
        st.sampled_from(["app.play", "app.stop", "a:b-c_d"]),
        st.integers(0, 3),  # partition
        st.integers(0, 40),  # sequence: the same position again is a redelivery
        st.integers(-WINDOW_MS - 120_000, 30_000),  # time relative to the write's clock
    )

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 400_000), st.lists(event, max_size=12)), min_size=1, max_size=5))
    def check(runs):
        tenant = f"counts-{next(tenants)}"
        clock = [NOW]
        store = make_store(base_env, lambda: clock[0])
        stored: dict = {}  # position -> (type, time): what the log holds
        for advance, batch in runs:
            clock[0] += advance / 1000
            now_ms = int(clock[0] * 1000)
            named = dict(stored)  # a position names one event: a redelivery carries the same type and time
            events = []
            for kind, p, seq, dt in batch:
                if named.setdefault((str(p), seq), (kind, now_ms + dt)) == (kind, now_ms + dt):
                    events.append(Event(tenant, kind, now_ms + dt, str(p), seq, "{}"))
            store.write(events=events)
            for e in events:
                if now_ms - WINDOW_MS <= e.time_ms:
                    stored.setdefault((e.partition, e.sequence), (e.type, e.time_ms))
            stored = {k: v for k, v in stored.items() if v[1] >= now_ms - WINDOW_MS}
        now_ms = int(clock[0] * 1000)
        _, counts, _ = store.read_tenant(tenant, [], counts=True)
        expected = truth(stored, low=now_ms - WINDOW_MS, high=now_ms)
        assert counts.per_minute == expected
        assert counts.total == sum(n for pairs in expected.values() for _, n in pairs)
        assert not counts.truncated

    check()


def test_a_read_does_not_touch_the_event_log(base_env, key_prefix):
    """The counts come from counters written with the events: reading them runs no script and
    no command on the log, so its work is the same at 20 or 20,000 events."""
    store = make_store(base_env, lambda: NOW)
    for start in range(0, 20_000, 5_000):
        store.write(
            events=[Event("busy-fm", "app.play", NOW_MS - i * 20, "0", i, "{}") for i in range(start, start + 5_000)]
        )
    admin = redis.Redis.from_url(base_env["REDIS_URL"])
    admin.config_resetstat()
    _, counts, _ = store.read_tenant("busy-fm", [], counts=True)
    used = {k.removeprefix("cmdstat_") for k in admin.info("commandstats")}
    assert counts.total == 20_000  # 400 s of events, all inside the window
    assert not used & {"evalsha", "eval", "zrangebyscore", "zrevrangebyscore", "zrange", "zcount"}, used


def test_counts_after_an_upgrade_say_they_start_late(base_env, key_prefix):
    """An event log written by 1.0.0 has no counters: its events are not counted, and the answer
    says so (``truncated``) until they have left the window."""
    clock = [NOW]
    store = make_store(base_env, lambda: clock[0])
    client = redis.Redis.from_url(base_env["REDIS_URL"])
    client.zadd(store.keys.events("old-fm"), {'{"partition":"0","sequence":1,"type":"x","time":1}\n{}': NOW_MS - 1000})
    store.write(events=[Event("old-fm", "app.play", NOW_MS, "0", 2, "{}")])
    _, counts, _ = store.read_tenant("old-fm", [], counts=True)
    assert counts.total == 1 and counts.truncated
    clock[0] += WINDOW_MS / 1000 + 1
    store.write(events=[Event("old-fm", "app.play", int(clock[0] * 1000), "0", 3, "{}")])
    _, counts, _ = store.read_tenant("old-fm", [], counts=True)
    assert counts.total == 1 and not counts.truncated


def test_a_read_that_times_out_is_not_sent_again(base_env):
    """A timed-out read may still be running in Redis: sending it again doubled the load of a
    Redis that was already too busy to answer (1.0.0 re-sent the counting script after 5 s)."""
    from urllib.parse import urlsplit

    from shared.core.errors import RetriableError
    from tests.faulty import HoldingProxy

    proxy = HoldingProxy(urlsplit(base_env["REDIS_URL"]).port, marker=b"EVALSHA")
    try:
        env = {**base_env, "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0"}
        settings = load_store_settings(env)
        store = LiveStore(connect(settings, socket_timeout=0.5), settings=settings, clock=lambda: NOW)
        try:
            store.read_tenant("acme-fm", ["hls"])  # the HLS edges are read by a script
        except RetriableError:
            pass
        assert proxy.held == 1
    finally:
        proxy.close()
