"""One tick: read the table, count per tenant, send the whole tick as one ``hls.tick`` message.

A tick never raises: a bad socket answer or a failed send is logged and the next tick runs.
A message holds the tenants with listeners, and a tenant once when it drops to zero (and every
configured tenant on the first tick, so a restart clears what the edge said before): the
reader keeps an edge's last count while the edge ticks (docs/eventhub-messages.md), so zeros
need not be repeated. Messages stay per edge, not per tenant: at 500 stations × 20 edges the
1.0.0 form sent 1,000 messages a second, this one 2 (docs/benchmarks.md). A tick too large
for one message (``MESSAGE_BYTES``) goes as several with the same time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from haproxy_agent.config import AgentConfig
from haproxy_agent.errors import AgentError
from haproxy_agent.runtime_api import command
from haproxy_agent.senders import Sender
from haproxy_agent.table import TableCounts, parse_show_table
from shared.core.measurement import HlsSessions
from shared.privacy.geoip import country_metrics

log = logging.getLogger("haproxy_agent")
FULL_SHARE = 0.9  # warn from 90 % full
MESSAGE_BYTES = 60_000  # under eventhub_to_redis's EVENT_MAX_BYTES default (65,536)


@dataclass
class Agent:
    config: AgentConfig
    sender: Sender
    clock: Callable[[], float] = time.time
    query: Callable[[str, str], str] = command
    known: set[str] = field(default_factory=set)  # tenants last sent with listeners
    started: bool = False  # a first tick was sent
    sessions: HlsSessions | None = None  # the session rules' memory (per entry, in memory only)

    def __post_init__(self) -> None:
        if self.sessions is None:
            self.sessions = HlsSessions(
                segment_seconds=self.config.segment_seconds, aqh_seconds=self.config.aqh_seconds
            )

    def tick(self) -> list[dict] | None:
        """Returns the messages sent, or None when nothing could be read or sent."""
        try:
            answer = self.query(self.config.socket, f"show table {self.config.table}")
            counts = parse_show_table(
                answer, separator=self.config.key_separator, keep_clients=self.config.geoip is not None
            )
        except AgentError as exc:
            log.error("reading table %s: %s", self.config.table, exc)
            return None
        self._warn_about(counts)
        counted = self._tenants_of(counts)
        dropped = self.known - set(counted) if self.started else set(self.config.tenants) - set(counted)
        now = self.clock()
        entries = self._entries(counts, counted, dropped, now)
        when = dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(timespec="milliseconds")
        messages = tick_messages(self.config.host, when.replace("+00:00", "Z"), entries)
        try:
            self.sender.send(messages)
        except AgentError as exc:
            log.error("%s", exc)
            return None
        self.known, self.started = set(counted), True
        log.info(
            "sent %d tenants (%d dropped to 0), %d listeners in %d messages",
            len(entries),
            len(dropped),
            sum(counted.values()),
            len(messages),
        )
        return messages

    def _warn_about(self, counts: TableCounts) -> None:
        """Entries that cannot be counted, and a table about to evict listeners."""
        if counts.skipped:
            log.warning(
                "%d entries of %s have no '<tenant>%s<client>' key; not counted",
                counts.skipped,
                self.config.table,
                self.config.key_separator,
            )
        if counts.size and counts.used is not None and counts.used >= FULL_SHARE * counts.size:
            log.warning(
                "table %s is %d%% full (%d of %d entries): HAProxy evicts the oldest when it is full, so "
                "listeners go uncounted; raise its size",
                self.config.table,
                100 * counts.used // counts.size,
                counts.used,
                counts.size,
            )

    def _tenants_of(self, counts: TableCounts) -> dict[str, int]:
        """Listeners of the tenants this edge sends (paths that are not tenants only logged)."""
        counted = {t: n for t, n in counts.listeners.items() if n > 0}
        if self.config.any_tenant:
            return counted
        unknown = {t: n for t, n in counted.items() if t not in self.config.tenants}
        if unknown:
            log.info(
                "unknown: %d listeners under %d paths that are not tenants (not sent)",
                sum(unknown.values()),
                len(unknown),
            )
        return {t: n for t, n in counted.items() if t in self.config.tenants}

    def _entries(self, counts: TableCounts, counted: dict[str, int], dropped: set[str], now: float) -> dict[str, dict]:
        """Each tenant's entry: listeners, its sessions (shared.core.measurement, from the 1.1.0
        snippet's entries) and its countries (only counts leave: the addresses stay here)."""
        sessions = self.sessions.tick(counts.sessions, now) if counts.sessions else {}
        entries = {t: {"listeners": counted.get(t, 0), **sessions.get(t, {})} for t in sorted(set(counted) | dropped)}
        if self.config.geoip is not None:
            for tenant, entry in entries.items():
                if entry["listeners"]:
                    entry["countries"] = countries_of(self.config.geoip, counts.clients.get(tenant, []))
            if self.config.geoip.problem:
                log.warning("%s", self.config.geoip.problem)
        return entries

    def check_reload_handover(self) -> bool:
        """Warn when a reload would empty the table, as the dashboard would otherwise show a dip per reload.

        HAProxy hands a table to the new process on reload only through a peers section the table
        is shared with (the snippet's local peer); ``show peers`` lists the tables that are.
        """
        try:
            answer = self.query(self.config.socket, "show peers")
        except AgentError as exc:
            log.error("reading the peers section: %s", exc)
            return False
        if f" id={self.config.table} " in answer:
            return True
        log.warning(
            "table %s is not shared with a peers section: every HAProxy reload empties it and listeners "
            "count from zero for up to one playlist refresh; add the snippet's localpeer and peers lines",
            self.config.table,
        )
        return False

    def run_forever(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        next_tick = time.monotonic()
        while not stop():
            self.tick()
            next_tick += self.config.interval_seconds
            time.sleep(max(0.0, next_tick - time.monotonic()))


def tick_messages(host: str, when: str, entries: dict[str, dict], *, limit: int = MESSAGE_BYTES) -> list[dict]:
    """The tick as ``hls.tick`` messages of at most ``limit`` bytes each (one, unless a few
    thousand tenants or their countries need more); one with no tenant when there are none."""
    messages: list[dict] = []
    part: dict[str, dict] = {}
    size = base = len(json.dumps({"type": "hls.tick", "host": host, "time": when, "tenants": {}}))
    for tenant, entry in entries.items():
        grows = len(json.dumps({tenant: entry}, separators=(",", ":")))
        if part and size + grows > limit:
            messages.append({"type": "hls.tick", "host": host, "time": when, "tenants": part})
            part, size = {}, base
        part[tenant] = entry
        size += grows
    messages.append({"type": "hls.tick", "host": host, "time": when, "tenants": part})
    return messages


def countries_of(geoip: object, clients: list[str]) -> dict[str, int]:
    """``{"DE": 12, "other": 3, "unknown": 1}``: the top countries of a tenant's listeners (the
    message's ``countries``), from the table's client addresses. The keys in the table are the
    addresses as HAProxy saw them (``src``), IPv4 or IPv6."""

    metrics = country_metrics(geoip.countries(clients), top=geoip.top)  # type: ignore[attr-defined]
    return {key.removeprefix("country:"): value for key, value in metrics.items()}
