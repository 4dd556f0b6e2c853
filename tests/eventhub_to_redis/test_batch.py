"""process_batch is pure: every message lands in exactly one place and is counted once, per partition."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from eventhub_to_redis.batch import process_batch
from eventhub_to_redis.validate import Position, Rejection
from shared.live.store import Event, Sample

CUTOFF = 1_000_000
messages = st.lists(
    st.tuples(
        st.sampled_from(["0", "1", "7"]),
        st.integers(0, 10**9),
        st.sampled_from(["event", "old-event", "hls", "bad"]),
        st.none() | st.integers(0, 2 * CUTOFF),
    ),
    max_size=60,
)


def classify(kind: str, position: Position):
    if kind == "bad":
        return Rejection(position=position, reason="bad", body=b"x")
    if kind == "hls":
        return Sample(tenant="t", series="hls", time_ms=CUTOFF, metrics={"listeners": 1}, host="e")
    time_ms = CUTOFF - 1 if kind == "old-event" else CUTOFF
    return Event("t", "app.play", time_ms, position.partition, position.sequence, "{}")


@given(messages, st.lists(st.tuples(st.sampled_from(["0", "9"]), st.integers(0, 100)), max_size=5))
def test_each_message_is_counted_once_in_its_partition(items, early):
    rejected = [Rejection(position=Position(p, s), reason="unreadable line", body=b"") for p, s in early]
    batch = process_batch(
        [(kind, Position(p, s, enqueued_ms=e)) for p, s, kind, e in items],
        classify=classify,
        cutoff_ms=CUTOFF,
        rejected=rejected,
    )
    assert len(batch.events) + len(batch.samples) + len(batch.rejected) == len(items) + len(early)
    per_partition = Counter(p for p, *_ in items) + Counter(p for p, _ in early)
    rolling = batch.rolling()
    assert {p: r["messages"] for p, r in rolling.items()} == dict(per_partition)
    for partition, counts in batch.outcomes(now_ms=2 * CUTOFF).items():
        mine = [(s, k, e) for p, s, k, e in items if p == partition]
        kinds = Counter(k for _, k, _ in mine)
        assert counts["events"] == kinds["event"] and counts.get("too_old", 0) == kinds["old-event"]
        assert counts["hls"] == kinds["hls"]
        assert counts["deadlettered"] == kinds["bad"] + sum(1 for p, _ in early if p == partition)
        assert counts["last_sequence"] == max([s for s, _, _ in mine] + [s for p, s in early if p == partition])
        enqueued = [e for _, _, e in mine if e is not None]
        assert counts.get("lag_ms") == (2 * CUTOFF - max(enqueued) if enqueued else None)
