"""A throwaway ``redis-server`` and a three-node Redis Cluster on loopback, no persistence."""

from __future__ import annotations

import random
import socket
import subprocess
import time
from pathlib import Path

from devstack.process import Server, find_binary, free_port
from devstack.tls import TlsFiles


def cluster_port() -> int:
    """A free port whose cluster-bus port (port + 10000) is free and valid too."""
    for _ in range(200):
        port = random.randint(20000, 55000)
        if all(_is_free(p) for p in (port, port + 10000)):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_server(
    workdir: Path,
    *,
    port: int | None = None,
    cluster: bool = False,
    persistent: bool = False,
    tls: "TlsFiles | None" = None,
) -> Server:
    """``persistent`` keeps data across stop/start (append-only file), as a managed Redis does.
    ``tls``: TLS only (no plain port), as Azure Managed Redis listens."""
    port = port or (cluster_port() if cluster else free_port())
    listen = (
        ["--port", str(port)]
        if tls is None
        else [
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(tls.cert),
            "--tls-key-file",
            str(tls.key),
            "--tls-ca-cert-file",
            str(tls.ca),
            "--tls-auth-clients",
            "no",
        ]
    )
    if tls is not None and cluster:
        listen += ["--tls-cluster", "yes", "--tls-replication", "yes"]
    argv = [
        find_binary("redis-server"),
        *listen,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes" if persistent else "no",
        "--dir",
        str(workdir),
        "--protected-mode",
        "no",
    ]
    if cluster:
        argv += [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            f"nodes-{port}.conf",
            "--cluster-node-timeout",
            "2000",
        ]
    return Server(argv, port=port, workdir=workdir, name=f"redis-{port}")


class RedisCluster:
    """Three masters, no replicas, slots spread by ``redis-cli --cluster create``."""

    def __init__(self, workdir: Path, *, nodes: int = 3, tls: TlsFiles | None = None):
        self.workdir, self.tls = workdir, tls
        # persistent, so a restarted node comes back with its data, as a managed cluster node does
        self.nodes = [redis_server(workdir / f"node{i}", cluster=True, persistent=True, tls=tls) for i in range(nodes)]

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.nodes[0].port}/0"

    def _cli(self) -> list[str]:
        cli = [find_binary("redis-cli")]
        return cli + ["--tls", "--cacert", str(self.tls.ca)] if self.tls else cli

    def start(self) -> "RedisCluster":
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                [
                    *self._cli(),
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{n.port}" for n in self.nodes),
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.wait_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ok(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [
                subprocess.run(
                    [*self._cli(), "-p", str(n.port), "cluster", "info"], capture_output=True, text=True, timeout=5
                ).stdout
                for n in self.nodes
                if n.running
            ]
            if states and all("cluster_state:ok" in s for s in states):
                return
            time.sleep(0.1)
        raise TimeoutError("redis cluster did not reach cluster_state:ok")

    def restart_node(self, index: int) -> None:
        """Stop one master and start it again with its saved cluster config (same slots)."""
        node = self.nodes[index]
        node.stop()
        node.start()
        self.wait_ok()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> "RedisCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
