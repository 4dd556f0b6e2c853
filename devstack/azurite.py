"""Azurite's Blob service from the project's node_modules, on a free loopback port."""

from __future__ import annotations

from pathlib import Path

from devstack.process import MissingComponent, Server, free_port
from devstack.tls import TlsFiles

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft; not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite(
    workdir: Path, *, port: int | None = None, oauth_tls: "TlsFiles | None" = None, account_key: str | None = None
) -> Server:
    """``oauth_tls``: HTTPS with that certificate and bearer tokens accepted (``--oauth basic``:
    issuer, audience and times are checked, not the signature); ``account_key``: a key of our
    own for devstoreaccount1, so a test can prove the app got in without knowing any key."""
    import os

    binary = ROOT / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        raise MissingComponent("azurite not found in node_modules; run 'npm ci' (or 'make test' as root)")
    port = port or free_port()
    argv = [
        str(binary),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(workdir),
        "--skipApiVersionCheck",
        "--loose",
        "--silent",
        "--disableTelemetry",
    ]
    if oauth_tls is not None:
        argv += ["--oauth", "basic", "--cert", str(oauth_tls.cert), "--key", str(oauth_tls.key)]
    env = dict(os.environ)
    if account_key is not None:
        env["AZURITE_ACCOUNTS"] = f"{ACCOUNT}:{account_key}"
    return Server(argv, port=port, workdir=workdir, name=f"azurite-{port}", ready_timeout=60, env=env)


def connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )
