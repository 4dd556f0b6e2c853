"""python -m haproxy_agent: read HLS listener counts from a HAProxy stick table every N
seconds and send one ``hls.listeners`` message per tenant to the Event Hub.
``python -m haproxy_agent ship-logs FILE...``: ship rotated access logs, addresses hashed."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from haproxy_agent.agent import Agent
from haproxy_agent.config import ConfigProblem, load
from haproxy_agent.senders import EventHubSender, PrintSender


def ship_logs(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m haproxy_agent ship-logs",
                                     description="Ship rotated HAProxy access logs to Blob Storage, every address "
                                                 "hashed on this host (logrotate's postrotate calls this).")
    parser.add_argument("files", nargs="+", metavar="FILE", help="rotated log files (plain or gzip)")
    parser.add_argument("--env-file", metavar="FILE", help="KEY=VALUE lines, as systemd's EnvironmentFile")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("azure.core", "azure.storage", "azure.identity"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from haproxy_agent.log_shipper import main as ship

    env = dict(os.environ)
    if args.env_file:
        try:
            lines = open(args.env_file, encoding="utf-8").read().splitlines()
        except OSError as exc:
            print(f"error: --env-file {args.env_file}: {exc.strerror}", file=sys.stderr)
            return 2
        env.update(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return ship(args.files, env)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ship-logs"]:
        return ship_logs(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m haproxy_agent", description=__doc__,
                                     epilog="Settings: haproxy_agent/README.md (a JSON --config file, "
                                            "environment variables on top).")
    parser.add_argument("--config", metavar="FILE", help="JSON settings file")
    parser.add_argument("--once", action="store_true", help="one tick, then exit (non-zero if it failed)")
    parser.add_argument("--dry-run", action="store_true", help="print the messages as JSON lines; send nothing")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    # The SDKs log a line per AMQP frame at INFO; keep them quiet, and nothing else.
    for noisy in ("azure.core", "azure.eventhub", "azure.identity", "uamqp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = load(os.environ, args.config, need_eventhub=not args.dry_run)
    except ConfigProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sender = PrintSender() if args.dry_run else EventHubSender(
        config.eventhub_connection, config.eventhub_name, namespace=config.eventhub_namespace,
        credential_kind=config.eventhub_credential, client_id=config.eventhub_client_id)
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
