"""The industry's counting rules, once, for every source (docs/measurement.md).

Triton Webcast Metrics, Live365, SoundStack and the IAB's guidelines count a listener only
after a session of one minute, bots out; Nielsen credits a person to a clock quarter hour
(:00, :15, :30, :45) after 5 minutes in it. Applied here to what a poll sees of each session
alive now: its kind (shared.core.user_agents) and how long it has been connected. No
per-listener state is kept between polls: a session that is ``d`` seconds old now and was
``d - interval`` seconds old at the previous sample tells everything below.

* ``active_sessions``: alive, at least ``QUALIFY_SECONDS`` (60) old, not a bot or a relay;
* ``session_starts``: of those, the ones that reached 60 s since the previous sample (each
  session is counted once, in the sample in which it qualifies);
* ``listening_seconds``: what qualifying sessions listened since the previous sample: the
  whole session so far for one that just qualified (its first minute counts, as Triton's TLH
  counts whole qualifying sessions), else the interval. Summed over a window and divided by
  3,600 it is the window's listening hours (TLH). A session that ended since the previous
  sample is not seen: its last part (less than one interval) is not counted;
* ``aqh_persons``: qualifying sessions with at least ``aqh_seconds`` (300) inside the current
  clock quarter hour (a session is taken for a person: no de-duplication across devices);
* ``excluded:bot``, ``excluded:relay``, ``excluded:short`` (alive, under 60 s): what is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

QUALIFY_SECONDS = 60
AQH_SECONDS = 300
QUARTER_SECONDS = 900
METRICS = (
    "active_sessions",
    "session_starts",
    "listening_seconds",
    "aqh_persons",
    "excluded:bot",
    "excluded:relay",
    "excluded:short",
)


@dataclass
class SessionTally:
    """One tenant's sessions of one poll, counted by the rules above.

    ``now_s``: the poll's time (epoch seconds); ``interval_s``: seconds since the previous
    sample of the series (the schedule's interval for a first sample)."""

    now_s: float
    interval_s: float
    aqh_seconds: int = AQH_SECONDS
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))

    def add(self, kind: str, connected_s: int | None) -> None:
        """One session alive now: its client kind and its age in seconds (None: unknown age,
        counted only as excluded when a bot or relay)."""
        counts = self.counts
        if kind == "bot":
            counts["excluded:bot"] += 1
        elif kind == "relay":
            counts["excluded:relay"] += 1
        elif connected_s is None:
            return
        elif connected_s < QUALIFY_SECONDS:
            counts["excluded:short"] += 1
        else:
            counts["active_sessions"] += 1
            if connected_s - self.interval_s < QUALIFY_SECONDS:
                counts["session_starts"] += 1
                counts["listening_seconds"] += connected_s
            else:
                counts["listening_seconds"] += int(self.interval_s)
            in_quarter = min(connected_s, self.now_s % QUARTER_SECONDS)
            if in_quarter >= self.aqh_seconds:
                counts["aqh_persons"] += 1

    def metrics(self) -> dict[str, int]:
        return dict(self.counts)


HLS_METRICS = tuple(m for m in METRICS if m != "excluded:relay")  # an edge has no relays


@dataclass
class HlsSessions:
    """HLS sessions on an edge, by the same rules, from the table's entries at each tick.

    An HLS player holds no connection: a session is one client's stick-table entry (its
    address's /64 and a hash of its User-Agent, IAB's de-duplication), alive while it fetches
    within the table's expiry. Its listened time is what it fetched, ``segments ×
    segment_seconds`` (a client fetching only playlists listens to nothing and never qualifies);
    it qualifies at 60 s listened **and** 60 s since its first request. The edge keeps, per
    entry, what it listened at the previous tick (in memory only: the key holds the address).
    """

    segment_seconds: float = 6.0
    aqh_seconds: int = AQH_SECONDS
    seen: dict[str, tuple[int, bool]] = field(default_factory=dict)  # entry key -> (listened s, qualified)

    def tick(self, entries: "list", now_s: float) -> dict[str, dict[str, int]]:
        """Per tenant, the session metrics of this tick (``entries``: haproxy_agent.table.Entry)."""
        out: dict[str, dict[str, int]] = {}
        seen: dict[str, tuple[int, bool]] = {}
        quarter_s = now_s % QUARTER_SECONDS
        for entry in entries:
            counts = out.setdefault(entry.tenant, dict.fromkeys(HLS_METRICS, 0))
            if entry.bot:
                counts["excluded:bot"] += 1
                continue
            age = now_s - entry.first_seen_s
            listened = int(entry.segments * self.segment_seconds)
            before, was_qualified = self.seen.get(entry.key, (0, False))
            qualified = age >= QUALIFY_SECONDS and listened >= QUALIFY_SECONDS
            seen[entry.key] = (listened, qualified)
            if not qualified:
                counts["excluded:short"] += 1
                continue
            counts["active_sessions"] += 1
            if was_qualified:
                counts["listening_seconds"] += max(0, listened - before)
            else:
                counts["session_starts"] += 1
                counts["listening_seconds"] += listened
            if min(age, quarter_s) >= self.aqh_seconds:
                counts["aqh_persons"] += 1
        self.seen = seen  # an entry gone from the table is a session that ended
        return out
