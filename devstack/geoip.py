"""A small MaxMind-format country database the tests write themselves (``mmdb-writer``), so the
real ``maxminddb`` reader is exercised without a licensed download."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping


def write_country_db(path: Path, networks: Mapping[str, str]) -> Path:
    """``networks``: CIDR (IPv4 or IPv6) -> ISO country code. IPv4 is stored IPv6-compatible, as
    GeoLite2 stores it."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-Country",
        languages=["en"],
        description="fabrik test countries",
    )
    for network, code in networks.items():
        writer.insert_network(IPSet([network]), {"country": {"iso_code": code}})
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path
