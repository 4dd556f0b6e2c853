"""Start a server process on loopback, wait until it listens, stop it cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Sequence

INSTALL_HINT = (
    "install it with: apt-get install -y redis-server icecast2 haproxy; "
    "npm ci (for azurite) — or run 'make test' as root, which does it"
)


class MissingComponent(RuntimeError):
    """A server binary the tests need is not installed."""


def find_binary(name: str, *candidates: str) -> str:
    for option in (name, *candidates):
        path = shutil.which(option) or (option if os.path.isabs(option) and os.access(option, os.X_OK) else None)
        if path:
            return path
    raise MissingComponent(f"{name} not found; {INSTALL_HINT}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(
    port: int,
    *,
    host: str = "127.0.0.1",
    timeout: float = 20.0,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}: {tail}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class Server:
    """A child process with a log file; ``stop()`` then ``start()`` restarts it on the same port."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int,
        workdir: Path,
        name: str,
        env: dict[str, str] | None = None,
        ready_timeout: float = 20.0,
    ):
        self.argv, self.port, self.workdir, self.name = list(argv), port, workdir, name
        self.env, self.ready_timeout = env, ready_timeout
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir, env=self.env, start_new_session=True
            )
        try:
            wait_for_port(self.port, proc=self.proc, log=self.log, timeout=self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> "Server":
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
