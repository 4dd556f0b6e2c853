"""Parse the runtime API's ``show table <name>`` answer and count listeners per tenant. Pure.

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
        entry = _entry(line)
        if entry is None:
            counts.skipped += 1
            continue
        tenant, sep, client = _unescape(entry).partition(separator)
        if not sep or not client or not TENANT.fullmatch(tenant):
            counts.skipped += 1
            continue
        counts.listeners[tenant] += 1
        if keep_clients:
            counts.clients.setdefault(tenant, []).append(client)
    if not saw_header:
        raise BadAnswer("empty answer (is this a HAProxy stats socket?)")
    return counts


def _entry(line: str) -> str | None:
    """The raw (still escaped) key of one entry line, or None if the line is not an entry."""
    head, sep, rest = line.partition(": ")
    if not sep or not head.startswith("0x"):
        return None
    for token in _TOKEN.findall(rest):
        if token.startswith("key="):
            return token[4:]
    return None


def _unescape(key: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "e": "\x1b"}.get(m.group(1), m.group(1)), key)
