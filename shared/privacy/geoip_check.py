"""Is a country database safe to read in this process? Asked of another process.

maxminddb's C extension trusts the file: two changed bytes crash the process with SIGSEGV,
where no ``except`` helps (issue 37.3). So a file is read whole, every network and record,
by a child process first; only a file that child survived is opened here. A file is known by
its SHA-256: a child's verdict is kept in the temporary directory, so a new instance (a cold
start) of an unchanged file pays a hash (about 10 ms for 6 MB), not a walk.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile

CHECK_TIMEOUT_S = 120
# Run in the child: open as the parent will (the C extension where it exists), walk every
# network and record, and check the type. Exit 0 only when all of it was read.
_CHILD = """
import sys, maxminddb
reader = maxminddb.open_database(sys.argv[1], maxminddb.MODE_AUTO)
kind = reader.metadata().database_type.lower()
if "country" not in kind and "city" not in kind:
    print("a %r database; a country (or city) database is needed" % reader.metadata().database_type)
    sys.exit(3)
for _network, _record in reader:
    pass
"""


def digest(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def problem(path: str, sha256: str) -> str | None:
    """Why the file at ``path`` (whose SHA-256 is ``sha256``) cannot be read here, or None."""
    marker = os.path.join(tempfile.gettempdir(), f"fabrik-geoip-ok-{sha256}")
    if os.path.exists(marker):
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, path], capture_output=True, text=True, timeout=CHECK_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return f"reading it whole took more than {CHECK_TIMEOUT_S} s"
    if done.returncode == 0:
        with open(marker, "w"):
            pass
        return None
    if done.returncode == 3:
        return done.stdout.strip()
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return f"damaged: reading it crashed a test process ({name})"
    last = (done.stderr.strip().splitlines() or ["unreadable"])[-1]
    kind = last.split(":", 1)[0][:80]
    return f"not a MaxMind-format database, or damaged ({kind})"
