"""``make stop``: stop a stack kept running with ``KEEP=1 make run`` (every process in ``.devstack/pids``)."""

from __future__ import annotations

import sys

from devstack.run import stop_kept_stack


def main() -> int:
    stopped = stop_kept_stack()
    print(f"stopped {stopped} processes" if stopped else "no stack running (no .devstack/pids)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
