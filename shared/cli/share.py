"""``python -m shared.cli share TENANT [--days N]``: a station's viewer link (docs/live-api.md).

The link is ``<base URL>/api/view/<tenant>#token=<token>``: the token (signed with the first
of ``VIEW_SIGNING_KEYS``) opens that tenant's page only, until it expires or is ended
(``--end LINK_ID``, or ``--end-all`` for every link of the tenant issued until now: kept in
Redis, read on every page request). The base URL is ``--base-url``, else ``PUBLIC_BASE_URL``,
else ``https://$WEBSITE_HOSTNAME`` (set on Azure), else the local host of ``make run``; a
plain ``http://`` address other than this machine's is warned about (the token would travel
in clear).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

from shared.core.errors import ConfigError
from shared.core.tenants import name_problem
from shared.read.view_tokens import MAX_DAYS, issue, link_id, parse_keys

LOCAL_BASE = "http://127.0.0.1:7071"


def add_parser(commands: argparse._SubParsersAction) -> None:
    share = commands.add_parser(
        "share",
        help="print a station's viewer link (its tenant only, expiring)",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )
    share.add_argument("tenant")
    share.add_argument("--days", type=float, default=30, help="how long the link works (default 30, at most 366)")
    share.add_argument("--base-url", help="the app's address, e.g. https://fabrik-live.azurewebsites.net")
    ending = share.add_mutually_exclusive_group()
    ending.add_argument("--end", metavar="LINK_ID", action="append", help="end this link (its id, as printed)")
    ending.add_argument("--end-all", action="store_true", help="end every link of the tenant issued until now")
    share.add_argument("--settings", metavar="FILE")


def base_url(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    if args.base_url:
        return args.base_url.rstrip("/")
    if env.get("PUBLIC_BASE_URL"):
        return env["PUBLIC_BASE_URL"].rstrip("/")
    if env.get("WEBSITE_HOSTNAME"):
        return f"https://{env['WEBSITE_HOSTNAME']}"
    return LOCAL_BASE


def share(args: argparse.Namespace, *, env: Mapping[str, str], known: set[str] | None) -> str:
    """The link; ConfigError naming what is wrong."""

    check_tenant(args.tenant, known)
    if not 0 < args.days <= MAX_DAYS:
        raise ConfigError({"--days": f"from more than 0 to {MAX_DAYS}"})
    try:
        keys = parse_keys(env.get("VIEW_SIGNING_KEYS", ""))
    except ValueError as exc:
        raise ConfigError({"VIEW_SIGNING_KEYS": str(exc)}) from None
    now = time.time()
    token = issue(keys, args.tenant, days=args.days, now=now)
    until = dt.datetime.fromtimestamp(now + args.days * 86400, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    base = base_url(args, env)
    return (
        f"{base}/api/view/{quote(args.tenant, safe='')}#token={token}\n"
        f"(valid until {until}; link id {link_id(token)}: `share {args.tenant} --end {link_id(token)}` ends it)"
    )


def command(args: argparse.Namespace, *, env: Mapping[str, str], known: set[str] | None, store: Any) -> None:
    """``share``: print a link (with a warning for plain HTTP), or end links (``store()`` gives
    the live store, made only then)."""
    if args.end or args.end_all:
        print(end(args, store(), known=known))
        return
    link = share(args, env=env, known=known)
    if in_clear(base_url(args, env)):
        print(
            f"warning: {base_url(args, env)} is plain HTTP: the link's token travels in clear; "
            "use the app's https:// address (--base-url or PUBLIC_BASE_URL)",
            file=sys.stderr,
        )
    sys.__stdout__.write(link + "\n")  # the one secret a command prints on purpose: past the redaction


def check_tenant(tenant: str, known: set[str] | None) -> None:
    problem = name_problem(tenant)
    if problem:
        raise ConfigError({"tenant": f"tenant name {problem}"})
    if known is not None and tenant not in known:
        raise ConfigError({"tenant": f"unknown tenant {tenant!r}: TENANTS has {', '.join(sorted(known))}"})


def in_clear(base: str) -> bool:
    """Whether links on ``base`` would carry their token over plain HTTP off this machine."""
    parts = urlsplit(base)
    return parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1")


def end(args: argparse.Namespace, store: Any, *, known: set[str] | None) -> str:
    """End links of a tenant (``--end``, ``--end-all``); ConfigError naming what is wrong."""
    check_tenant(args.tenant, known)
    ids = ["*"] if args.end_all else list(args.end)
    if any(not (i.isascii() and i.isalnum()) or len(i) > 32 for i in ids if i != "*"):
        raise ConfigError({"--end": "a link id as `share` printed it (letters and digits)"})
    store.end_links(args.tenant, ids, keep_s=(MAX_DAYS + 1) * 86400)
    if args.end_all:
        return f"ended every link of {args.tenant} issued until now; new links work"
    return f"ended {len(ids)} link(s) of {args.tenant}"
