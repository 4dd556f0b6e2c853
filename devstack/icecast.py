"""A real ``icecast2`` on loopback with sources and listeners made here.

The source speaks Icecast's HTTP PUT source protocol (2.4+) and sends silence-sized chunks;
each listener is a plain HTTP GET from a chosen loopback address (127.0.0.2, 127.0.0.3, …)
with a chosen User-Agent, reading in a thread so Icecast never drops it as slow.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

from devstack.process import Server, find_binary, free_port

CONFIG = """<icecast>
  <location>devstack</location><admin>ops@example.invalid</admin>
  <limits><clients>1000</clients><sources>300</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout><source-timeout>30</source-timeout>
    <burst-size>0</burst-size></limits>
  <authentication><source-password>{source_password}</source-password>
    <admin-user>{admin_user}</admin-user><admin-password>{admin_password}</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{logdir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>{logdir}/icecast.pid</pidfile></paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>{changeowner}</security>
{extra}</icecast>
"""


class Icecast:
    def __init__(
        self,
        workdir: Path,
        *,
        admin_user: str = "admin",
        admin_password: str = "hackme-admin",
        source_password: str = "hackme-source",
        port: int | None = None,
        server_id: str | None = None,
        fallbacks: dict[str, str] | None = None,
        relays: list[tuple[int, str]] | None = None,
    ):
        """``fallbacks``: mount -> its <fallback-mount>; ``relays``: (master port, mount) pulled
        from a master on this machine; ``server_id``: <server-id>, what relays send as User-Agent."""
        self.workdir, self.port = workdir, port or free_port()
        self.admin_user, self.admin_password, self.source_password = admin_user, admin_password, source_password
        self.sources: list[SourceClient] = []
        self.listeners: list[Listener] = []
        workdir.mkdir(parents=True, exist_ok=True)
        logdir = workdir / "log"
        logdir.mkdir(exist_ok=True)
        changeowner = ""
        if os.geteuid() == 0:
            # icecast refuses to run as root and drops to nobody, who cannot enter a private
            # temp tree: its logs go to a fresh world-writable folder under /tmp instead.
            changeowner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
            logdir = Path(tempfile.mkdtemp(prefix="fabrik-icecast-"))
            os.chmod(logdir, 0o777)
        extra = f"  <server-id>{escape(server_id)}</server-id>\n" if server_id else ""
        for mount, fallback in (fallbacks or {}).items():
            extra += (
                f"  <mount><mount-name>{escape(mount)}</mount-name><fallback-mount>{escape(fallback)}"
                "</fallback-mount><fallback-override>1</fallback-override></mount>\n"
            )
        for master_port, mount in relays or []:
            extra += (
                f"  <relay><server>127.0.0.1</server><port>{master_port}</port><mount>{escape(mount)}</mount>"
                f"<local-mount>{escape(mount)}</local-mount><on-demand>0</on-demand></relay>\n"
            )
        config = workdir / "icecast.xml"
        config.write_text(
            CONFIG.format(
                port=self.port,
                logdir=escape(str(logdir)),
                changeowner=changeowner,
                admin_user=escape(admin_user),
                admin_password=escape(admin_password),
                source_password=escape(source_password),
                extra=extra,
            )
        )
        self.server = Server(
            [find_binary("icecast2"), "-c", str(config)], port=self.port, workdir=workdir, name=f"icecast-{self.port}"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Icecast":
        self.server.start()
        return self

    def add_source(self, mount: str, *, content_type: str = "audio/mpeg", timeout: float = 10.0) -> "SourceClient":
        """``timeout``: for connecting and Icecast's answer (a busy machine with many parallel sources needs more)."""
        source = SourceClient(self.port, mount, self.source_password, content_type=content_type, timeout=timeout)
        source.start()
        self.sources.append(source)
        return source

    def add_listener(
        self, mount: str, *, user_agent: str, address: str = "127.0.0.1", timeout: float = 10.0
    ) -> "Listener":
        listener = Listener(self.port, mount, user_agent=user_agent, address=address, timeout=timeout)
        listener.start()
        self.listeners.append(listener)
        return listener

    def wait_for_listeners(self, count: int | None = None, *, timeout: float = 20.0) -> None:
        """Icecast updates /admin/stats asynchronously: wait until it counts every listener made here."""
        import re
        import urllib.request

        want = len(self.listeners) if count is None else count
        auth = base64.b64encode(f"{self.admin_user}:{self.admin_password}".encode()).decode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            req = urllib.request.Request(f"{self.url}/admin/stats", headers={"Authorization": f"Basic {auth}"})
            with urllib.request.urlopen(req, timeout=5) as answer:
                total = sum(
                    int(n)
                    for n in re.findall(rb"<source mount=[^>]*>.*?<listeners>(\d+)</listeners>", answer.read(), re.S)
                )
            if total >= want:
                return
            time.sleep(0.1)
        raise TimeoutError(f"icecast counts fewer than {want} listeners after {timeout}s")

    def reload(self, *, settle: float = 1.5) -> None:
        """SIGHUP, as an operator's config reload. Icecast clears and re-lists its mounts for
        about a second afterwards; callers that poll right after must wait for that."""
        assert self.server.proc is not None
        os.kill(self.server.proc.pid, signal.SIGHUP)
        time.sleep(settle)

    def stats(self) -> str:
        import requests

        return requests.get(f"{self.url}/admin/stats", auth=(self.admin_user, self.admin_password), timeout=5).text

    def stop(self) -> None:
        clients = [*self.listeners, *self.sources]
        for client in clients:  # hang up everyone first, then wait: closing 400 clients one by one is slow
            client.hang_up()
        for client in clients:
            client.close()
        self.server.stop()

    def __enter__(self) -> "Icecast":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Client:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None

    def hang_up(self) -> None:
        self._stop.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.hang_up()
        if self.sock is not None:
            self.sock.close()
        if self.thread is not None:
            self.thread.join(timeout=5)


class SourceClient(_Client):
    def __init__(self, port: int, mount: str, password: str, *, content_type: str, timeout: float = 10.0):
        super().__init__()
        self.port, self.mount, self.password, self.content_type = port, mount, password, content_type
        self.timeout = timeout

    def start(self) -> None:
        auth = base64.b64encode(f"source:{self.password}".encode()).decode()
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.sock.sendall(
            (
                f"PUT {self.mount} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
                f"Content-Type: {self.content_type}\r\nIce-Public: 0\r\nIce-Name: devstack\r\n"
                f"Ice-Bitrate: 128\r\nTransfer-Encoding: identity\r\n\r\n"
            ).encode()
        )
        answer = self.sock.recv(1024)
        if b" 200" not in answer.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"icecast refused source {self.mount}: {answer[:200]!r}")
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self) -> None:
        frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # an MPEG-1 layer III frame header and silence
        while not self._stop.is_set():
            try:
                self.sock.sendall(frame * 4)
            except OSError:
                return
            time.sleep(0.1)


class Listener(_Client):
    def __init__(self, port: int, mount: str, *, user_agent: str, address: str, timeout: float = 10.0):
        super().__init__()
        self.port, self.mount, self.user_agent, self.address = port, mount, user_agent, address
        self.timeout = timeout

    def start(self) -> None:
        self.sock = socket.create_connection(
            ("127.0.0.1", self.port), timeout=self.timeout, source_address=(self.address, 0)
        )
        self.sock.sendall(
            f"GET {self.mount} HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: {self.user_agent}\r\n\r\n".encode()
        )
        head = self.sock.recv(1024)
        if b" 200" not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"icecast refused listener on {self.mount}: {head[:200]!r}")
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except OSError:
                return
