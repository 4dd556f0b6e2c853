"""Azurite's Blob service from the project's node_modules, on a free loopback port."""
from __future__ import annotations

from pathlib import Path

from devstack.process import MissingComponent, Server, free_port

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite(workdir: Path, *, port: int | None = None) -> Server:
    binary = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise MissingComponent("azurite not found in node_modules; run 'npm ci' (or 'make test' as root)")
    port = port or free_port()
    argv = [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(workdir),
            "--skipApiVersionCheck", "--loose", "--silent"]
    return Server(argv, port=port, workdir=workdir, name=f"azurite-{port}", ready_timeout=60)


def connection_string(port: int) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")
