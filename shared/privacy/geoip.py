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
import threading
from collections import Counter
from typing import Any, Iterable, Mapping

from shared.core.errors import ConfigError
from shared.privacy.identity import normalise_ip

DEFAULT_TOP = 10
_readers: dict[tuple[str, int, int], Any] = {}  # cached clients: (path, mtime, size) -> reader
_lock = threading.Lock()


class GeoIP:
    """Country codes for addresses; ``unknown`` where the database has none."""

    def __init__(self, path: str, *, setting: str = "GEOIP_DATABASE", top: int = DEFAULT_TOP):
        self.path, self.setting, self.top = path, setting, top
        self._reader()  # a missing or damaged file is a settings error now, not a crashed run later

    def __repr__(self) -> str:
        return f"GeoIP({self.path!r}, top={self.top})"

    def _reader(self) -> Any:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise ConfigError({self.setting: f"cannot read {self.path}: {exc.strerror or exc}"}) from None
        key = (self.path, stat.st_mtime_ns, stat.st_size)
        reader = _readers.get(key)
        if reader is None:
            with _lock:
                reader = _readers.get(key)
                if reader is None:
                    reader = _readers[key] = _open(self.path, self.setting)
        return reader

    def countries(self, addresses: Iterable[str]) -> list[str]:
        """The ISO code of each address (``unknown`` when not placed or not an address)."""
        reader = self._reader()
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
            out.append(_iso(found))
        return out


def _open(path: str, setting: str) -> Any:
    import maxminddb

    try:
        reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
        kind = reader.metadata().database_type
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise ConfigError(
            {
                setting: f"{path} is not a MaxMind-format database ({type(exc).__name__}): "
                "use a GeoLite2-Country or DB-IP Lite Country .mmdb"
            }
        ) from None
    if "country" not in kind.lower() and "city" not in kind.lower():
        raise ConfigError({setting: f"{path} is a {kind!r} database; a country (or city) database is needed"})
    return reader


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
