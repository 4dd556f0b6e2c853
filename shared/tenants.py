"""The ``TENANTS`` setting: which sources belong to which tenant.

Validated strictly because a typo here silently moves listeners between customers: unknown
keys, a mount claimed by two tenants and tenant names that would break the Redis key schema
are all errors, reported together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # use fullmatch: "$" passes a final "\n"
_SECTIONS = {
    "icecast": {"mounts", "app_user_agent", "fallback_mounts"},
    "matomo": {"site_id"},
    "apple": {"app_id", "app_ids"},
    "google": {"package", "packages"},
}


@dataclass(frozen=True)
class Tenant:
    name: str
    icecast_mounts: tuple[str, ...] = ()
    # Mounts this tenant's streams fall back to (Icecast's <fallback-mount>): counted for the
    # tenant when only it declares one, reported as "on fallback" when several share one.
    fallback_mounts: tuple[str, ...] = ()
    app_user_agent: re.Pattern[str] | None = None  # the tenant's own app, matched in User-Agents
    matomo_site_id: int | None = None
    apple_app_ids: tuple[str, ...] = ()  # several: an iOS and a macOS/tvOS app
    google_packages: tuple[str, ...] = ()

    @property
    def apple_app_id(self) -> str | None:
        return self.apple_app_ids[0] if self.apple_app_ids else None

    @property
    def google_package(self) -> str | None:
        return self.google_packages[0] if self.google_packages else None


@dataclass(frozen=True)
class Tenants:
    by_name: Mapping[str, Tenant]
    _mounts: Mapping[str, str] = field(default_factory=dict, repr=False)
    _fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def __iter__(self):
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    def tenant_for_mount(self, mount: str) -> str | None:
        """The tenant whose own mount this is, or whose fallback only it declares."""
        found = self._mounts.get(mount)
        if found is None:
            owners = self._fallbacks.get(mount, ())
            found = owners[0] if len(owners) == 1 else None
        return found

    def fallback_sharers(self, mount: str) -> tuple[str, ...]:
        """The tenants declaring ``mount`` as a fallback, when two or more share it."""
        owners = self._fallbacks.get(mount, ())
        return owners if len(owners) > 1 else ()


def parse_tenants(raw: str, *, base_dir: Path | None = None) -> Tenants:
    """Parse the setting's value: inline JSON, or ``@path/to/file.json``.

    Raises ValueError with every problem found, each naming the tenant and field.
    """
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

    problems: list[str] = []
    tenants: dict[str, Tenant] = {}
    mounts: dict[str, str] = {}
    owners: dict[tuple[str, str], str] = {}
    for name, spec in data.items():
        tenant = _parse_tenant(name, spec, problems)
        if tenant is None:
            continue
        for mount in tenant.icecast_mounts:
            if mount in mounts:
                problems.append(f"mount {mount} is claimed by both {mounts[mount]} and {name}")
            mounts[mount] = name
        # One app's numbers can belong to one tenant only: the stores report per app, not per tenant.
        for what, ids in (("apple app id", tenant.apple_app_ids), ("google package", tenant.google_packages)):
            for app in ids:
                if (what, app) in owners and owners[(what, app)] != name:
                    problems.append(f"{what} {app} is claimed by both {owners[(what, app)]} and {name}")
                owners.setdefault((what, app), name)
        tenants[name] = tenant
    fallbacks: dict[str, tuple[str, ...]] = {}
    for tenant in tenants.values():
        for mount in tenant.fallback_mounts:
            if mount in mounts:
                problems.append(f"{tenant.name}.icecast.fallback_mounts: {mount} is {mounts[mount]}'s own mount")
            fallbacks[mount] = (*fallbacks.get(mount, ()), tenant.name)
    if problems:
        raise ValueError("; ".join(problems))
    return Tenants(by_name=tenants, _mounts=mounts, _fallbacks=fallbacks)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a tenant (a part of every Redis key), or None."""
    from shared.privacy import looks_personal

    if not TENANT_NAME.fullmatch(name):
        return "must be 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
    if looks_personal(name):
        return "looks like an IP address"
    return None


def _parse_tenant(name: str, spec: Any, problems: list[str]) -> Tenant | None:
    problem = name_problem(name)
    if problem:
        problems.append(f"tenant name {name!r} {problem} (it is part of Redis keys)")
        return None
    if not isinstance(spec, dict):
        problems.append(f"{name}: expected an object")
        return None
    start = len(problems)
    for section, value in spec.items():
        allowed = _SECTIONS.get(section)
        if allowed is None:
            problems.append(f"{name}: unknown source {section!r} (known: {', '.join(sorted(_SECTIONS))})")
        elif not isinstance(value, dict):
            problems.append(f"{name}.{section}: expected an object")
        else:
            for key in sorted(set(value) - allowed):
                problems.append(f"{name}.{section}: unknown key {key!r}")
    ice = spec.get("icecast") if isinstance(spec.get("icecast"), dict) else {}
    mounts = ice.get("mounts", [])
    if not isinstance(mounts, list) or not all(isinstance(m, str) and m.startswith("/") for m in mounts):
        problems.append(f"{name}.icecast.mounts: expected a list of mount paths starting with /")
        mounts = []
    fallback = ice.get("fallback_mounts", [])
    if not isinstance(fallback, list) or not all(isinstance(m, str) and m.startswith("/") for m in fallback):
        problems.append(f"{name}.icecast.fallback_mounts: expected a list of mount paths starting with /")
        fallback = []
    pattern = None
    if ice.get("app_user_agent") is not None:
        try:
            pattern = re.compile(str(ice["app_user_agent"]), re.IGNORECASE)
        except re.error as exc:
            problems.append(f"{name}.icecast.app_user_agent: not a valid regular expression ({exc})")
    site_id = _section_value(spec, "matomo", "site_id")
    if site_id is not None and not (isinstance(site_id, int) and not isinstance(site_id, bool) and site_id > 0):
        problems.append(f"{name}.matomo.site_id: expected a positive whole number")
        site_id = None
    apple = _ids(
        spec,
        "apple",
        "app_id",
        problems,
        name,
        lambda v: isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).isascii() and str(v).isdigit(),
        "the numeric Apple ID as a string",
    )
    google = _ids(
        spec,
        "google",
        "package",
        problems,
        name,
        lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z][\w]*(\.[A-Za-z_][\w]*)+", v, re.ASCII) is not None,
        "a package name like com.example.app",
    )
    if len(problems) > start:
        return None
    return Tenant(
        name=name,
        icecast_mounts=tuple(mounts),
        fallback_mounts=tuple(dict.fromkeys(fallback)),
        app_user_agent=pattern,
        matomo_site_id=site_id,
        apple_app_ids=apple,
        google_packages=google,
    )


def _ids(spec: dict, section: str, key: str, problems: list[str], name: str, valid: Any, what: str) -> tuple[str, ...]:
    """``key`` (one id) and/or ``key + "s"`` (a list) of a store section, checked, in order, once each."""
    one, many = _section_value(spec, section, key), _section_value(spec, section, key + "s")
    found: list[Any] = [] if one is None else [one]
    if many is not None:
        if not isinstance(many, list) or not many:
            problems.append(f"{name}.{section}.{key}s: expected a non-empty list")
            many = []
        found += many
    out: list[str] = []
    for value in found:
        if not valid(value):
            problems.append(f"{name}.{section}.{key}: expected {what}")
        elif str(value) not in out:
            out.append(str(value))
    return tuple(out)


def _section_value(spec: dict, section: str, key: str) -> Any:
    value = spec.get(section)
    return value.get(key) if isinstance(value, dict) else None
