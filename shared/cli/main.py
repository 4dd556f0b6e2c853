"""Argument parsing and dispatch for ``python -m shared.cli``.

Exit codes: 0 success; 1 the run finished but a source failed (the reason is printed);
2 bad usage or settings; 3 a store (Redis, Blob) could not be reached.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any, Sequence

from shared.cli.doctor import doctor
from shared.cli.env import DEFAULT_FILE, load_env
from shared.cli.render import metric_table, report_text, series_table, status_table
from shared.cli.share import add_parser as add_share
from shared.cli.share import command as share_command
from shared.clients.redis_client import get_redis
from shared.core.errors import EXIT_FAILED, EXIT_SETTINGS, FabrikError, exit_code
from shared.core.functions import FunctionInfo, all_series, discover
from shared.core.settings import SettingsReader, load_store_settings, read_tenants
from shared.core.version import VERSION
from shared.live.store import LiveStore
from shared.privacy.redact import redact_text
from shared.read.api import judge_functions
from shared.runtime.health import enabled
from shared.runtime.logs import install, known_secrets
from shared.runtime.status import parse_status
from shared.runtime.verdict import iso

EXIT_OK, EXIT_USAGE = 0, EXIT_SETTINGS  # with EXIT_FAILED (1) and EXIT_UNAVAILABLE (3): docs/cli.md


def build_parser(functions: dict[str, FunctionInfo]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.cli",
        description="Fabrik live collectors: run one trigger by hand, look at live data and run status.",
        epilog='Settings come from --settings FILE (default ./local.settings.json, its "Values") '
        "under the environment, which wins. Exit codes: 0 ok, 1 a source failed, 2 bad usage or "
        "settings, 3 Redis or storage unreachable. See docs/cli.md.",
    )

    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level to stderr")
    parser.add_argument("--version", action="version", version=f"fabrik live collectors {VERSION}")
    parser.add_argument(
        "--settings",
        dest="settings_top",
        metavar="FILE",
        help="local.settings.json to read Values from (default ./local.settings.json); also accepted after the command",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run one function's trigger once, as the host would",
        description="Run one trigger once, exactly as the Functions host would call it, and print what it did.",
    )
    targets = run.add_subparsers(dest="function", required=True, metavar="FUNCTION")
    for info in functions.values():
        module = info.cli_module()
        sub = targets.add_parser(
            info.name,
            help=_first_line(module or info.module()),
            description=_plain(module.__doc__ if module else None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--settings", metavar="FILE", help="local.settings.json to read Values from")
        if module is not None and hasattr(module, "add_arguments"):
            module.add_arguments(sub)

    show = commands.add_parser(
        "show",
        help="a tenant's live data from Redis, newest last",
        description="Show a tenant's live series: a table with a sparkline per metric, or JSON with --json.",
    )
    show.add_argument("tenant")
    show.add_argument("series", nargs="?", help="a series: see the metrics command (default: all present)")
    show.add_argument("--minutes", type=_positive, default=None, help="only the last N minutes (default: window)")
    show.add_argument(
        "--json", action="store_true", help='print {"<series>": [{"time": <epoch ms>, "<metric>": <int>, ...}, ...]}'
    )
    show.add_argument("--settings", metavar="FILE")

    status = commands.add_parser("status", help="the last run of each function and source, and what failed")
    status.add_argument("--json", action="store_true")
    status.add_argument(
        "--all", action="store_true", help="also sources not in their function's latest run (fixed, removed, idle)"
    )
    status.add_argument("--settings", metavar="FILE")

    doctor_command = commands.add_parser(
        "doctor",
        help="check every setting and reach every source and store once",
        description="Check every setting and reach every configured source and store "
        "once (Redis, Blob containers, Icecast servers, Matomo, Apple and "
        "Google token endpoints, the Event Hub): one line each with what "
        "to fix. Exit 0 only when everything is reachable.",
    )
    doctor_command.add_argument("--settings", metavar="FILE")
    commands.add_parser(
        "metrics",
        help="the metrics of every live series, with units (Markdown)",
        description="Print the metrics each function declares for its live series, as the table in "
        "docs/redis-schema.md.",
    )

    add_share(commands)
    for info in functions.values():  # a function's own commands (eventhub_to_redis: deadletters)
        module = info.cli_module()
        if module is not None and hasattr(module, "add_commands"):
            module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    functions = discover()
    parser = build_parser(functions)
    args = parser.parse_args(argv)
    args.settings = getattr(args, "settings", None) or args.settings_top
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s"
    )
    for handler in logging.getLogger().handlers:  # an error the CLI prints as its "error:" line is said once
        handler.addFilter(lambda record: not getattr(record, "cli_prints", False))

    install()
    _redact_output()
    try:
        if args.command == "run":
            return _run(functions[args.function], args)
        if args.command == "show":
            return _show(args)
        if args.command == "doctor":
            return doctor(functions, args)
        if args.command == "metrics":
            print(metric_table(all_series().values()))
            return EXIT_OK
        if hasattr(args, "handler"):  # a function's own command
            return args.handler(args, env=load_env(args.settings))
        if args.command == "share":
            env = load_env(args.settings)
            share_command(args, env=env, known=_known_tenants(env), store=lambda: _store(args))
            return EXIT_OK
        return _status(functions, args)
    except FabrikError as exc:  # the error's fields decide, not its class: a setting to fix, or try again later
        return _fail(exit_code(exc), str(exc) + (_settings_hint(args) if exc.setting else ""))


def _run(info: FunctionInfo, args: argparse.Namespace) -> int:

    env = load_env(args.settings)
    cli = info.cli_module()
    if cli is not None and hasattr(cli, "invoke"):
        report = cli.invoke(args, env=env)
    elif info.trigger_type == "timerTrigger":
        from azure.functions.timer import TimerRequest

        report = info.module().run(TimerRequest(past_due=False), env=env)
    else:
        return _fail(EXIT_USAGE, f"{info.name}: a {info.trigger_type} needs input; see --help")
    print(report_text(report))
    if not report.ok:
        failed = report.failures
        return _fail(
            EXIT_FAILED,
            f"{len(failed)} of {len(report.outcomes)} sources failed; first: {failed[0].source}: {failed[0].error}",
        )
    if cli is not None and hasattr(cli, "summary"):  # what the run's own verdict leaves out
        text, failed_share = cli.summary(report, env)
        if failed_share:
            return _fail(EXIT_FAILED, text)
        if text:
            print(text)
    return EXIT_OK


def _store(args: argparse.Namespace) -> Any:

    settings = load_store_settings(load_env(args.settings))
    return LiveStore(get_redis(settings), settings=settings)


def _show(args: argparse.Namespace) -> int:

    if args.series and args.series not in all_series():
        return _fail(EXIT_USAGE, f"unknown series {args.series!r}; choose from {', '.join(all_series())}")
    known = _known_tenants(load_env(args.settings))
    if known is not None and args.tenant not in known:
        return _fail(EXIT_USAGE, f"unknown tenant {args.tenant!r}: TENANTS has {', '.join(sorted(known))}")
    store = _store(args)
    if args.minutes and args.minutes * 60_000 > store.window_ms:
        return _fail(EXIT_USAGE, f"--minutes {args.minutes}: the live window is {store.window_ms // 60_000} minutes")
    now_ms = int(time.time() * 1000)
    since = now_ms - args.minutes * 60_000 if args.minutes else now_ms - store.window_ms
    names = [args.series] if args.series else store.series_present(args.tenant)
    data = {name: store.read_series(args.tenant, name, since_ms=since) for name in names}
    if args.json:
        print(json.dumps({name: [{"time": s.time_ms, **s.metrics} for s in samples] for name, samples in data.items()}))
    elif not data:
        hint = "" if known is not None else " (TENANTS is not set here, so a misspelt name looks the same)"
        print(f"no live data for tenant {args.tenant!r} in the last {(now_ms - since) // 60000} minutes{hint}")
    else:
        _print_series(data, since_ms=since, now_ms=now_ms)
    return EXIT_OK


def _print_series(data: dict[str, list[Any]], *, since_ms: int, now_ms: int) -> None:
    # The trend spans what is there (from the oldest sample shown), not the empty window before it.
    oldest = min((s[0].time_ms for s in data.values() if s), default=since_ms)
    for name, samples in data.items():
        print(series_table(name, samples, start_ms=oldest, end_ms=max(now_ms, oldest + 1)))


def _status(functions: dict[str, FunctionInfo], args: argparse.Namespace) -> int:
    """Every enabled function and every source that reported, judged as health judges them
    (shared.runtime.verdict); exit 0 only when everything shown is ok, 1 otherwise."""

    env = load_env(args.settings)
    store = _store(args)
    now_ms = int(time.time() * 1000)
    raw = store.read_status(functions)
    shown = sorted(set(enabled(env, functions)) | {f for f, fields in raw.items() if fields})
    verdicts, loss = judge_functions(store, shown, env, now_ms=now_ms)
    rows = [r for name in shown for r in parse_status(name, raw.get(name, {}))]
    if args.json:
        print(
            json.dumps(
                {
                    "redis_lost_data_at": iso(loss.lost_at_ms) if loss else None,
                    "sources": [v.as_json() for v in verdicts],
                    "gone": [r.source for r in rows if r.gone] if args.all else [],
                }
            )
        )
    else:
        if loss is not None:
            print(
                f"Redis lost its data at about {iso(loss.lost_at_ms)} (first run recorded "
                f"{iso(loss.first_run_ms) or 'earlier'}): runs since then are shown; functions not run since are "
                "'unknown' for one freshness limit"
            )
        print(status_table(rows, verdicts, now_ms=now_ms, show_gone=args.all))
    # As health judges: "unknown" (not run since Redis lost its data, within a freshness limit) is
    # not a failure; "warn" (dead letters below the limit) is worth an exit code here.
    return EXIT_OK if all(v.state in ("ok", "unknown") for v in verdicts) else EXIT_FAILED


class _Redacting:
    """A text stream that masks every known secret (settings, tokens, URL credentials) before
    writing: whatever a server echoed into an error, it is not printed."""

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> int:

        return self.stream.write(redact_text(text, known_secrets()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _redact_output() -> None:
    if not isinstance(sys.stdout, _Redacting):
        sys.stdout = _Redacting(sys.stdout)
    if not isinstance(sys.stderr, _Redacting):
        sys.stderr = _Redacting(sys.stderr)


def _fail(code: int, reason: str) -> int:
    print(f"error: {' '.join(reason.split())}", file=sys.stderr)
    return code


def _settings_hint(args: argparse.Namespace) -> str:

    if getattr(args, "settings", None) or os.path.exists(DEFAULT_FILE):
        return ""
    return f" (no --settings given and no ./{DEFAULT_FILE} in {os.getcwd()}: settings came from the environment only)"


def _known_tenants(env: dict[str, str]) -> set[str] | None:
    if not env.get("TENANTS"):
        return None

    reader = SettingsReader(env)
    tenants = read_tenants(reader)
    reader.check()
    return set(tenants.by_name)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


def _plain(doc: str | None) -> str | None:
    """A module docstring as help text: reStructuredText literals shown as plain text."""
    return None if doc is None else doc.replace("``", "")


def _first_line(module: Any) -> str:
    doc = (getattr(module, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""
