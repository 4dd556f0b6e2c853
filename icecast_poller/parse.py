"""Pure parsers for Icecast's admin XML: bytes in, typed records out; no I/O, no clock.

Handles Icecast 2.4 (``<Listeners>``, ``<IP>``, ``<UserAgent>``, ``<Connected>``), 2.5
(lower-case names, ``<listener id="N">``) and Icecast-KH (2.4 names plus ``<lag>``,
``<Referer>``) by looking children up case-insensitively. Field sources are named in each
record's docstring as ``icestats/source/<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from itertools import repeat
from typing import Callable, NamedTuple, Sequence

from lxml import etree

from shared.clients.xml import children_by_name, local_name, parse_xml, text_of

# Icecast-KH can underflow its counters to 2^64-n (karlheyes/icecast-kh#283): anything above
# this is treated as unknown, not as a listener count.
MAX_PLAUSIBLE = 10_000_000
_SOURCELESS = {"listeners", "listenurl", "max_listeners", "listener"}


@dataclass(frozen=True)
class MountStats:
    """One ``icestats/source[@mount]`` of ``/admin/stats``."""

    mount: str
    listeners: int  # <listeners>: current listener connections on this mount
    listener_peak: int | None  # <listener_peak>: since the source connected
    bitrate: int | None  # <bitrate> | <ice-bitrate> | <audio_bitrate>, kbit/s
    stream_start: str | None  # <stream_start_iso8601> (2.4+), else <stream_start>
    content_type: str | None  # <server_type> | <content-type>
    # False for a configured mount whose source is gone: Icecast keeps listing it (with only
    # <listeners>, <listenurl>, <max_listeners>) while its listeners sit on a fallback mount.
    has_source: bool = True


@dataclass(frozen=True)
class ServerStats:
    """``/admin/stats``: the server's own total and its mounts (hidden ones included)."""

    server_id: str | None  # <server_id>, e.g. "Icecast 2.4.4"
    listeners: int | None  # global <listeners>; None when missing or implausible
    mounts: tuple[MountStats, ...]


class ListenerRecord(NamedTuple):
    """One ``<listener>`` of ``/admin/listclients``; the IP is already a keyed token.

    A NamedTuple rather than a frozen dataclass: tens of thousands are built per poll, and a
    tuple is built in C.
    """

    ip_token: bytes | None  # IdentityHasher.ip_tokens: tells listeners apart within a run; never stored
    user_agent: str  # "" when the client sent none (Icecast writes "Unknown")
    connected_seconds: int | None  # <Connected>: seconds since the listener connected
    country: str | None = None  # ISO code (or "unknown") when GEOIP_DATABASE is set; the address is not kept


# ListenerRecord from a tuple without NamedTuple's Python-level __new__ (a third of the cost).
_new_record = partial(tuple.__new__, ListenerRecord)


def _fields(*names: str) -> tuple[etree.XPath, ...]:
    return tuple(etree.XPath(f"/icestats/source/listener/{n}/text()", smart_strings=False) for n in names)


# Icecast 2.4 and KH name the fields IP/UserAgent/Connected, 2.5 ip/useragent/connected.
_FAST = {"IP": _fields("IP", "UserAgent", "Connected"), "ip": _fields("ip", "useragent", "connected")}
_LISTENERS = etree.XPath("count(/icestats/source/listener)")


def parse_stats(data: bytes, *, what: str = "icecast /admin/stats") -> ServerStats:
    root = parse_xml(data, what=what, root="icestats")
    top = children_by_name(root)
    mounts = []
    for node in root:
        if local_name(node).lower() != "source":
            continue
        mount = node.get("mount")
        if not mount:
            continue
        fields = children_by_name(node)
        mounts.append(
            MountStats(
                mount=mount,
                listeners=_count(text_of(fields, "listeners")) or 0,
                listener_peak=_count(text_of(fields, "listener_peak")),
                bitrate=_count(text_of(fields, "bitrate", "ice-bitrate", "audio_bitrate")),
                stream_start=text_of(fields, "stream_start_iso8601", "stream_start") or None,
                content_type=text_of(fields, "server_type", "content-type") or None,
                # A source brings its own fields (bitrate, server_type, stream_start …); without one
                # Icecast lists the configured mount with these three only.
                has_source=not {n.lower() for n in fields} <= _SOURCELESS,
            )
        )
    return ServerStats(
        server_id=text_of(top, "server_id") or None, listeners=_count(text_of(top, "listeners")), mounts=tuple(mounts)
    )


def parse_listclients(
    data: bytes,
    *,
    ip_tokens: Callable[[Sequence[str]], list[bytes]],
    countries: Callable[[Sequence[str]], list[str]] | None = None,
    what: str = "icecast /admin/listclients",
) -> list[ListenerRecord]:
    """Every listener of the document's source(s). ``ip_tokens`` turns the IPs into keyed
    tokens as they are read (all at once: one call per document), and ``countries`` (when
    given) into country codes, so no record holds a raw address."""
    root = parse_xml(data, what=what, root="icestats")
    fast = _read_columns(root)
    if fast is not None:
        ips, agents, connected = fast
        codes = repeat(None) if countries is None else countries(ips)  # every record has all four fields
        return list(map(_new_record, zip(ip_tokens(ips), agents, connected, codes)))
    rows = [_read_listener(listener) for listener in root.iter("listener")]
    present = [ip for ip, _, _ in rows if ip]
    tokens = iter(ip_tokens(present))
    codes = iter(countries(present)) if countries is not None else None
    return [
        ListenerRecord(
            next(tokens) if ip else None,
            agent,
            seconds,
            (next(codes) if ip else "unknown") if codes is not None else None,
        )
        for ip, agent, seconds in rows
    ]


def _read_listener(listener: etree._Element) -> tuple[str | None, str, int | None]:
    """One listener of any other shape (a field missing, mixed case, empty text), per element."""
    found: dict[str, str] = {}
    for child in listener:
        if isinstance(child.tag, str):
            found[child.tag.lower()] = (child.text or "").strip()
    agent = found.get("useragent")
    return found.get("ip"), "" if agent in (None, "Unknown") else agent, _count(found.get("connected"))


def _read_columns(root: etree._Element) -> tuple[list[str], list[str], list[int]] | None:
    """The three fields of every listener as columns, read by XPath in C (no element objects),
    when every listener has all three with plain values; else None (the caller goes slow)."""
    first = root.find("source/listener")
    if first is None:
        return [], [], []
    names = _FAST.get(next((c.tag for c in first if c.tag in _FAST), ""))
    if names is None:
        return None
    n = int(_LISTENERS(root))
    ips, agents, connected = (xpath(root) for xpath in names)
    if not (len(ips) == len(agents) == len(connected) == n):
        return None
    try:
        seconds = list(map(int, connected))
    except ValueError:
        return None
    if seconds and (min(seconds) < 0 or max(seconds) > MAX_PLAUSIBLE):
        return None
    if not all(ips):
        return None  # ip_tokens normalises (and strips) whatever is not a plain dotted quad
    agents = ["" if a == "Unknown" else a for a in map(str.strip, agents)]
    return ips, agents, seconds


def _count(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_PLAUSIBLE else None
