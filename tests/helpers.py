"""Small helpers shared by tests: run the CLI as on-call would, scan Redis for leaks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shared.core.functions import discover

ROOT = Path(__file__).resolve().parent.parent


def write_settings(path: Path, values: dict[str, str]) -> Path:
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return path


# Every function of the app, found as the host finds them (a folder with a function.json): no
# hand-kept list, so a new collector is in every "all functions" test by existing.
APP_FUNCTIONS = frozenset(discover(ROOT))


def run_cli(*args: str, settings: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m shared.cli ...`` in a clean environment (no inherited app settings)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
    argv = [sys.executable, "-m", "shared.cli", *args]
    if settings is not None:
        argv += ["--settings", str(settings)]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def dump_redis(client, prefix: str) -> str:
    """Every key and value under ``prefix`` as one text, for leak scans."""
    parts = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        kind = client.type(key)
        parts.append(key)
        if kind == "zset":
            parts.extend(client.zrange(key, 0, -1))
        elif kind == "hash":
            for k, v in client.hgetall(key).items():
                parts += [k, v]
        elif kind == "string":
            parts.append(client.get(key))
        elif kind == "stream":
            parts.append(repr(client.xrange(key)))
    return "\n".join(parts)
