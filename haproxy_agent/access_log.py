"""HAProxy access log lines -> privacy-safe JSON Lines records. Pure: a line in, a record out.

Two formats are understood (records: docs/logs.md):

* the shipped snippet's ``log-format`` (haproxy-hls.cfg)::

    fabrik-hls 1795860900.123 203.0.113.7 200 18800 41 acme-fm "/acme-fm/live/seg1.ts" "VLC/3.0" "198.51.100.4"

  (epoch seconds and milliseconds: no time zone to guess);

* HAProxy's default HTTP format (``option httplog``), its time the HAProxy host's local time
  (run HAProxy in UTC)::

    203.0.113.7:53532 [28/Nov/2026:10:15:00.123] fe_hls be/srv 0/0/0/1/41 200 18800 - - ---- 1/1/0/0/0 0/0 \
        "GET /acme-fm/live/seg1.ts HTTP/1.1"

each behind whatever syslog header the writer put before it: rsyslog's RFC 3339 one
(``2026-11-29T18:31:59.126220+00:00 edge1 haproxy[18208]: ``, Debian 12's default), the
traditional one (``Nov 29 18:31:59 edge1 haproxy[18208]: ``), a raw ``<134>`` priority, or none.

Why an allow-list: the path, the User-Agent and the forwarded addresses are client-controlled
text. Addresses become keyed hashes (``LOGS_HASH_KEY`` and the day's salt); the User-Agent
becomes its client kind and device (shared/core/user_agents.py); a path keeps only the tenant and
segments and file names of the shapes streams use (``live``, ``seg1234.ts``, ``chunk-128k-0001.m4s``),
every other segment becomes ``*``, and the query string and ``;`` parameters are dropped. A line
in neither format ships no text at all: only its length and, where a header had one, its time.
What the shape rule cannot tell apart: a secret shaped like a word followed by a number
(``abcdefgh1234``) is kept, as ``seg1234`` is; real tokens (hex, base64) are not shaped so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time as _time
from typing import Callable

from shared.core.user_agents import classify
from shared.privacy.identity import IdentityHasher
from shared.privacy.scrub import strip_port

MAX_LINE = 1024 * 1024  # an access log line is a few hundred bytes; longer is garbage
_MARK = "fabrik-hls "
HTTPLOG = re.compile(
    r"(?P<client>\S+):\d+ \[(?P<time>[^\]]+)\] (?P<frontend>\S+) (?P<backend>\S+) "
    r"-?\d+/-?\d+/-?\d+/-?\d+/(?P<duration>-?\d+) (?P<status>-?\d+) (?P<bytes>\d+) "
    r'\S+ \S+ \S+ \S+ \S+(?: \{[^}]*\})* "(?P<request>.*)"$'
)
RFC3339 = re.compile(r"(?:<\d{1,3}>)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)) ")
TRADITIONAL = re.compile(r"(?:<\d{1,3}>)?([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) ")
# A chunk of a path segment: a word then digits (seg12, index, Main2), an abbreviation then
# digits (AAC96), digits (0001, an epoch in ms), or digits then a short unit (128k, 1080p).
# Chunks are joined by "-" or "_". Tokens and ids do not read that way: hex and base64 mix
# letters and digits, or cases, or run longer (a 12-byte token is 24 hex or 16 base64 characters).
_CHUNK = (
    r"(?:[a-z]{1,16}[0-9]{0,13}|[A-Z][a-z]{0,15}[0-9]{0,13}|[A-Z]{1,8}[0-9]{0,13}|[0-9]{1,13}"
    r"|[0-9]{1,6}[a-z]{1,4})"
)
SEGMENT = re.compile(rf"{_CHUNK}(?:[_-]{_CHUNK}){{0,7}}")
FILE_NAME = re.compile(rf"{_CHUNK}(?:[_-]{_CHUNK}){{0,7}}\.(?:m3u8|m3u|ts|m4s|aac|mp4|m4a|mp3|vtt|key|webvtt)")
TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
METHOD = re.compile(r"[A-Z]{1,12}")
MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
CACHE_LIMIT = 200_000


def clean_path(path: str) -> str:
    """The path as the allow-list keeps it: ``/<tenant>/<segment>.../<file name>``, anything
    else ``*``; no query string, fragment or ``;`` parameters."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "://" in path[:12]:  # absolute-form request target: drop scheme and authority
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    if not path.startswith("/"):
        return "*"  # "<BADREQ>", "*" (OPTIONS), garbage
    parts = path.split("/")
    if len(parts) > 12:
        parts = parts[:11] + ["*"]
    last = len(parts) - 1
    return "/".join(_clean_part(part.split(";", 1)[0], index, last) for index, part in enumerate(parts)) or "/"


def _clean_part(part: str, index: int, last: int) -> str:
    """One part of a path: kept when it has the shape its place allows, else ``*``."""
    if index == 0 or part == "":
        return ""
    if index == 1 and index != last:
        keep = TENANT.fullmatch(part) and "@" not in part
    elif index == last:
        keep = FILE_NAME.fullmatch(part) or SEGMENT.fullmatch(part)
    else:
        keep = SEGMENT.fullmatch(part)
    return part if keep else "*"


def _fabrik_fields(body: str) -> tuple[str, str, str, str, str, str, str, str] | None:
    """A line of Fabrik's log format (docs/logs.md) split, or None when it is not one: the
    second, the milliseconds, the client, the numbers as JSON, the tenant, the path, the
    User-Agent and the forwarded-for list."""
    parts = body.split(" ", 6)
    if len(parts) != 7:
        return None
    stamp, client, status, sent, duration, tenant, rest = parts
    if len(rest) < 8 or rest[0] != '"' or rest[-1] != '"':
        return None
    path_end = rest.find('" "', 1)
    xff_start = rest.rfind('" "')
    if path_end < 0 or xff_start <= path_end:
        return None
    second, _, millis = stamp.partition(".")
    if not (second.isdigit() and len(second) <= 11 and len(millis) == 3 and millis.isdigit()):
        return None
    try:
        numbers = f'"status":{int(status)},"bytes":{int(sent)},"duration_ms":{int(duration)}'
    except ValueError:
        return None
    path, agent, xff = rest[1:path_end], rest[path_end + 3 : xff_start], rest[xff_start + 3 : -1]
    return second, millis, client, numbers, tenant, path, agent, xff


class _Bounded(dict):
    """A cache that makes missing values with ``make`` and empties itself when full (flat memory)."""

    def __init__(self, make: Callable[[str], str]):
        super().__init__()
        self.make = make

    def __missing__(self, key: str) -> str:
        if len(self) >= CACHE_LIMIT:
            self.clear()
        value = self[key] = self.make(key)
        return value


class LineParser:
    """One file's parser: caches what a listener repeats on every segment request (the address
    hash, the path, the User-Agent's client), bounded so memory stays flat.

    ``hashers`` gives the hasher of a UTC day (days since 1970): each day's hashes use that
    day's salt (haproxy_agent/salts.py), so they cannot be linked across days."""

    def __init__(self, hashers: Callable[[int], IdentityHasher], host: str, *, year_hint: int | None = None):
        self.hashers = hashers
        self.host_json = json.dumps(host)
        self.year_hint = year_hint or dt.datetime.now(dt.timezone.utc).year
        # A hit is a dict lookup in C; only a miss runs Python.
        self._ips: dict[int, Callable[[str], str]] = {}
        self.path = _Bounded(lambda path: json.dumps(clean_path(path), ensure_ascii=False)).__getitem__
        self.agent = _Bounded(client_fields).__getitem__
        self._second = ""
        self._second_text = ""

    def ip(self, second: int, address: str) -> str:
        """The client hash of ``address`` with the salt of the day of ``second``."""
        day = second // 86400
        lookup = self._ips.get(day)
        if lookup is None:
            hasher = self.hashers(day)
            lookup = self._ips[day] = _Bounded(lambda a: client_hash(a, hasher)).__getitem__
        return lookup(address)

    def parse(self, text: str) -> tuple[str, int | None, bool]:
        """``(JSON record, epoch seconds or None, parsed)``."""
        if len(text) > MAX_LINE:
            return self._unparsed(text)
        text = text.rstrip("\r\n")
        at = text.find(_MARK)
        if at >= 0:
            found = self._fabrik(text[at + 11 :])
            if found is not None:
                return found[0], found[1], True
        match = HTTPLOG.search(text, 0, 400) if "[" in text else None
        if match is None and "[" in text:
            match = HTTPLOG.search(text)
        if match is not None:
            found = self._httplog(match)
            if found is not None:
                return found[0], found[1], True
        return self._unparsed(text)

    def _unparsed(self, text: str) -> tuple[str, int | None, bool]:
        when = self._header_time(text[:64])
        stamp = "null" if when is None else f'"{_iso(when)}.000Z"'
        return (f'{{"time":{stamp},"host":{self.host_json},"unparsed":true,"chars":{len(text)}}}', when, False)

    def _fabrik(self, body: str) -> tuple[str, int] | None:
        fields = _fabrik_fields(body)
        if fields is None:
            return None
        second, millis, client, numbers, tenant, path, agent, xff = fields
        if second != self._second:
            self._second, self._second_text = second, _iso(int(second))
        tenant_json = f'"{tenant}"' if TENANT.fullmatch(tenant) else "null"
        forwarded = ""
        if xff and xff != "-":
            hashes = ",".join(f'"{self.ip(int(second), part)}"' for part in xff.split(",") if part.strip())
            forwarded = f',"forwarded_for":[{hashes}]' if hashes else ""
        return (
            f'{{"time":"{self._second_text}.{millis}Z","host":{self.host_json},"format":"fabrik",'
            f'"tenant":{tenant_json},"client":"{self.ip(int(second), client)}",{numbers},'
            f'"path":{self.path(path)},{self.agent(agent)}'
            f"{forwarded}}}",
            int(second),
        )

    def _httplog(self, match: re.Match[str]) -> tuple[str, int] | None:
        try:
            when = dt.datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=dt.timezone.utc)
            numbers = (
                f'"status":{int(match["status"])},"bytes":{int(match["bytes"])},"duration_ms":{int(match["duration"])}'
            )
        except ValueError:
            return None
        method, _, rest = match["request"].partition(" ")
        target = rest.rsplit(" ", 1)[0] if " HTTP/" in rest else rest
        path = self.path(target)
        segments = json.loads(path).split("/")
        tenant = segments[1] if len(segments) > 2 and segments[1] not in ("", "*") else None
        names = [json.dumps(v if NAME.fullmatch(v) else "*") for v in (match["frontend"], match["backend"])]
        client = self.ip(int(when.timestamp()), strip_port(match["client"]))
        return (
            f'{{"time":"{when.isoformat(timespec="milliseconds")[:23]}Z","host":{self.host_json},'
            f'"format":"httplog","tenant":{json.dumps(tenant)},"client":"{client}",'
            f'{numbers},"path":{path},"method":{json.dumps(method if METHOD.fullmatch(method) else "*")},'
            f'"frontend":{names[0]},"backend":{names[1]}}}',
            int(when.timestamp()),
        )

    def _header_time(self, head: str) -> int | None:
        match = RFC3339.match(head)
        if match:
            try:
                return int(dt.datetime.fromisoformat(match[1]).timestamp())
            except ValueError:
                return None
        match = TRADITIONAL.match(head)
        if match:  # no year: the one that puts the line nearest the file's time
            try:
                month, day, clock = match[1].split(None, 2)
                hours, minutes, seconds = (int(x) for x in clock.split(":"))
                when = dt.datetime(
                    self.year_hint, MONTHS[month], int(day), hours, minutes, seconds, tzinfo=dt.timezone.utc
                )
            except (KeyError, ValueError):
                return None
            return int(when.timestamp())
        return None


def client_hash(address: str, hasher: IdentityHasher) -> str:
    """A listener's address in the logs: the first 64 bits (16 hex) of its keyed hash.

    Why shorter than the app's 128: 64 bits keep unique counts exact in practice (a collision
    among ten million clients has a chance of about 1 in 370,000), and the hash is the part of a
    record gzip cannot shrink; 16 hex characters fewer a line keep the shipped files within 1.2x
    of gzip -6 on the raw log (docs/benchmarks.md)."""
    return hasher.hash_ip(strip_port(address))[:16]


def client_fields(agent: str) -> str:
    """The User-Agent as it is shipped: only what it is, ``"client_kind":…,"device":…`` (JSON
    fields); the text itself never leaves the edge (it can carry ids, names, addresses)."""
    client = classify(agent)
    return f'"client_kind":"{client.kind}","device":"{client.device}"'


def _iso(second: int) -> str:
    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(second))
