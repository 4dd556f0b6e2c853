"""``python -m bench``: every benchmark, one table. Starts its own Redis."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from bench import coldstart, downloads, eventhub, icecast, load, memory, read_side, ship_logs
    from bench.common import table
    from devstack.redis_servers import redis_server

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        server = redis_server(Path(tmp)).start()
        try:
            url = f"redis://127.0.0.1:{server.port}/0"
            rows += eventhub.run(url)
            rows += eventhub.run_with_latency(url)
            rows += icecast.run()
            rows += downloads.run()
            rows += load.run(url)
            rows += coldstart.run()
            rows += memory.run(url)
            rows += read_side.run(url)
            rows += ship_logs.run()
            print(table(rows))
        finally:
            server.stop()
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
