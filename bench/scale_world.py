"""The synthetic platform of ``make bench-scale``: stations, their listeners, and local servers
that answer for them (an Icecast stand-in serving XML, the Matomo stand-in, a real HAProxy
table, real Redis).

Assumptions (docs/benchmarks.md): station r of N has 5,000 × r^-0.7 concurrent listeners on
Icecast (two mounts; 94,000 at 500 stations, as issue 35 measured) and half as many again on
HLS, spread evenly over 20 HAProxy edges; one Matomo site each; 0.2 platform events a second
per station; Icecast servers of 50 stations each.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EDGES = 20
STATIONS_PER_ICECAST = 50
EVENTS_PER_STATION_S = 0.2
AGENTS = ("VLC/3.0.20 LibVLC/3.0.20", "Mozilla/5.0 (Windows NT 10.0) Chrome/120 Safari/537.36", "AcmeRadio/4.2 iOS")


@dataclass(frozen=True)
class Platform:
    stations: int

    def name(self, rank: int) -> str:
        return f"station-{rank:04d}"

    def listeners(self, rank: int) -> int:
        return round(5000 * rank**-0.7)

    def icecast_listeners(self, rank: int) -> int:
        return self.listeners(rank)

    def hls_per_edge(self, rank: int) -> int:
        return max(1, self.listeners(rank) // 2 // EDGES)

    @property
    def ranks(self) -> range:
        return range(1, self.stations + 1)

    def tenants(self) -> dict[str, Any]:
        return {
            self.name(r): {"icecast": {"mounts": [f"/s{r}.mp3", f"/s{r}.aac"]}, "matomo": {"site_id": r}}
            for r in self.ranks
        }

    @cached_property
    def servers(self) -> list[list[int]]:
        """Ranks per Icecast server."""
        count = math.ceil(self.stations / STATIONS_PER_ICECAST)
        return [list(self.ranks)[i * STATIONS_PER_ICECAST : (i + 1) * STATIONS_PER_ICECAST] for i in range(count)]

    def total_listeners(self) -> int:
        return sum(self.listeners(r) for r in self.ranks)


def mount_listeners(platform: Platform, rank: int, mount: int) -> int:
    half = platform.icecast_listeners(rank)
    return half - half // 2 if mount == 0 else half // 2


def listclients_xml(rank: int, mount: int, n: int) -> bytes:
    """``/admin/listclients`` as Icecast 2.4 writes it; one address in a hundred is IPv6."""
    rows = []
    for i in range(n):
        ip = f"2001:db8:{rank:x}::{i:x}" if i % 100 == 99 else f"10.{rank % 250}.{i // 250 % 250}.{i % 250 + 1}"
        rows.append(
            f'<listener id="{i}"><IP>{ip}</IP><UserAgent>{AGENTS[i % 3]}</UserAgent>'
            f"<Connected>{i * 7 % 5000}</Connected><ID>{rank * 100000 + i}</ID></listener>"
        )
    mount_name = f"/s{rank}.{'mp3' if mount == 0 else 'aac'}"
    return (
        f'<?xml version="1.0"?>\n<icestats><source mount="{mount_name}"><Listeners>{n}</Listeners>'
        f"{''.join(rows)}</source></icestats>"
    ).encode()


def stats_xml(platform: Platform, ranks: list[int]) -> bytes:
    sources = "".join(
        f'<source mount="/s{r}.{ext}"><listeners>{mount_listeners(platform, r, m)}</listeners>'
        f"<listener_peak>{mount_listeners(platform, r, m)}</listener_peak><bitrate>128</bitrate></source>"
        for r in ranks
        for m, ext in enumerate(("mp3", "aac"))
    )
    total = sum(platform.icecast_listeners(r) for r in ranks)
    return f'<?xml version="1.0"?>\n<icestats><listeners>{total}</listeners>{sources}</icestats>'.encode()


def start_icecasts(platform: Platform) -> list[ThreadingHTTPServer]:
    """One stand-in per server, answering from prepared bodies (its own cost stays out of the run)."""
    out = []
    for ranks in platform.servers:
        bodies = {"/admin/stats": stats_xml(platform, ranks)}
        for r in ranks:
            for m, ext in enumerate(("mp3", "aac")):
                body = listclients_xml(r, m, mount_listeners(platform, r, m))
                bodies[f"/admin/listclients?mount=/s{r}.{ext}"] = body

        class Handler(BaseHTTPRequestHandler):
            answers = bodies

            def do_GET(self) -> None:
                body = self.answers.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        out.append(server)
    return out


def start_matomo(platform: Platform, token: str) -> Any:
    import logging

    from werkzeug import Request
    from werkzeug.serving import make_server

    from devstack.matomo import matomo_handler

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    sites = {
        r: {
            3: {
                "visits": max(1, platform.listeners(r) // 20),
                "visitors": max(1, platform.listeners(r) // 25),
                "actions": 9,
            }
        }
        for r in platform.ranks
    }
    server = make_server("127.0.0.1", 0, Request.application(matomo_handler(sites, token=token)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fill_table(socket: str, platform: Platform) -> int:
    """One edge's stick table as HAProxy fills it: an entry per (tenant, client address)."""
    import socket as sockets

    lines = [
        f"set table hls_listeners key {platform.name(r)}|10.{r % 250}.{i // 250 % 250}.{i % 250 + 1} "
        "data.http_req_cnt 1"
        for r in platform.ranks
        for i in range(platform.hls_per_edge(r))
    ]
    for start in range(0, len(lines), 200):
        with sockets.socket(sockets.AF_UNIX, sockets.SOCK_STREAM) as conn:
            conn.connect(socket)
            conn.sendall(("; ".join(lines[start : start + 200]) + "\n").encode())
            while conn.recv(65536):
                pass
    return len(lines)


def eventhub_bodies(platform: Platform, *, partitions: int, now_iso: str, batch: int) -> list[dict]:
    """One partition's batch at the platform's rates: events and HAProxy ticks in proportion."""
    events_s = EVENTS_PER_STATION_S * platform.stations / partitions
    ticks_s = EDGES / 10 / partitions
    size = min(batch, round((events_s + ticks_s) * 20))
    ticks = max(1, round(size * ticks_s / (events_s + ticks_s)))
    tenants = {platform.name(r): {"listeners": platform.hls_per_edge(r)} for r in platform.ranks}
    bodies: list[dict] = [
        {"type": "hls.tick", "host": f"edge-{i}", "time": now_iso, "tenants": tenants} for i in range(ticks)
    ]
    for i in range(size - ticks):
        rank = 1 + i % platform.stations
        bodies.append(
            {
                "tenant": platform.name(rank),
                "type": "app.play",
                "time": now_iso,
                "station": "x",
                "ip": f"203.0.113.{i % 250}",
            }
        )
    return bodies
