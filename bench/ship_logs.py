"""ship-logs on a large HAProxy access log: MB/s and peak RSS, against `gzip` of the same file.

Blob Storage is replaced by a sink that reads each upload's stream to the end (no network
here); everything else is the real command: read, parse, hash, JSON, gzip per hour.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import HWM_SNIPPET, Row

ROOT = Path(__file__).resolve().parent.parent
SIZE_MB = int(os.environ.get("BENCH_LOG_MB", "1024"))

SHIP = HWM_SNIPPET + r"""
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from haproxy_agent.log_shipper import FileResult, ShipConfig, ship_file
from shared.identity import IdentityHasher

class Sink:
    def upload_blob(self, name, data, **kwargs):
        while data.read(4 << 20):
            pass

config = ShipConfig(connection="", container="x", host="edge-1", hasher=IdentityHasher(b"bench-key-0123456789"),
                    state_dir=Path("/tmp"))
result = FileResult(path=sys.argv[2])
t = time.perf_counter()
ship_file(Path(sys.argv[2]), config, Sink(), result)
print(time.perf_counter() - t, hwm_kib() / 1024, result.lines)
"""


def make_log(path: Path, size_mb: int) -> None:
    line = ('fabrik-hls {t}.123 203.0.{a}.{b} 200 188000 41 acme-fm "/acme-fm/live/seg{n}.ts" '
            '"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15" "198.51.100.{b}"\n')
    block = "".join(line.format(t=1795860000 + i // 1000, a=i // 250 % 250, b=i % 250, n=i) for i in range(10_000))
    data = block.encode()
    with path.open("wb") as out:
        for _ in range(max(1, size_mb * 1024 * 1024 // len(data))):
            out.write(data)


def run() -> list[Row]:
    tmp = Path(tempfile.mkdtemp())
    try:
        log = tmp / "haproxy-hls.log-2026112810"
        make_log(log, SIZE_MB)
        mb = log.stat().st_size / 2**20
        out = subprocess.run([sys.executable, "-c", SHIP, str(ROOT), str(log)], capture_output=True, text=True,
                             check=True)
        seconds, peak, lines = (float(x) for x in out.stdout.split())
        t = time.perf_counter()
        subprocess.run(f"gzip -c {log} > /dev/null", shell=True, check=True)
        gz = time.perf_counter() - t
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [Row("ship-logs", f"{mb:,.0f} MiB access log ({lines:,.0f} lines): throughput", mb / seconds, mb / gz,
                "MiB/s", "gzip -c of the same file alone", note=f"peak RSS {peak:.0f} MiB for the whole file "
                "(interpreter included): flat, the file is streamed; ours parses, hashes every address, "
                "writes JSON and gzips per hour")]
