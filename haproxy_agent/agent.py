"""One tick: read the table, count per tenant, send one ``hls.listeners`` message per tenant.

A tick never raises: a bad socket answer or a failed send is logged and the next tick runs.
Tenants that were counted before (or are configured) and have no entries now get a 0, so a
dashboard sees listeners drop to zero instead of the last count lingering.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from haproxy_agent.config import AgentConfig
from haproxy_agent.errors import AgentError
from haproxy_agent.runtime_api import command
from haproxy_agent.senders import Sender
from haproxy_agent.table import parse_show_table
from shared.privacy.geoip import country_metrics

log = logging.getLogger("haproxy_agent")
FULL_SHARE = 0.9  # warn from 90 % full


@dataclass
class Agent:
    config: AgentConfig
    sender: Sender
    clock: Callable[[], float] = time.time
    query: Callable[[str, str], str] = command
    known: set[str] = field(default_factory=set)

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
        tenants = set(counts.listeners) | self.known | set(self.config.tenants)
        if not self.config.any_tenant:
            unknown = {t: n for t, n in counts.listeners.items() if t not in self.config.tenants}
            if unknown:
                log.info(
                    "unknown: %d listeners under %d paths that are not tenants (not sent)",
                    sum(unknown.values()),
                    len(unknown),
                )
            tenants &= set(self.config.tenants)
        when = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc).isoformat(timespec="milliseconds")
        when = when.replace("+00:00", "Z")
        messages = [
            {
                "type": "hls.listeners",
                "tenant": t,
                "time": when,
                "listeners": counts.listeners.get(t, 0),
                "host": self.config.host,
            }
            for t in sorted(tenants)
        ]
        if self.config.geoip is not None:  # addresses stay here: only counts per country are sent
            for message in messages:
                message["countries"] = countries_of(self.config.geoip, counts.clients.get(message["tenant"], []))
        self.known = {t for t in tenants if counts.listeners.get(t, 0) > 0}
        if not messages:
            return []
        try:
            self.sender.send(messages)
        except AgentError as exc:
            log.error("%s", exc)
            return None
        log.info("sent %d tenants, %d listeners", len(messages), sum(m["listeners"] for m in messages))
        return messages

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


def countries_of(geoip: object, clients: list[str]) -> dict[str, int]:
    """``{"DE": 12, "other": 3, "unknown": 1}``: the top countries of a tenant's listeners (the
    message's ``countries``), from the table's client addresses. The keys in the table are the
    addresses as HAProxy saw them (``src``), IPv4 or IPv6."""

    metrics = country_metrics(geoip.countries(clients), top=geoip.top)  # type: ignore[attr-defined]
    return {key.removeprefix("country:"): value for key, value in metrics.items()}
