"""Agent settings: a JSON file (``--config``) with environment variables on top.

| env | file key | default |
|---|---|---|
| HAPROXY_SOCKET | socket | /run/haproxy/fabrik.sock |
| HAPROXY_TABLE | table | hls_listeners |
| AGENT_INTERVAL_SECONDS | interval_seconds | 10 |
| AGENT_TENANTS | tenants | (none: tenants as they appear) |
| AGENT_KEY_SEPARATOR | key_separator | \\| |
| EVENTHUB_CONNECTION | eventhub_connection | required unless --dry-run |
| EVENTHUB_NAME | eventhub_name | required unless --dry-run (or EntityPath in the connection) |
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from haproxy_agent.table import TENANT

KEYS = {"HAPROXY_SOCKET": "socket", "HAPROXY_TABLE": "table", "AGENT_INTERVAL_SECONDS": "interval_seconds",
        "AGENT_TENANTS": "tenants", "AGENT_KEY_SEPARATOR": "key_separator",
        "EVENTHUB_CONNECTION": "eventhub_connection", "EVENTHUB_NAME": "eventhub_name"}


class ConfigProblem(ValueError):
    pass


@dataclass(frozen=True)
class AgentConfig:
    socket: str = "/run/haproxy/fabrik.sock"
    table: str = "hls_listeners"
    interval_seconds: float = 10.0
    tenants: tuple[str, ...] = ()
    key_separator: str = "|"
    eventhub_connection: str = field(default="", repr=False)
    eventhub_name: str = ""


def load(env: Mapping[str, str], path: str | None = None, *, need_eventhub: bool = True) -> AgentConfig:
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
    problems = []
    tenants = raw.get("tenants", ())
    if isinstance(tenants, str):
        tenants = json.loads(tenants) if tenants.strip().startswith("[") else [t.strip() for t in tenants.split(",")]
    tenants = tuple(t for t in tenants if t)
    bad = [t for t in tenants if not TENANT.fullmatch(t)]
    if bad:
        problems.append(f"tenants: invalid names {bad}")
    try:
        interval = float(raw.get("interval_seconds", 10))
        if not 1 <= interval <= 3600:
            raise ValueError
    except (TypeError, ValueError):
        problems.append("interval_seconds (AGENT_INTERVAL_SECONDS): a number of seconds from 1 to 3600")
        interval = 10.0
    table = str(raw.get("table", "hls_listeners"))
    if not re.match(r"^[A-Za-z0-9._-]+$", table):
        problems.append("table (HAPROXY_TABLE): a table (backend) name")
    connection = str(raw.get("eventhub_connection", ""))
    name = str(raw.get("eventhub_name", ""))
    if need_eventhub:
        if "Endpoint=" not in connection:
            problems.append("eventhub_connection (EVENTHUB_CONNECTION): missing or not an Event Hubs connection string")
        if not name and "EntityPath=" not in connection:
            problems.append("eventhub_name (EVENTHUB_NAME): missing")
    if problems:
        raise ConfigProblem("; ".join(problems))
    return AgentConfig(socket=str(raw.get("socket", AgentConfig.socket)), table=table, interval_seconds=interval,
                       tenants=tenants, key_separator=str(raw.get("key_separator", "|")) or "|",
                       eventhub_connection=connection, eventhub_name=name)
