"""A tenant's ``icecast`` section of ``TENANTS``, and which tenant a mount counts for.

``{"mounts": ["/acme.mp3"], "fallback_mounts": ["/loop.mp3"], "app_user_agent": "^AcmeRadio/"}``:
a mount belongs to one tenant; a fallback (Icecast's ``<fallback-mount>``) counts for the
tenant when only it declares one, and is reported as "on fallback" when several share one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from shared.core.descriptor import TenantSection
from shared.core.tenants import Tenants, claimed_once


@dataclass(frozen=True)
class IcecastTenant:
    mounts: tuple[str, ...] = ()
    fallback_mounts: tuple[str, ...] = ()
    app_user_agent: re.Pattern[str] | None = None  # the tenant's own app, matched in User-Agents


@dataclass(frozen=True)
class MountOwners:
    """Which tenant each mount counts for, built once from ``TENANTS``."""

    tenants: Mapping[str, IcecastTenant]
    own: Mapping[str, str]  # mount -> the tenant whose own mount it is
    fallbacks: Mapping[str, tuple[str, ...]]  # fallback mount -> the tenants declaring it

    @classmethod
    def of(cls, tenants: Tenants) -> MountOwners:
        records = tenants.with_section("icecast")
        own = {m: name for name, r in records.items() for m in r.mounts}
        fallbacks: dict[str, tuple[str, ...]] = {}
        for name, record in records.items():
            for mount in record.fallback_mounts:
                fallbacks[mount] = (*fallbacks.get(mount, ()), name)
        return cls(tenants=records, own=own, fallbacks=fallbacks)

    def tenant_for_mount(self, mount: str) -> str | None:
        """The tenant whose own mount this is, or whose fallback only it declares."""
        found = self.own.get(mount)
        if found is None:
            owners = self.fallbacks.get(mount, ())
            found = owners[0] if len(owners) == 1 else None
        return found

    def fallback_sharers(self, mount: str) -> tuple[str, ...]:
        """The tenants declaring ``mount`` as a fallback, when two or more share it."""
        owners = self.fallbacks.get(mount, ())
        return owners if len(owners) > 1 else ()

    def counted(self, tenant: str) -> list[str]:
        """The mounts whose listeners are the tenant's: its own and the fallbacks only it declares."""
        record = self.tenants[tenant]
        return [*record.mounts, *(m for m in record.fallback_mounts if self.tenant_for_mount(m) == tenant)]


def _parse(tenant: str, value: dict, problems: list[str]) -> IcecastTenant:
    mounts = _mount_list(tenant, value, "mounts", problems)
    fallback = _mount_list(tenant, value, "fallback_mounts", problems)
    pattern = None
    if value.get("app_user_agent") is not None:
        try:
            pattern = re.compile(str(value["app_user_agent"]), re.IGNORECASE)
        except re.error as exc:
            problems.append(f"{tenant}.icecast.app_user_agent: not a valid regular expression ({exc})")
    return IcecastTenant(mounts=mounts, fallback_mounts=tuple(dict.fromkeys(fallback)), app_user_agent=pattern)


def _mount_list(tenant: str, value: dict, key: str, problems: list[str]) -> tuple[str, ...]:
    mounts = value.get(key, [])
    if not isinstance(mounts, list) or not all(isinstance(m, str) and m.startswith("/") for m in mounts):
        problems.append(f"{tenant}.icecast.{key}: expected a list of mount paths starting with /")
        return ()
    return tuple(mounts)


def _check(records: Mapping[str, IcecastTenant], problems: list[str]) -> None:
    own = claimed_once(records, lambda r: r.mounts, "mount", problems)
    for tenant, record in records.items():
        for mount in record.fallback_mounts:
            if mount in own:
                problems.append(f"{tenant}.icecast.fallback_mounts: {mount} is {own[mount]}'s own mount")


SECTION = TenantSection(
    name="icecast", keys=frozenset({"mounts", "app_user_agent", "fallback_mounts"}), parse=_parse, check=_check
)
