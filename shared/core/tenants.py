"""The ``TENANTS`` setting: which sources belong to which tenant.

Validated strictly because a typo here silently moves listeners between customers: unknown
keys, a source claimed by two tenants and tenant names that would break the Redis key schema
are all errors, reported together. The sections (``icecast``, ``matomo``, ...) are the
functions' own (``shared.core.descriptor.TenantSection``): this module knows the shape around them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from shared.core.descriptor import TenantSection
from shared.core.functions import tenant_sections
from shared.privacy.scrub import looks_personal

TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # use fullmatch: "$" passes a final "\n"


@dataclass(frozen=True)
class Tenant:
    name: str
    sections: Mapping[str, Any]  # section name -> that function's typed record

    def section(self, name: str) -> Any | None:
        return self.sections.get(name)


@dataclass(frozen=True)
class Tenants:
    by_name: Mapping[str, Tenant]

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    def with_section(self, name: str) -> dict[str, Any]:
        """Tenant name -> its record of one section, for the tenants that have it."""
        return {t.name: t.sections[name] for t in self if name in t.sections}


def parse_tenants(
    raw: str, *, base_dir: Path | None = None, sections: Mapping[str, TenantSection] | None = None
) -> Tenants:
    """Parse the setting's value: inline JSON, or ``@path/to/file.json``. ``sections``: the
    functions' own (default: every discovered function's).

    Raises ValueError with every problem found, each naming the tenant and field.
    """
    if sections is None:
        sections = tenant_sections()
    data = _load_json(raw, base_dir)
    problems: list[str] = []
    tenants: dict[str, Tenant] = {}
    for name, spec in data.items():
        tenant = _parse_tenant(name, spec, sections, problems)
        if tenant is not None:
            tenants[name] = tenant
    parsed = Tenants(by_name=tenants)
    for section in sections.values():
        if section.check is not None:
            section.check(parsed.with_section(section.name), problems)
    if problems:
        raise ValueError("; ".join(problems))
    return parsed


def _load_json(raw: str, base_dir: Path | None) -> dict:
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:])
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read tenants file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict) or not data:
        raise ValueError("expected a non-empty JSON object of tenant name -> sources")
    return data


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a tenant (a part of every Redis key), or None."""

    if not TENANT_NAME.fullmatch(name):
        return "must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
    if looks_personal(name):
        return "looks like an IP address"
    return None


def _parse_tenant(name: str, spec: Any, sections: Mapping[str, TenantSection], problems: list[str]) -> Tenant | None:
    problem = name_problem(name)
    if problem:
        problems.append(f"tenant name {name!r} {problem} (it is part of Redis keys)")
        return None
    if not isinstance(spec, dict):
        problems.append(f"{name}: expected an object")
        return None
    start = len(problems)
    records: dict[str, Any] = {}
    for key, value in spec.items():
        section = sections.get(key)
        if section is None:
            problems.append(f"{name}: unknown source {key!r} (known: {', '.join(sorted(sections))})")
        elif not isinstance(value, dict):
            problems.append(f"{name}.{key}: expected an object")
        else:
            for unknown in sorted(set(value) - section.keys):
                problems.append(f"{name}.{key}: unknown key {unknown!r}")
            records[key] = section.parse(name, value, problems)
    if len(problems) > start:
        return None
    return Tenant(name=name, sections={k: v for k, v in records.items() if v is not None})


def listed_ids(
    tenant: str, section: str, value: dict, key: str, problems: list[str], *, valid: Any, what: str
) -> tuple[str, ...]:
    """``key`` (one id) and/or ``key + "s"`` (a list) of a section, checked, in order, once each."""
    one, many = value.get(key), value.get(key + "s")
    found: list[Any] = [] if one is None else [one]
    if many is not None:
        if not isinstance(many, list) or not many:
            problems.append(f"{tenant}.{section}.{key}s: expected a non-empty list")
            many = []
        found += many
    out: list[str] = []
    for item in found:
        if not valid(item):
            problems.append(f"{tenant}.{section}.{key}: expected {what}")
        elif str(item) not in out:
            out.append(str(item))
    return tuple(out)


def claimed_once(records: Mapping[str, Any], ids_of: Any, what: str, problems: list[str]) -> dict[str, str]:
    """Each id of ``ids_of(record)`` belongs to one tenant: id -> tenant, a problem per clash."""
    owners: dict[str, str] = {}
    for tenant, record in records.items():
        for item in ids_of(record):
            if item in owners and owners[item] != tenant:
                problems.append(f"{what} {item} is claimed by both {owners[item]} and {tenant}")
            owners.setdefault(item, tenant)
    return owners
