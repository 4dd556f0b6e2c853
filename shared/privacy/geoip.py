"""Listeners by country, from a MaxMind-format country database (``GEOIP_DATABASE``).

GeoLite2-Country or DB-IP Lite Country (``.mmdb``), read with ``maxminddb`` memory-mapped and
opened once per process (reopened when the file changes: a monthly refresh needs no restart).
Addresses are looked up where they are already in memory (Icecast's listener list, HAProxy's
table) and only counts leave: ``country:<ISO code>`` for the ``GEOIP_TOP_COUNTRIES`` (10)
largest, ``country:other`` for the rest, ``country:unknown`` for addresses the database cannot
place. A sample keeps at most 12 country metrics, so the encoding stays compact.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from collections import Counter
from typing import Any, Iterable, Mapping

from shared.core.errors import ConfigError
from shared.privacy import geoip_check
from shared.privacy.identity import normalise_ip

DEFAULT_TOP = 10
_current: dict[str, tuple[tuple[int, int, int], Any, str]] = {}  # cached clients: path -> (identity, reader, copy)
_lock = threading.Lock()


class GeoIP:
    """Country codes for addresses; ``unknown`` where the database has none, and for every
    address while the file cannot be read (``problem`` says why, naming the setting): a missing
    or damaged database costs the country panel, never the listener numbers or the process."""

    def __init__(self, path: str, *, setting: str = "GEOIP_DATABASE", top: int = DEFAULT_TOP):
        self.path, self.setting, self.top = path, setting, top
        self.problem: str | None = None
        self._reader()  # checked now, so `doctor` and the first run can say what is wrong

    def __repr__(self) -> str:
        return f"GeoIP({self.path!r}, top={self.top})"

    def _reader(self) -> Any:
        """The reader of the file as it is now: a new file (path, inode, size, mtime) is checked
        in another process first (``shared.privacy.geoip_check``); one reader per path is kept."""
        try:
            info = os.stat(self.path)
        except OSError as exc:
            return self._fail(f"cannot read {self.path}: {exc.strerror or exc}")
        if not stat.S_ISREG(info.st_mode):
            return self._fail(f"{self.path} is not a regular file")
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        held = _current.get(self.path)
        if held is not None and held[0] == identity:
            self.problem = None
            return held[1]
        with _lock:
            held = _current.get(self.path)
            if held is None or held[0] != identity:
                opened = _open(self.path)
                if isinstance(opened, str):
                    return self._fail(opened)
                old = _current.get(self.path)
                _current[self.path] = (identity, *opened)
                if old is not None:  # one mapping per path, not one per file change
                    old[1].close()
                    shutil.rmtree(os.path.dirname(old[2]), ignore_errors=True)
        self.problem = None
        return _current[self.path][1]

    def _fail(self, why: str) -> None:
        self.problem = f"{self.setting}: {why}; countries are 'unknown' until it is fixed"
        return None

    def countries(self, addresses: Iterable[str]) -> list[str]:
        """The ISO code of each address (``unknown`` when not placed or not an address)."""
        addresses = list(addresses)
        reader = self._reader()
        if reader is None:
            return ["unknown"] * len(addresses)
        get = reader.get
        out = []
        for address in addresses:
            if ":" in address and "." in address:
                address = normalise_ip(address)  # "::ffff:1.2.3.4" (a dual-stack socket): the IPv4 address
            try:
                found = get(address)
            except ValueError:  # brackets, a zone, a port: normalised, then once more
                try:
                    found = get(normalise_ip(address))
                except ValueError:
                    found = None
            except Exception as exc:  # a file the check passed but this lookup cannot read
                self._fail(f"lookup failed ({type(exc).__name__})")
                return ["unknown"] * len(addresses)
            out.append(_iso(found))
        return out


def _open(path: str) -> tuple[Any, str] | str:
    """``(reader, its private copy)``, or why not (a string). The reader maps a private copy,
    which another process read whole first: a file replaced or rewritten in place later changes
    nothing under the mapping (a new file is a new copy, checked again)."""
    import maxminddb

    folder = tempfile.mkdtemp(prefix="fabrik-geoip-")
    copy = os.path.join(folder, "countries.mmdb")
    try:
        shutil.copyfile(path, copy)
        why = geoip_check.problem(copy, geoip_check.digest(copy))
        if why:
            raise ValueError(f"{path}: {why}: use a GeoLite2-Country or DB-IP Lite Country .mmdb")
        return maxminddb.open_database(copy, maxminddb.MODE_AUTO), copy
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return f"cannot read {path}: {exc.strerror or exc}"
    except (ValueError, maxminddb.InvalidDatabaseError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return str(exc) if isinstance(exc, ValueError) else f"{path} cannot be opened ({type(exc).__name__})"


def _iso(found: Any) -> str:
    if isinstance(found, Mapping):
        country = found.get("country") or found.get("registered_country")
        if isinstance(country, Mapping):
            code = country.get("iso_code")
            if isinstance(code, str) and len(code) == 2 and code.isalpha():
                return code.upper()
    return "unknown"


def country_metrics(codes: Iterable[str], *, top: int = DEFAULT_TOP) -> dict[str, int]:
    """``country:<ISO>`` for the ``top`` largest, ``country:other`` for the rest, ``country:unknown``."""
    counts = Counter(codes)
    unknown = counts.pop("unknown", 0)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    metrics = {f"country:{code}": n for code, n in ranked[:top]}
    other = sum(n for _, n in ranked[top:])
    if other:
        metrics["country:other"] = other
    if unknown:
        metrics["country:unknown"] = unknown
    return metrics


def read_geoip(env: Mapping[str, str]) -> GeoIP | None:
    """``GEOIP_DATABASE`` (unset: None, no country metrics, no cost) and ``GEOIP_TOP_COUNTRIES``."""
    path = (env.get("GEOIP_DATABASE") or "").strip()
    if not path:
        return None
    raw_top = (env.get("GEOIP_TOP_COUNTRIES") or "").strip()
    if raw_top and (not raw_top.isdigit() or not 1 <= int(raw_top) <= 50):
        raise ConfigError({"GEOIP_TOP_COUNTRIES": "a whole number from 1 to 50"})
    return GeoIP(path, top=int(raw_top) if raw_top else DEFAULT_TOP)
