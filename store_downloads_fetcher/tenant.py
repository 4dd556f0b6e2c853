"""A tenant's ``apple`` and ``google`` sections of ``TENANTS``: its apps in each store.

``{"apple": {"app_id": "1234567890"}}`` or ``{"app_ids": [...]}`` (an iOS and a macOS/tvOS
app); ``{"google": {"package": "com.example.app"}}`` or ``{"packages": [...]}``. One app's
numbers belong to one tenant only: the stores report per app, not per tenant.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from shared.core.descriptor import TenantSection
from shared.core.tenants import claimed_once, listed_ids

_PACKAGE = re.compile(r"[A-Za-z][\w]*(\.[A-Za-z_][\w]*)+", re.ASCII)


def _apple_id(value: Any) -> bool:
    return (
        isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).isascii() and str(value).isdigit()
    )


def _package(value: Any) -> bool:
    return isinstance(value, str) and _PACKAGE.fullmatch(value) is not None


def _apple(tenant: str, value: dict, problems: list[str]) -> tuple[str, ...] | None:
    ids = listed_ids(
        tenant, "apple", value, "app_id", problems, valid=_apple_id, what="the numeric Apple ID as a string"
    )
    return ids or None


def _google(tenant: str, value: dict, problems: list[str]) -> tuple[str, ...] | None:
    ids = listed_ids(
        tenant, "google", value, "package", problems, valid=_package, what="a package name like com.example.app"
    )
    return ids or None


def _one_owner(what: str) -> Any:
    def check(records: Mapping[str, tuple[str, ...]], problems: list[str]) -> None:
        claimed_once(records, lambda ids: ids, what, problems)

    return check


APPLE = TenantSection(
    name="apple", keys=frozenset({"app_id", "app_ids"}), parse=_apple, check=_one_owner("apple app id")
)
GOOGLE = TenantSection(
    name="google", keys=frozenset({"package", "packages"}), parse=_google, check=_one_owner("google package")
)
