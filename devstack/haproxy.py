"""A real ``haproxy`` running the shipped snippet (haproxy_agent/haproxy-hls.cfg), on loopback.

The snippet is used as shipped; only the socket path, the listening port and the origin's
address are rewritten for the test, and a ``defaults`` section is added.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devstack.process import Server, find_binary, free_port
from haproxy_agent.__main__ import clients_map as clients_map_text

SNIPPET = Path(__file__).resolve().parent.parent / "haproxy_agent" / "haproxy-hls.cfg"
DEFAULTS = """
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
"""


class _Origin(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"#EXTM3U\n#EXT-X-TARGETDURATION:6\nseg1.ts\n" if self.path.endswith(".m3u8") else b"\x47" * 188
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class HAProxy:
    def __init__(self, workdir: Path, *, httplog: bool = False, peers: bool = True, log_socket: Path | None = None):
        """``httplog``: HAProxy's default HTTP log format instead of the snippet's log-format;
        ``peers=False``: the table not shared with the local peer (a config without the snippet's peers lines);
        ``log_socket``: the access log to a syslog socket (rsyslog's), as to ``/dev/log`` on an edge."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.port = free_port()
        self.socket = str(workdir / "fabrik.sock")
        if len(self.socket) > 90:  # a UNIX socket path is at most 97 bytes for HAProxy (108 for Linux)
            import tempfile

            self.socket = str(Path(tempfile.mkdtemp(prefix="fabrik-hx-")) / "fabrik.sock")
        self.origin = ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
        text = SNIPPET.read_text()
        text = re.sub(
            r"stats socket /run/haproxy/fabrik.sock[^\n]*", f"stats socket {self.socket} mode 600 level operator", text
        )
        text = text.replace("bind :8080", f"bind 127.0.0.1:{self.port}")
        target = f"log {log_socket} local0" if log_socket else "log stdout format raw local0"  # else: into self.log
        text = text.replace("log /dev/log local0", target)
        if httplog:
            text = re.sub(r'\n    log-format "fabrik-hls[^\n]*', "\n    option httplog", text)
        text = text.replace("server origin 127.0.0.1:8081", f"server origin 127.0.0.1:{self.origin.server_port}")
        clients_map = workdir / "fabrik-clients.map"  # as the install writes it (haproxy_agent/README.md)
        clients_map.write_text(clients_map_text())
        text = text.replace("/etc/haproxy/fabrik-clients.map", str(clients_map))
        text = text.replace("\nbackend hls_listeners", DEFAULTS + "\nbackend hls_listeners", 1)
        text = text.replace("peer fabrik-local 127.0.0.1:10000", f"peer fabrik-local 127.0.0.1:{free_port()}")
        if not peers:
            text = text.replace(" peers fabrik_peers\n", "\n")
        config = workdir / "haproxy.cfg"
        config.write_text(text)
        # Master-worker mode, as systemd runs it: SIGUSR2 to the master is `systemctl reload`.
        self.server = Server(
            [find_binary("haproxy"), "-Ws", "-f", str(config)],
            port=self.port,
            workdir=workdir,
            name=f"haproxy-{self.port}",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HAProxy":
        threading.Thread(target=self.origin.serve_forever, daemon=True).start()
        self.server.start()
        return self

    def reload(self) -> None:
        """What `systemctl reload haproxy` does: the master starts a new worker with the config."""
        import os
        import signal

        assert self.server.proc is not None
        os.kill(self.server.proc.pid, signal.SIGUSR2)

    def stop(self) -> None:
        self.server.stop()
        self.origin.shutdown()
