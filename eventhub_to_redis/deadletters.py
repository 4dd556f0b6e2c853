"""``python -m shared.cli deadletters [--since 2h] [--show NAME] [--json]``: read the dead letters.

Lists the newest dead letters in the ``DEADLETTER_CONTAINER`` (one blob per message, named by its
enqueued day and Event Hub position: eventhub_to_redis/deadletter.py), with their reasons;
``--show NAME`` prints one whole (its body keeps the contract's fields, nothing keyed). Why a
command: on call at 3 a.m. the status says "5 of 30 dead-lettered"; the next question is which,
and why, without a storage browser.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from typing import Any, Mapping

from eventhub_to_redis.settings import load_settings
from shared.clients.blob import describe, get_container
from shared.core.errors import ConfigError, StorageError

PREFIX = "eventhub_to_redis/"
_SINCE = re.compile(r"(\d{1,4})([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def add_commands(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "deadletters",
        help="list the newest dead letters with their reasons, or show one",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )
    parser.add_argument("--since", default="1d", help="how far back: 30m, 6h, 2d, or an ISO date (default 1d)")
    parser.add_argument("--limit", type=int, default=20, help="at most this many, newest first (default 20)")
    parser.add_argument("--show", metavar="NAME", help="print this dead letter whole (a name as listed)")
    parser.add_argument("--json", action="store_true", help="one JSON object per dead letter")
    parser.add_argument("--settings", metavar="FILE")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace, *, env: Mapping[str, str]) -> int:
    settings = load_settings(env)
    container = get_container(
        settings.deadletter_connection, settings.deadletter_container, setting="DEADLETTER_STORAGE_CONNECTION"
    )
    if args.show:
        print(json.dumps(_read(container, args.show), indent=1, ensure_ascii=False))
        return 0
    since = parse_since(args.since, now=dt.datetime.now(dt.timezone.utc))
    names = _names(container, since)[: max(1, args.limit)]
    letters = [(name, _read(container, name)) for name in names]
    if args.json:
        for name, doc in letters:
            print(json.dumps({"name": name, **doc}, ensure_ascii=False))
        return 0
    if not letters:
        print(f"no dead letters since {since.isoformat(timespec='minutes')} in {settings.deadletter_container}")
        return 0
    for name, doc in letters:
        when = doc.get("enqueued_time_ms")
        stamp = dt.datetime.fromtimestamp(when / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if when else "?"
        print(f"{stamp}  partition {doc.get('partition')} seq {doc.get('sequence_number')}: {doc.get('reason')}")
        print(f"    {name}")
    print(f"{len(letters)} shown (newest first); --show NAME prints one whole")
    return 0


def parse_since(text: str, *, now: dt.datetime) -> dt.datetime:
    """``30m``/``6h``/``2d`` before ``now``, or an ISO date or date-time (UTC when no zone)."""
    match = _SINCE.fullmatch(text.strip())
    if match:
        return now - dt.timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError({"--since": f"{text[:40]!r} is not 30m, 6h, 2d or an ISO date"}) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _names(container: Any, since: dt.datetime) -> list[str]:
    """Dead letters enqueued since ``since`` (by the day in their names, then their time), newest first."""
    from azure.core.exceptions import AzureError

    days = []
    day = since.date()
    while day <= dt.datetime.now(dt.timezone.utc).date():
        days.append(day.isoformat())
        day += dt.timedelta(days=1)
    found = []
    try:
        for prefix in [*(f"{PREFIX}{d}/" for d in days), f"{PREFIX}unknown-date/"]:
            found += [(b.last_modified, b.name) for b in container.list_blobs(name_starts_with=prefix)]
    except AzureError as exc:
        raise StorageError(describe(exc, container, "listing dead letters")) from None
    cutoff = since.timestamp()
    return [name for modified, name in sorted(found, reverse=True) if not modified or modified.timestamp() >= cutoff]


def _read(container: Any, name: str) -> dict:
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    if not name.startswith(PREFIX) or ".." in name:
        raise ConfigError({"--show": f"{name[:80]!r} is not a dead letter's name (as listed: {PREFIX}…)"})
    try:
        return json.loads(container.download_blob(name).readall())
    except ResourceNotFoundError:
        raise ConfigError({"--show": f"no dead letter named {name[:80]!r}"}) from None
    except AzureError as exc:
        raise StorageError(describe(exc, container, f"reading {name}")) from None
    except ValueError:
        return {"reason": "(this blob is not a dead letter's JSON)"}
