"""Parse the runtime API's ``show table <name>`` answer: listeners per tenant, and each entry's
session (first seen, segments, bot) when the table stores them (the 1.1.0 snippet). Pure.

Format (haproxy src/stick_table.c): a header ``# table: <name>, type: <t>, size:<n>, used:<n>``,
then one line per entry, ``<ptr>: key=<key> use=<n> exp=<ms> [shard=<n>] <store>=<v> ...``
with store columns in the table's order (rates as ``name(<period>)=v``), then an empty line.
Keys are escaped by ``dump_text``: space as ``\\ ``, ``=`` as ``\\=``, backslash as ``\\\\``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from haproxy_agent.errors import BadAnswer

TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch
_HEADER = re.compile(r"^# table: (?P<name>[^,]*), type: (?P<type>[^,]*), size:(?P<size>\d+), used:(?P<used>\d+)")
_TOKEN = re.compile(r"(?:\\.|[^ \\])+")


@dataclass
class TableCounts:
    """Distinct listeners per tenant, and what could not be counted."""

    table: str | None = None
    used: int | None = None  # entries HAProxy says the table holds
    size: int | None = None  # entries it can hold: when full, HAProxy evicts the oldest
    listeners: Counter = field(default_factory=Counter)
    skipped: int = 0  # entries whose key is not ``<tenant><sep><client>`` with a valid tenant
    clients: dict[str, list[str]] = field(default_factory=dict)  # tenant -> addresses (only when asked)
    sessions: list["Entry"] = field(default_factory=list)  # entries that carry session data (gpt0)


@dataclass(frozen=True)
class Entry:
    """One client's entry of the 1.1.0 snippet: ``<tenant>|<address /64>|<hash of its User-Agent>``
    with ``gpt0`` (first request, epoch s), ``gpc0`` (segments fetched) and ``gpc1`` (1: a bot)."""

    tenant: str
    key: str  # the whole key, in memory only: the address never leaves the edge
    first_seen_s: int
    segments: int
    bot: bool


def parse_show_table(text: str, *, separator: str = "|", keep_clients: bool = False) -> TableCounts:
    """Count entries per tenant; with ``keep_clients`` also list each tenant's client addresses
    (for the country lookup, in memory only). Raises BadAnswer for an error or a table we may not read."""
    counts = TableCounts()
    saw_header = False
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            header = _HEADER.match(line)
            if header:
                saw_header = True
                counts.table, counts.used, counts.size = header["name"], int(header["used"]), int(header["size"])
            elif "insufficient privileges" in line:
                raise BadAnswer("the stats socket's level cannot read table contents; use 'level operator'")
            continue
        if not saw_header:
            raise BadAnswer(f"HAProxy answered: {line.strip()[:120]}")
        found = _entry(line)
        if found is None:
            counts.skipped += 1
            continue
        raw, data = found
        key = _unescape(raw)
        tenant, sep, client = key.partition(separator)
        client = client.split(separator, 1)[0]  # 1.1.0: "<address>|<agent hash>"; 1.0.0: "<address>"
        if not sep or not client or not TENANT.fullmatch(tenant):
            counts.skipped += 1
            continue
        counts.listeners[tenant] += 1
        if keep_clients:
            counts.clients.setdefault(tenant, []).append(client)
        if "gpt0" in data and data["gpt0"] > 0:
            counts.sessions.append(Entry(tenant, key, data["gpt0"], data.get("gpc0", 0), data.get("gpc1", 0) > 0))
    if not saw_header:
        raise BadAnswer("empty answer (is this a HAProxy stats socket?)")
    return counts


def _entry(line: str) -> tuple[str, dict[str, int]] | None:
    """The raw (still escaped) key of one entry line and its whole-number data columns
    (``gpt0=…``, ``gpc0=…``), or None if the line is not an entry."""
    head, sep, rest = line.partition(": ")
    if not sep or not head.startswith("0x"):
        return None
    key, data = None, {}
    for token in _TOKEN.findall(rest):
        name, eq, value = token.partition("=")
        if name == "key" and key is None:
            key = value
        elif eq and value.lstrip("-").isdigit():
            data[name] = int(value)
    return (key, data) if key is not None else None


def _unescape(key: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "e": "\x1b"}.get(m.group(1), m.group(1)), key)
