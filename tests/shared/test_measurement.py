"""Issue 36: the counting rules against the truth. Simulated audiences with known sessions
(arrivals, durations, bots, relays) are polled at irregular times; what the rules make of the
snapshots must equal what the sessions themselves say, within one poll interval."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.core.measurement import AQH_SECONDS, QUALIFY_SECONDS, QUARTER_SECONDS, SessionTally

START = 1_796_000_400  # a quarter hour's start (epoch seconds)

sessions = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 200), st.integers(0, 3000)),  # start, seconds after START
        st.integers(1, 2400),  # duration
        st.sampled_from(["player", "player", "browser", "app", "bot", "relay"]),
    ),
    max_size=40,
)
gaps = st.lists(st.integers(5, 120), min_size=1, max_size=60)


def poll_all(audience, gaps):
    """The tallies of polls at START + cumulative gaps; each sees the sessions alive then."""
    polls, now, previous = [], START, None
    for gap in gaps:
        now += gap
        tally = SessionTally(now_s=now, interval_s=now - previous if previous else 30)
        for start, duration, kind in audience:
            if START + start <= now < START + start + duration:
                tally.add(kind, now - START - start)
        polls.append((now, tally.metrics()))
        previous = now
    return polls


@settings(max_examples=300, deadline=None)
@given(sessions, gaps)
@example([(0, 2000, "player")], [120, 30])  # qualified before the first sample: not a start
def test_every_metric_equals_the_truth_of_the_sessions(audience, gaps):
    check_truth(audience, gaps, poll_all(audience, gaps))


def check_truth(audience, gaps, polls):
    """``polls`` ([(time, metrics)] at START + cumulative ``gaps``) against what ``audience``
    ([(start, duration, kind)]) says, each metric by its definition (docs/measurement.md)."""
    people = [(START + s, START + s + d) for s, d, kind in audience if kind not in ("bot", "relay")]
    times = [t for t, _ in polls]
    max_gap = max(gaps)
    for now, metrics in polls:
        alive = [(s, e) for s, e in people if s <= now < e]
        assert metrics["active_sessions"] == sum(1 for s, _ in alive if now - s >= QUALIFY_SECONDS)
        assert metrics["excluded:short"] == sum(1 for s, _ in alive if now - s < QUALIFY_SECONDS)
        quarter = now - now % QUARTER_SECONDS
        assert metrics["aqh_persons"] == sum(
            1 for s, _ in alive if now - s >= QUALIFY_SECONDS and now - max(s, quarter) >= AQH_SECONDS
        )
        for kind in ("bot", "relay"):
            assert metrics[f"excluded:{kind}"] == sum(
                1 for s, d, k in audience if k == kind and START + s <= now < START + s + d
            )
    # The first sample measures from one default interval (30 s) before it: what qualified
    # earlier started before the measurement did.
    begin = times[0] - 30
    observed = [(s, e, [t for t in times if s + QUALIFY_SECONDS <= t < e]) for s, e in people]
    observed = [(s, e, seen, s + QUALIFY_SECONDS > begin) for s, e, seen in observed if seen]
    # Each qualifying session is started once, in the first poll that sees it qualified ...
    assert sum(m["session_starts"] for _, m in polls) == sum(1 for *_, started in observed if started)
    # ... and one that lived a full poll interval past its first minute is never missed.
    assert len(observed) >= sum(
        1
        for s, e in people
        if e - (s + QUALIFY_SECONDS) > max_gap and times[0] <= s + QUALIFY_SECONDS <= times[-1] - max_gap
    )
    # Listening seconds: each observed session's time up to the last poll that saw it, whole
    # (from the measurement's beginning for one that qualified before it).
    expected = sum(seen[-1] - (s if started else begin) for s, e, seen, started in observed)
    assert sum(m["listening_seconds"] for _, m in polls) == expected
    truth = sum(min(e, times[-1]) - (s if started else begin) for s, e, _, started in observed)  # the sessions' TLH
    assert truth - len(observed) * max_gap <= expected <= truth


def test_a_session_is_credited_to_a_quarter_hour_after_five_minutes_in_it():
    quarter = START + 15 * 60
    before = SessionTally(now_s=quarter + AQH_SECONDS - 1, interval_s=30)
    before.add("player", 3600)  # an hour in, but only 299 s of this quarter
    after = SessionTally(now_s=quarter + AQH_SECONDS, interval_s=30)
    after.add("player", 3600)
    after.add("player", AQH_SECONDS - 1)  # joined inside the quarter, 1 s short
    assert (before.metrics()["aqh_persons"], after.metrics()["aqh_persons"]) == (0, 1)
