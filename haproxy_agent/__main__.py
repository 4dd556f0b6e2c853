"""python -m haproxy_agent: read HLS listener counts from a HAProxy stick table every N
seconds and send one ``hls.listeners`` message per tenant to the Event Hub."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from haproxy_agent.agent import Agent
from haproxy_agent.config import ConfigProblem, load
from haproxy_agent.senders import EventHubSender, PrintSender


def main(argv: list[str] | None = None) -> int:
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
    sender = PrintSender() if args.dry_run else EventHubSender(config.eventhub_connection, config.eventhub_name)
    agent = Agent(config=config, sender=sender)
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
