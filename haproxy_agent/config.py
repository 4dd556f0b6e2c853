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
from typing import Any, Callable, Mapping

from haproxy_agent.table import TENANT
from shared.core.errors import ConfigError
from shared.core.settings import SettingsReader, parse_bool
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
            raise ValueError(f"cannot read {text[1:]}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object of tenant name -> sources")
    return list(doc)


def _tenant_list(text: str) -> tuple[str, ...]:
    """AGENT_TENANTS: a JSON list or comma-separated names."""
    value = json.loads(text) if text.startswith("[") else [t.strip() for t in text.split(",")]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError("a list of tenant names")
    bad = [t for t in value if t and not TENANT.fullmatch(t)]
    if bad:
        raise ValueError(f"invalid names {bad}")
    return tuple(t for t in value if t)


def _table_name(text: str) -> str:
    if not re.match(r"^[A-Za-z0-9._-]+$", text):
        raise ValueError("a table (backend) name")
    return text


def _host_name(text: str) -> str:
    if not TENANT.fullmatch(text) or re.search(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", text):
        raise ValueError("a short host name of A-Z a-z 0-9 . _ - (not an address)")
    return text


def number_between(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise ValueError(f"a number from {low:g} to {high:g}")
        return value

    return parse


def load(env: Mapping[str, str], path: str | None = None, *, need_eventhub: bool = True) -> AgentConfig:
    """The file's keys with the environment on top, read as the app reads its settings
    (shared.core.settings): one ConfigError naming every bad setting by its variable."""
    values = _values(env, path)
    reader = SettingsReader(values)
    tenants = reader.get("AGENT_TENANTS", _tenant_list, default=())
    any_tenant = reader.get("AGENT_ANY_TENANT", parse_bool, default=False)
    if not tenants and values.get("TENANTS"):
        tenants = tuple(reader.get("TENANTS", _app_tenant_names, default=()) or ())
    if not tenants and not any_tenant and not reader.problems:
        reader.fail(
            "AGENT_TENANTS",
            "which tenants to count (or TENANTS as the app has it); every other path is counted as unknown "
            "and not sent (AGENT_ANY_TENANT=true sends whatever appears)",
        )
    host = reader.get("AGENT_HOST", _host_name, default=None)
    if host is None and "AGENT_HOST" not in reader.problems:
        host = socket.gethostname().split(".")[0]
        try:
            _host_name(host)
        except ValueError as exc:
            reader.fail("AGENT_HOST", f"this machine's name {host!r} is not {exc}; set one")
    connection, name, namespace = _eventhub(reader, values, needed=need_eventhub)
    config = AgentConfig(
        socket=reader.get("HAPROXY_SOCKET", default=AgentConfig.socket),
        table=reader.get("HAPROXY_TABLE", _table_name, default=AgentConfig.table),
        interval_seconds=reader.get("AGENT_INTERVAL_SECONDS", number_between(1, 3600), default=10.0),
        tenants=tenants,
        any_tenant=any_tenant,
        host=host or "",
        key_separator=reader.get("AGENT_KEY_SEPARATOR", default="|"),
        eventhub_connection=connection,
        eventhub_name=name,
        eventhub_namespace=namespace,
        eventhub_credential=env.get("EVENTHUB_CONNECTION__credential", ""),
        eventhub_client_id=env.get("EVENTHUB_CONNECTION__clientId", ""),
        geoip=_geoip(reader, values),
        segment_seconds=reader.get("AGENT_SEGMENT_SECONDS", number_between(0.5, 60), default=6.0),
        aqh_seconds=int(reader.get("AQH_MIN_SECONDS", number_between(1, 900), default=300) or 300),
    )
    reader.check()
    return config


def _values(env: Mapping[str, str], path: str | None) -> dict[str, str]:
    """The settings by variable name: the config file's keys (unknown ones refused), each
    overridden by its environment variable; TENANTS and the identity's variables from the environment."""
    values: dict[str, str] = {}
    if path:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError({"--config": f"cannot read {path}: {exc}"}) from None
        if not isinstance(raw, dict):
            raise ConfigError({"--config": f"{path}: not a JSON object of settings"})
        unknown = set(raw) - set(KEYS.values())
        if unknown:
            raise ConfigError({"--config": f"{path}: unknown keys {sorted(unknown)} (known: {sorted(KEYS.values())})"})
        by_key = {key: env_name for env_name, key in KEYS.items()}
        for key, value in raw.items():
            values[by_key[key]] = value if isinstance(value, str) else json.dumps(value)
    values.update({k: v for k, v in env.items() if (k in KEYS or k.startswith("EVENTHUB_") or k == "TENANTS") and v})
    return values


def _eventhub(reader: SettingsReader, values: Mapping[str, str], *, needed: bool) -> tuple[str, str, str]:
    """``(connection string, hub name, namespace)``: a connection string, or the namespace of an identity."""
    connection = values.get("EVENTHUB_CONNECTION", "")
    name = values.get("EVENTHUB_NAME", "")
    namespace = values.get("EVENTHUB_CONNECTION__fullyQualifiedNamespace", "")
    if needed:
        if "Endpoint=" not in connection and not namespace:
            reader.fail("EVENTHUB_CONNECTION", "missing or not an Event Hubs connection string")
        if not name and "EntityPath=" not in connection:
            reader.fail("EVENTHUB_NAME", "missing")
    return connection, name, namespace


def _geoip(reader: SettingsReader, values: Mapping[str, str]) -> Any:
    """The country database (GEOIP_DATABASE), or None: then messages carry no countries."""
    if not values.get("GEOIP_DATABASE"):
        return None
    try:
        return read_geoip(values)
    except ConfigError as exc:
        reader.problems.update(exc.problems)
        return None
