"""HAProxy access log lines -> privacy-safe JSON records. Pure: a line in, a record out.

Two formats are understood (docs in haproxy_agent/README.md):

* the shipped snippet's ``log-format`` (haproxy-hls.cfg)::

    fabrik-hls 1795860900.123 203.0.113.7 200 18800 41 acme-fm "/acme-fm/live/seg1.ts" "VLC/3.0" "198.51.100.4"

  (epoch seconds and milliseconds: no time zone to guess);

* HAProxy's default HTTP format (``option httplog``)::

    203.0.113.7:53532 [28/Nov/2026:10:15:00.123] fe_hls be/srv 0/0/0/1/41 200 18800 - - ---- 1/1/0/0/0 0/0 "GET /acme-fm/live/seg1.ts HTTP/1.1"

(its time is the HAProxy host's local time: run HAProxy in UTC), each optionally behind a syslog header (``<134>Nov 28 10:15:00 edge1 haproxy[123]: ``).

Every address (client, forwarded-for) becomes the collectors' keyed hash (``IDENTITY_HASH_KEY``),
ports are dropped, and every other text field is scanned for address-shaped text too. A line
that matches neither format is kept as ``{"unparsed": ...}`` with every address-shaped token
hashed: never shipped raw, never the end of the file.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shared.identity import IdentityHasher
from shared.privacy import hash_address, scrub_text

# HAProxy's %{+Q} wraps a value in quotes but leaves quotes inside a captured header as they
# are (seen on 2.6): the path and X-Forwarded-For hold none, so the User-Agent is whatever
# lies between them.
FABRIK = re.compile(r"fabrik-hls (?P<time>\d{1,12}\.\d{3}) (?P<client>\S+) (?P<status>-?\d+) (?P<bytes>\d+) (?P<duration>-?\d+) "
                    r'(?P<tenant>\S*) "(?P<path>[^"]*)" "(?P<agent>.*)" "(?P<forwarded>[^"]*)"$')
DEFAULT = re.compile(r"(?P<client>\S+):\d+ \[(?P<time>[^\]]+)\] (?P<frontend>\S+) (?P<backend>\S+) "
                     r"(?P<timers>-?\d+/-?\d+/-?\d+/-?\d+/(?P<duration>-?\d+)) (?P<status>-?\d+) (?P<bytes>\d+) "
                     r'\S+ \S+ \S+ \S+ \S+(?: \{[^}]*\})* "(?P<request>.*)"$')
SYSLOG = re.compile(r"^(?:<\d+>)?(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ )?\S+?(?:\[\d+\])?: ")
TIME = "%d/%b/%Y:%H:%M:%S.%f"


MAX_LINE = 1024 * 1024  # an access log line is a few hundred bytes; longer is garbage, kept cut


def parse(line: str, hasher: IdentityHasher) -> tuple[dict[str, Any], dt.datetime | None]:
    """``(record, time)``; time None for a line that could not be parsed."""
    text = line.rstrip("\r\n")
    if len(text) > MAX_LINE:
        cut = len(text) - MAX_LINE
        return {"unparsed": scrub_text(text[:MAX_LINE], hasher), "truncated_chars": cut}, None
    header = SYSLOG.match(text[:300])  # bounded: the pattern backtracks on long runs without spaces
    body = text[header.end():] if header and not text.startswith("fabrik-hls ") else text
    match = FABRIK.match(body)
    if match:
        path, agent, forwarded = match["path"], match["agent"], match["forwarded"]
        record = {"format": "fabrik", "tenant": match["tenant"] if match["tenant"] not in ("", "-") else None,
                  "status": int(match["status"]),
                  "bytes": int(match["bytes"]), "duration_ms": int(match["duration"])}
        return _finish(record, match["time"], match["client"], path, agent, forwarded, hasher)
    match = DEFAULT.match(body)
    if match:
        request = match["request"]
        method, _, rest = request.partition(" ")
        path = rest.rsplit(" ", 1)[0] if " HTTP/" in rest else rest
        tenant = path.split("/")[1] if path.count("/") >= 2 else None
        record = {"format": "httplog", "tenant": tenant or None, "status": int(match["status"]),
                  "bytes": int(match["bytes"]), "duration_ms": int(match["duration"]), "method": method,
                  "frontend": match["frontend"], "backend": match["backend"]}
        return _finish(record, match["time"], match["client"], path, None, None, hasher)
    return {"unparsed": scrub_text(text, hasher)}, None


def _finish(record: dict, time_text: str, client: str, path: str, agent: str | None, forwarded: str | None,
            hasher: IdentityHasher) -> tuple[dict[str, Any], dt.datetime | None]:
    try:
        if "/" in time_text:
            when = dt.datetime.strptime(time_text, TIME).replace(tzinfo=dt.timezone.utc)
        else:
            when = dt.datetime.fromtimestamp(float(time_text), dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return {"unparsed": scrub_text(f"{time_text} {client} {path}", hasher)}, None
    record["time"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record["client"] = hash_address(client, hasher)  # ports dropped: the listener is the address
    record["path"] = scrub_text(path, hasher)
    if agent is not None:
        record["user_agent"] = scrub_text(agent, hasher)
    if forwarded:
        record["forwarded_for"] = [hash_address(part, hasher) for part in forwarded.split(",") if part.strip()]
    if record.get("tenant"):
        record["tenant"] = scrub_text(record["tenant"], hasher)
    return record, when

