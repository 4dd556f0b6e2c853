"""python -m haproxy_agent: read HLS listener counts from a HAProxy stick table every N
seconds and send each tick as one ``hls.tick`` message to the Event Hub.
``python -m haproxy_agent ship-logs FILE...``: ship rotated access logs, addresses hashed;
``python -m haproxy_agent derive-logs-key``: the edge's LOGS_HASH_KEY from the app's key."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

from haproxy_agent.agent import Agent
from haproxy_agent.config import load
from haproxy_agent.env_file import EnvFileError, read_env_file
from haproxy_agent.log_shipper import main as ship
from haproxy_agent.log_shipper import open_salts
from haproxy_agent.senders import EventHubSender, PrintSender
from haproxy_agent.ship_config import derive_logs_key as derive
from haproxy_agent.ship_config import load_config
from haproxy_agent.ship_upload import check
from shared.core.errors import FabrikError, exit_code
from shared.core.user_agents import ordered_patterns


def ship_logs(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m haproxy_agent ship-logs",
        description="Ship rotated HAProxy access logs to Blob Storage, every address "
        "hashed on this host (the fabrik-ship-logs.service runs this hourly).",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="rotated log files or glob patterns (plain or gzip), e.g. '/var/log/fabrik-hls/*.log-*'",
    )
    parser.add_argument("--env-file", metavar="FILE", help="KEY=VALUE lines, read as systemd reads EnvironmentFile")
    parser.add_argument(
        "--check", action="store_true", help="validate the settings and write a probe blob, ship nothing"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    _quiet_logging(args.verbose, ("azure.core", "azure.storage", "azure.identity"))

    env = dict(os.environ)
    if args.env_file:
        try:
            env.update(read_env_file(args.env_file))
        except OSError as exc:
            print(f"error: --env-file {args.env_file}: {exc.strerror}", file=sys.stderr)
            return 2
        except EnvFileError as exc:
            print(f"error: --env-file {exc}", file=sys.stderr)
            return 2
    if args.check:
        return check_shipping(env)
    if not args.files:
        parser.error("name the rotated files (or --check)")
    return ship(args.files, env)


def check_shipping(env: dict[str, str]) -> int:

    try:
        config = load_config(env)
        name = check(config)
        salts = open_salts(config, now=time.time())
        salts.hasher(salts.today)  # today's salt read or made, and old ones deleted: every right a run uses
        salts.prune()
    except FabrikError as exc:  # 2 for a setting, 3 for storage that refuses or cannot be reached
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)
    print(
        f"ok: host {config.host}, LOGS_HASH_KEY fingerprint {config.key_fingerprint}, wrote {config.container}/{name},"
        f" today's salt in {config.salt_container}"
    )
    return 0


def derive_logs_key(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m haproxy_agent derive-logs-key",
        description="Print the edge's LOGS_HASH_KEY for the app's IDENTITY_HASH_KEY "
        "(read from that variable, or from standard input).",
    )
    parser.parse_args(argv)

    key = os.environ.get("IDENTITY_HASH_KEY") or sys.stdin.readline().strip()
    if len(key) < 16:
        print("error: IDENTITY_HASH_KEY: missing or shorter than 16 characters", file=sys.stderr)
        return 2
    print(derive(key))
    return 0


def clients_map() -> str:
    """The HAProxy map of client kinds by User-Agent (haproxy-hls.cfg's ``map_reg``): one regex a
    line, then its kind (``bot``, ``player``, ``browser``), first match wins. A map key is one
    word, so spaces and tabs are written ``\\x20``/``\\x09`` and a leading ``#`` is escaped."""
    lines = [
        "# Client kinds for fabrik's HLS sessions: python -m haproxy_agent clients-map (OPAWG, crawler-user-agents)"
    ]
    for pattern, kind in ordered_patterns():
        key = pattern.replace(" ", "\\x20").replace("\t", "\\x09")
        lines.append(("\\" + key if key.startswith("#") else key) + " " + kind)
    return "\n".join(lines) + "\n"


def _quiet_logging(verbose: bool, noisy: tuple[str, ...]) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    for name in noisy:  # the SDKs log a line per request or AMQP frame at INFO
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ship-logs"]:
        return ship_logs(argv[1:])
    if argv[:1] == ["derive-logs-key"]:
        return derive_logs_key(argv[1:])
    if argv[:1] == ["clients-map"]:
        sys.stdout.write(clients_map())
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m haproxy_agent",
        description=__doc__,
        epilog="Settings: haproxy_agent/README.md (a JSON --config file, environment variables on top).",
    )
    parser.add_argument("--config", metavar="FILE", help="JSON settings file")
    parser.add_argument("--once", action="store_true", help="one tick, then exit (non-zero if it failed)")
    parser.add_argument("--dry-run", action="store_true", help="print the messages as JSON lines; send nothing")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    _quiet_logging(args.verbose, ("azure.core", "azure.eventhub", "azure.identity", "uamqp"))
    try:
        config = load(os.environ, args.config, need_eventhub=not args.dry_run)
    except FabrikError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)
    sender = (
        PrintSender()
        if args.dry_run
        else EventHubSender(
            config.eventhub_connection,
            config.eventhub_name,
            namespace=config.eventhub_namespace,
            credential_kind=config.eventhub_credential,
            client_id=config.eventhub_client_id,
        )
    )
    agent = Agent(config=config, sender=sender)
    agent.check_reload_handover()
    if args.once:
        return 0 if agent.tick() is not None else 1
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        agent.run_forever(stop=lambda: bool(stopping))
    except KeyboardInterrupt:
        pass
    finally:
        if isinstance(sender, EventHubSender):
            sender.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
