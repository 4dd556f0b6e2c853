"""What keeps ``make run`` running as the deployed app runs, after its first round.

* the timers on their schedules (``*_SCHEDULE``, as the host reads them), each collector run in
  this process exactly as the host calls it;
* the Event Hub path fed by a hub stand-in: a real HAProxy running the shipped snippet, a few
  HLS players fetching a playlist and a segment every 6 s, the real agent ticking every 10 s
  (its sessions qualify after a minute, as an edge's do), and a small platform-event
  generator; every message goes through ``eventhub_to_redis`` in order, with positions, as the
  trigger delivers them (partition ``local-hub``);
* the HTTP functions, served by the caller.

A job that fails prints one line and runs again at its next time: nothing here stops the loop
but Ctrl-C or ``make stop`` (SIGTERM).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

PARTITION = "local-hub"
PLAYERS = [  # (tenant, User-Agent, source address): real players, so the lists call them players
    ("acme-fm", "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X)", "127.0.0.12"),
    ("acme-fm", "VLC/3.0.20 LibVLC/3.0.20", "127.0.0.13"),
    (
        "acme-fm",
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
        "127.0.0.14",
    ),
    ("metro-kids", "Sonos/79.1-55140 (ZPS27)", "127.0.0.15"),
]


class LocalHub:
    """The Event Hub stand-in: what is sent goes through ``eventhub_to_redis`` at once, in order."""

    def __init__(self, env: Mapping[str, str]):
        self.env = env
        self.sequence = 0
        self.lock = threading.Lock()

    def send(self, messages: list[dict]) -> None:
        import eventhub_to_redis
        from eventhub_to_redis.cli import hub_event

        with self.lock:
            events = []
            for message in messages:
                self.sequence += 1
                events.append(hub_event(json.dumps(message).encode(), PARTITION, self.sequence))
            eventhub_to_redis.run(events, env=self.env)


def play(url: str, tenant: str, agent: str, address: str, stop: threading.Event) -> None:
    """One HLS player: the playlist and the next segment every 6 s (a segment's duration)."""
    import urllib3

    pool = urllib3.HTTPConnectionPool("127.0.0.1", int(url.rsplit(":", 1)[1]), source_address=(address, 0), maxsize=1)
    segment = 0
    while not stop.is_set():
        for path in (f"/{tenant}/live/index.m3u8", f"/{tenant}/live/seg{segment}.ts"):
            try:
                pool.request("GET", path, headers={"User-Agent": agent}, timeout=5, retries=False)
            except urllib3.exceptions.HTTPError:
                pass
        segment += 1
        stop.wait(6)


class LocalApp:
    """The loop: each job at its interval, until ``stop()`` (or Ctrl-C)."""

    def __init__(self, env: Mapping[str, str], workdir: Path, *, say: Callable[[str], None] = print):
        from devstack.haproxy import HAProxy
        from haproxy_agent.agent import Agent
        from haproxy_agent.config import AgentConfig
        from shared.core.functions import descriptors, discover
        from shared.runtime.health import schedule_interval_seconds

        self.env, self.say = env, say
        self.stopping = threading.Event()
        self.hub = LocalHub(env)
        self.edge = HAProxy(workdir / "haproxy").start()
        self.agent = Agent(
            config=AgentConfig(socket=self.edge.socket, tenants=("acme-fm", "metro-kids"), host="local-edge"),
            sender=self.hub,
        )
        self.players = [
            threading.Thread(target=play, args=(self.edge.url, *p, self.stopping), daemon=True) for p in PLAYERS
        ]
        every = lambda name: schedule_interval_seconds(descriptors()[name].schedule_in(env) or "")  # noqa: E731
        timers = [name for name, info in discover().items() if info.trigger_type == "timerTrigger"]
        self.jobs: list[tuple[str, float, Callable[[], Any]]] = [
            *((name, every(name), lambda name=name: self._timer(name)) for name in timers),
            ("haproxy agent", 10.0, self.agent.tick),
            ("platform events", 10.0, self._events),
        ]

    @property
    def processes(self) -> list[Any]:
        return [self.edge.server]

    def _timer(self, name: str) -> Any:
        import importlib

        from azure.functions.timer import TimerRequest

        report = importlib.import_module(name).run(TimerRequest(past_due=False), env=self.env)
        if not report.ok:
            failed = report.failures[0]
            self.say(f"{time.strftime('%H:%M:%S')} {name}: {failed.source} failed: {failed.error}")
        return report

    def _events(self) -> None:
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        kinds = random.choices(["app.play", "app.stop", "app.open"], weights=[5, 2, 1], k=random.randint(1, 3))
        self.hub.send([{"tenant": "acme-fm", "type": kind, "time": now, "platform": "ios"} for kind in kinds])

    def run_forever(self) -> None:
        for player in self.players:
            player.start()
        due = {name: time.monotonic() + (0 if interval < 3600 else interval) for name, interval, _ in self.jobs}
        while not self.stopping.is_set():
            for name, interval, job in self.jobs:
                if time.monotonic() < due[name]:
                    continue
                due[name] = time.monotonic() + interval
                try:
                    job()
                except Exception as exc:  # noqa: BLE001 - one line, and the next run tries again
                    self.say(f"{time.strftime('%H:%M:%S')} {name}: {type(exc).__name__}: {exc}")
            self.stopping.wait(max(0.2, min(due.values()) - time.monotonic()))

    def stop(self) -> None:
        self.stopping.set()
        self.edge.stop()
