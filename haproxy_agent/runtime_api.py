"""Talk to HAProxy's runtime API: one command, read until HAProxy closes, with a timeout.

Non-interactive mode: send one line, HAProxy answers and closes (management.txt 9.3).
The socket is a UNIX path (``/run/haproxy/fabrik.sock``) or ``tcp://127.0.0.1:9999``
(also accepted: HAProxy's own ``ipv4@127.0.0.1:9999``).
"""

from __future__ import annotations

import socket
import time

from haproxy_agent.errors import BadAnswer

MAX_ANSWER = 256 * 1024 * 1024  # 200k entries of ~120 bytes is ~24 MB


def address(spec: str) -> tuple[int, object]:
    for prefix in ("tcp://", "ipv4@"):
        if spec.startswith(prefix):
            host, _, port = spec[len(prefix) :].rpartition(":")
            return socket.AF_INET, (host or "127.0.0.1", int(port))
    return socket.AF_UNIX, spec.removeprefix("unix://").removeprefix("unix@")


def command(spec: str, line: str, *, timeout: float = 5.0) -> str:
    family, target = address(spec)
    deadline = time.monotonic() + timeout
    chunks, size = [], 0
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(target)
            sock.sendall(line.encode("ascii") + b"\n")
            while True:
                if time.monotonic() > deadline:
                    raise BadAnswer(f"no complete answer within {timeout:g} s")
                chunk = sock.recv(262144)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_ANSWER:
                    raise BadAnswer("answer larger than 256 MiB; refused")
                chunks.append(chunk)
    except (OSError, ValueError) as exc:
        raise BadAnswer(f"cannot talk to the stats socket {spec}: {exc}") from None
    return b"".join(chunks).decode("utf-8", "replace")
