"""Agent settings: a JSON file (``--config``) with environment variables on top.

| env | file key | default |
|---|---|---|
| HAPROXY_SOCKET | socket | /run/haproxy/fabrik.sock |
| HAPROXY_TABLE | table | hls_listeners |
| AGENT_INTERVAL_SECONDS | interval_seconds | 10 |
| AGENT_TENANTS | tenants | required: a JSON list or comma-separated names |
| TENANTS | (same) | the app's TENANTS JSON (inline or @file): its tenant names |
| AGENT_ANY_TENANT | any_tenant | false: only known tenants are sent |
| AGENT_HOST | host | this machine's short host name |
| AGENT_KEY_SEPARATOR | key_separator | \\| |
| AGENT_SEGMENT_SECONDS | segment_seconds | 6: the streams' segment duration (what one segment fetched is listened) |
| AQH_MIN_SECONDS | aqh_seconds | 300: time in a clock quarter hour that credits a session |
| EVENTHUB_CONNECTION | eventhub_connection | required unless --dry-run |
| EVENTHUB_NAME | eventhub_name | required unless --dry-run (or EntityPath in the connection) |
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from haproxy_agent.table import TENANT
from shared.core.errors import ConfigError, FabrikError
from shared.privacy.geoip import read_geoip

KEYS = {
    "HAPROXY_SOCKET": "socket",
    "HAPROXY_TABLE": "table",
    "AGENT_INTERVAL_SECONDS": "interval_seconds",
    "AGENT_TENANTS": "tenants",
    "AGENT_KEY_SEPARATOR": "key_separator",
    "AGENT_ANY_TENANT": "any_tenant",
    "AGENT_HOST": "host",
    "EVENTHUB_CONNECTION": "eventhub_connection",
    "EVENTHUB_NAME": "eventhub_name",
    "GEOIP_DATABASE": "geoip_database",
    "GEOIP_TOP_COUNTRIES": "geoip_top_countries",
    "AGENT_SEGMENT_SECONDS": "segment_seconds",
    "AQH_MIN_SECONDS": "aqh_seconds",
}


class ConfigProblem(FabrikError):
    """The agent's or ship-logs' settings are wrong; the message names every bad one."""


@dataclass(frozen=True)
class AgentConfig:
    socket: str = "/run/haproxy/fabrik.sock"
    table: str = "hls_listeners"
    interval_seconds: float = 10.0
    tenants: tuple[str, ...] = ()
    any_tenant: bool = False  # send every tenant the table holds (not recommended: junk paths become tenants)
    host: str = ""  # this edge's short name, in every message: several edges sum per tenant
    key_separator: str = "|"
    eventhub_connection: str = field(default="", repr=False)
    eventhub_name: str = ""
    # Identity-based, as the Functions host reads it: EVENTHUB_CONNECTION__fullyQualifiedNamespace,
    # __credential=managedidentity (a VM's identity; __clientId for a user-assigned one), or the
    # AZURE_* variables of a service principal when __credential is unset.
    eventhub_namespace: str = ""
    eventhub_credential: str = ""
    eventhub_client_id: str = ""
    geoip: Any = None  # shared.privacy.geoip.GeoIP: listeners by country in each message; None: none
    segment_seconds: float = 6.0  # a segment fetched is this much listened (the streams' target duration)
    aqh_seconds: int = 300  # AQH_MIN_SECONDS, as the app has it


def _app_tenant_names(text: str) -> list[str]:
    """The tenant names of the app's ``TENANTS`` (inline JSON or ``@file``)."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigProblem(f"TENANTS: cannot read {text[1:]}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise ConfigProblem("TENANTS: not a JSON object of tenant name -> sources") from None
    if not isinstance(doc, dict):
        raise ConfigProblem("TENANTS: not a JSON object of tenant name -> sources")
    return list(doc)


def _tenants(value: Any, app_tenants: str) -> tuple[str, ...]:
    """AGENT_TENANTS (a list, JSON or comma-separated), else the names of the app's TENANTS."""
    if isinstance(value, str) and value.strip():
        value = json.loads(value) if value.strip().startswith("[") else [t.strip() for t in value.split(",")]
    if not value and app_tenants.strip():
        value = _app_tenant_names(app_tenants.strip())
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
        raise ConfigProblem("tenants: a list of tenant names")
    return tuple(t for t in value if t)


def load(env: Mapping[str, str], path: str | None = None, *, need_eventhub: bool = True) -> AgentConfig:
    """The file's keys with the environment on top; every problem is reported at once."""
    raw = _raw(env, path)
    problems: list[str] = []
    tenants, any_tenant = _tenant_choice(raw, env, problems)
    host, interval = _host(raw, problems), _interval(raw, problems)
    table = str(raw.get("table", "hls_listeners"))
    if not re.match(r"^[A-Za-z0-9._-]+$", table):
        problems.append("table (HAPROXY_TABLE): a table (backend) name")
    connection, name, namespace = _eventhub(raw, env, problems, needed=need_eventhub)
    geoip = _geoip(raw, problems)
    segment = _number(raw, "segment_seconds", "AGENT_SEGMENT_SECONDS", 6.0, 0.5, 60, problems)
    aqh = int(_number(raw, "aqh_seconds", "AQH_MIN_SECONDS", 300, 1, 900, problems))
    if problems:
        raise ConfigProblem("; ".join(problems))
    return AgentConfig(
        geoip=geoip,
        socket=str(raw.get("socket", AgentConfig.socket)),
        table=table,
        interval_seconds=interval,
        tenants=tenants,
        any_tenant=any_tenant,
        host=host,
        key_separator=str(raw.get("key_separator", "|")) or "|",
        eventhub_connection=connection,
        eventhub_name=name,
        eventhub_namespace=namespace,
        eventhub_credential=env.get("EVENTHUB_CONNECTION__credential", ""),
        eventhub_client_id=env.get("EVENTHUB_CONNECTION__clientId", ""),
        segment_seconds=segment,
        aqh_seconds=aqh,
    )


def _raw(env: Mapping[str, str], path: str | None) -> dict[str, Any]:
    """The config file's keys (unknown ones refused), each overridden by its environment variable."""
    raw: dict[str, Any] = {}
    if path:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigProblem(f"cannot read config file {path}: {exc}") from None
        unknown = set(raw) - set(KEYS.values())
        if unknown:
            raise ConfigProblem(f"{path}: unknown keys {sorted(unknown)} (known: {sorted(KEYS.values())})")
    for env_name, key in KEYS.items():
        if env.get(env_name):
            raw[key] = env[env_name]
    return raw


def _tenant_choice(raw: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> tuple[tuple[str, ...], bool]:
    """``(tenants, any_tenant)``: which tenants' counts are sent."""
    try:
        tenants = _tenants(raw.get("tenants", ()), env.get("TENANTS", ""))
    except ConfigProblem as exc:
        problems.append(str(exc))
        tenants = ()
    bad = [t for t in tenants if not TENANT.fullmatch(t)]
    if bad:
        problems.append(f"tenants: invalid names {bad}")
    any_tenant = str(raw.get("any_tenant", "false")).lower() in ("1", "true", "yes", "on")
    if not tenants and not any_tenant:
        problems.append(
            "tenants (AGENT_TENANTS, or TENANTS as the app has it): which tenants to count; every other "
            "path is counted as unknown and not sent (AGENT_ANY_TENANT=true sends whatever appears)"
        )
    return tenants, any_tenant


def _host(raw: dict[str, Any], problems: list[str]) -> str:
    host = str(raw.get("host") or socket.gethostname().split(".")[0])
    if not TENANT.fullmatch(host) or re.search(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", host):
        problems.append("host (AGENT_HOST): a short host name of A-Z a-z 0-9 . _ - (not an address)")
    return host


def _interval(raw: dict[str, Any], problems: list[str]) -> float:
    try:
        interval = float(raw.get("interval_seconds", 10))
        if not 1 <= interval <= 3600:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("interval_seconds (AGENT_INTERVAL_SECONDS): a number of seconds from 1 to 3600")
        interval = 10.0
    return interval


def _number(
    raw: dict[str, Any], key: str, env_name: str, default: float, low: float, high: float, problems: list[str]
) -> float:
    try:
        value = float(raw.get(key, default))
        if not low <= value <= high:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(f"{key} ({env_name}): a number from {low:g} to {high:g}")
        return default
    return value


def _eventhub(
    raw: dict[str, Any], env: Mapping[str, str], problems: list[str], *, needed: bool
) -> tuple[str, str, str]:
    """``(connection string, hub name, namespace)``: a connection string, or the namespace of an identity."""
    connection = str(raw.get("eventhub_connection", ""))
    name = str(raw.get("eventhub_name", ""))
    namespace = env.get("EVENTHUB_CONNECTION__fullyQualifiedNamespace", "")
    if needed:
        if "Endpoint=" not in connection and not namespace:
            problems.append("eventhub_connection (EVENTHUB_CONNECTION): missing or not an Event Hubs connection string")
        if not name and "EntityPath=" not in connection and not (namespace and name):
            problems.append("eventhub_name (EVENTHUB_NAME): missing")
    return connection, name, namespace


def _geoip(raw: dict[str, Any], problems: list[str]) -> Any:
    """The country database (GEOIP_DATABASE), or None: then messages carry no countries."""
    if not raw.get("geoip_database"):
        return None

    try:
        return read_geoip(
            {
                "GEOIP_DATABASE": str(raw["geoip_database"]),
                "GEOIP_TOP_COUNTRIES": str(raw.get("geoip_top_countries", "")),
            }
        )
    except ConfigError as exc:
        problems += [f"{k}: {v}" for k, v in exc.problems.items()]
        return None
