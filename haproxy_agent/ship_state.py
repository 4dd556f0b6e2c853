"""What ship-logs remembers between runs, in ``AGENT_STATE_DIR``: per rotated file how far it was
shipped, and a status file for operators and monitors.

Why offsets and not a "done" flag: after logrotate renames the log, the writer (rsyslog) keeps
appending to the renamed file until it is told to reopen. A file is therefore shipped up to its
last complete line, and marked *complete* only once it has been unchanged for
``settle_seconds``; a line appended after a first run is shipped by a later one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Marker:
    offset: int = 0  # bytes of the (uncompressed) file shipped so far, always at a line end
    lines: int = 0
    complete: bool = False
    blobs: int = 0


def rotation_name(path: Path) -> str:
    """A rotated file's name, the same before and after logrotate compresses it."""
    return path.name.removesuffix(".gz")


class ShipState:
    def __init__(self, state_dir: Path):
        self.dir = state_dir
        self.markers = state_dir / "shipped"

    def marker(self, path: Path) -> Marker:
        try:
            data = json.loads((self.markers / rotation_name(path)).read_text())
        except (OSError, ValueError):
            return Marker()
        if "offset" not in data:  # a marker without an offset was written for a whole file
            return Marker(offset=0, lines=int(data.get("lines", 0)), complete=True)
        return Marker(**{k: data[k] for k in ("offset", "lines", "complete", "blobs") if k in data})

    def save(self, path: Path, marker: Marker) -> None:
        self.markers.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.markers / rotation_name(path), json.dumps(asdict(marker)))

    def forget(self, path: Path) -> None:
        (self.markers / rotation_name(path)).unlink(missing_ok=True)

    def write_status(self, status: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        previous = self.read_status()
        if status.get("last_error") is None and previous.get("last_error"):
            status = {**status, "last_error": previous["last_error"], "last_error_at": previous.get("last_error_at")}
        _write_atomic(self.dir / "status.json", json.dumps(status, indent=1, sort_keys=True) + "\n")

    def read_status(self) -> dict:
        try:
            return json.loads((self.dir / "status.json").read_text())
        except (OSError, ValueError):
            return {}


def now_text(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
