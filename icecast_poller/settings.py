"""Settings of icecast_poller: only what it needs (it never asks for Apple keys)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from icecast_poller.tenant import MountOwners
from shared.core.errors import ConfigError
from shared.core.measurement import AQH_SECONDS, QUARTER_SECONDS
from shared.core.settings import (
    SettingsReader,
    StoreSettings,
    cached_loader,
    http_url,
    positive_int,
    read_identity,
    read_store,
    read_tenants,
)
from shared.core.tenants import Tenants
from shared.privacy.geoip import GeoIP, read_geoip
from shared.privacy.identity import IdentityHasher
from shared.runtime.logs import register_secrets


@dataclass(frozen=True)
class IcecastServer:
    name: str  # shown in status and logs; defaults to host:port
    url: str
    username: str
    password: str = field(repr=False)
    # Relays that pull from this server and are not recognised by their User-Agent: their
    # <server-id> (which is what a relay sends as User-Agent) or their addresses.
    relay_agents: tuple[str, ...] = ()
    relay_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class IcecastSettings:
    store: StoreSettings
    tenants: Tenants
    hasher: IdentityHasher
    servers: tuple[IcecastServer, ...]
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    max_parallel: int = 64
    deadline_seconds: int = 20
    geoip: GeoIP | None = None  # GEOIP_DATABASE: listeners by country; None: no country metrics
    aqh_seconds: int = AQH_SECONDS  # AQH_MIN_SECONDS: time in a quarter hour that credits a person

    @functools.cached_property
    def owners(self) -> MountOwners:
        """Which tenant each mount counts for (from ``TENANTS``)."""
        return MountOwners.of(self.tenants)


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_servers(raw: str) -> tuple[IcecastServer, ...]:
    """``ICECAST_SERVERS``: a JSON list of ``{"url", "username", "password", "name"?}``."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, list) or not data:
        raise ValueError("expected a non-empty JSON list of servers")
    servers: list[IcecastServer] = []
    problems: list[str] = []
    for i, item in enumerate(data):
        server = _server(item, f"server {i + 1}", problems)
        if server is None:
            continue
        if server.name in {s.name for s in servers}:
            problems.append(f"server {i + 1}.name: {server.name!r} is used twice")
        servers.append(server)
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(servers)


def _server(item: Any, where: str, problems: list[str]) -> IcecastServer | None:
    """One entry of the list, or None after adding what is wrong with it to ``problems``."""
    if not isinstance(item, dict):
        problems.append(f"{where}: expected an object")
        return None
    unknown = set(item) - {"url", "username", "password", "name", "relay_agents", "relay_addresses"}
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")
    try:
        url = http_url(str(item.get("url", "")))
    except ValueError as exc:
        problems.append(f"{where}.url: {exc}")
        return None
    authority = url.split("//", 1)[1].split("/", 1)[0]
    problem = _server_problem(item, authority)
    if problem:
        problems.append(f"{where}.{problem}")
        return None
    return IcecastServer(
        name=str(item.get("name") or authority),
        url=url,
        username=str(item.get("username") or "admin"),
        password=item["password"],
        relay_agents=tuple(item.get("relay_agents", [])),
        relay_addresses=tuple(item.get("relay_addresses", [])),
    )


def _server_problem(item: dict, authority: str) -> str | None:
    """The first thing wrong with a server entry whose URL parses (``key: why``), or None."""
    agents, addresses = item.get("relay_agents", []), item.get("relay_addresses", [])
    if "@" in authority:
        return "url: put credentials in username/password, not in the URL"
    if not isinstance(item.get("password"), str) or not item["password"]:
        return "password: missing (the admin password)"
    if not isinstance(agents, list) or not all(isinstance(a, str) and a for a in agents):
        return "relay_agents: expected a list of User-Agent strings"
    if not isinstance(addresses, list) or not all(isinstance(a, str) and _is_ip(a) for a in addresses):
        return "relay_addresses: expected a list of IP addresses"
    return None


def _load(env: Mapping[str, str]) -> IcecastSettings:
    reader = SettingsReader(env)
    store = read_store(reader)
    tenants = read_tenants(reader)
    hasher = read_identity(reader)
    servers = reader.get("ICECAST_SERVERS", parse_servers, secret=True)
    connect = reader.get("ICECAST_CONNECT_TIMEOUT_SECONDS", positive_int, default=3)
    read = reader.get("ICECAST_READ_TIMEOUT_SECONDS", positive_int, default=5)
    parallel = reader.get("ICECAST_MAX_PARALLEL", positive_int, default=64)
    deadline = reader.get("ICECAST_RUN_DEADLINE_SECONDS", positive_int, default=20)
    aqh = reader.get("AQH_MIN_SECONDS", _quarter_seconds, default=AQH_SECONDS)
    if connect and read and deadline and deadline < connect + read:
        reader.fail("ICECAST_RUN_DEADLINE_SECONDS", "must be at least connect + read timeout")
    geoip = None
    try:
        geoip = read_geoip(env)
    except ConfigError as exc:
        for name, why in exc.problems.items():
            reader.fail(name, why)
    reader.check()
    register_secrets(s.password for s in servers)
    return IcecastSettings(
        store=store,
        tenants=tenants,
        hasher=hasher,
        servers=servers,
        connect_timeout=float(connect),
        read_timeout=float(read),
        max_parallel=parallel,
        deadline_seconds=deadline,
        geoip=geoip,
        aqh_seconds=aqh,
    )


def _quarter_seconds(raw: str) -> int:
    value = positive_int(raw)
    if value > QUARTER_SECONDS:
        raise ValueError(f"at most {QUARTER_SECONDS} (a quarter hour)")
    return value


load_settings = cached_loader(_load)
