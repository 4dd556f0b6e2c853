"""``make run``: the whole app on this machine, with real local servers, in about a minute.

Starts Redis, Azurite, two Icecast mounts per tenant with a generated stream and listeners,
and a Matomo stand-in; writes ``.devstack/local.settings.json``; runs every collector through
the CLI exactly as on-call would; then shows each tenant's live data and the run status.
``KEEP=1 make run`` leaves everything running until Ctrl-C so you can try the CLI yourself.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devstack.azurite import azurite, connection_string
from devstack.icecast import Icecast
from devstack.matomo import matomo_handler
from devstack.redis_servers import redis_server

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".devstack"
SETTINGS = STATE / "local.settings.json"
LISTENERS = [  # (mount, User-Agent, source address)
    ("/acme.mp3", "AcmeRadio/3.2 (iPhone; iOS 17.1) CFNetwork/1474", "127.0.0.2"),
    ("/acme.mp3", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
     "127.0.0.3"),
    ("/acme.aac", "VLC/3.0.20 LibVLC/3.0.20", "127.0.0.4"),
    ("/metro.mp3", "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X)", "127.0.0.5"),
    ("/acme.mp3", "AcmeRadio/3.2 (Android 14) ExoPlayerLib/2.19.1", "127.0.0.6"),
    ("/metro.mp3", "Sonos/79.1-55140 (ZPS27)", "127.0.0.7"),
]


def cli(*args: str) -> int:
    argv = [sys.executable, "-m", "shared.cli", *args]
    print(f"\n$ python -m shared.cli {' '.join(args)}", flush=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TERM", "COLUMNS")}
    return subprocess.run(argv, cwd=ROOT, env=env).returncode


def main() -> int:
    from pytest_httpserver import HTTPServer

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    redis = redis_server(STATE / "redis").start()
    blob = azurite(STATE / "azurite").start()
    ice = Icecast(STATE / "icecast", admin_password="devstack-admin").start()
    matomo = HTTPServer(host="127.0.0.1", port=0)
    matomo.expect_request("/index.php", method="POST").respond_with_handler(matomo_handler(
        {3: {3: {"visits": 14, "visitors": 11, "actions": 52}, 1: {"visits": 5, "visitors": 5, "actions": 17}},
         7: {3: {"visits": 4, "visitors": 4, "actions": 9}, 1: {"visits": 1, "visitors": 1, "actions": 2}}},
        token="devstack-matomo-token"))
    matomo.start()
    try:
        for mount in ("/acme.mp3", "/acme.aac", "/metro.mp3"):
            ice.add_source(mount)
        tenants = {"acme-fm": {"icecast": {"mounts": ["/acme.mp3", "/acme.aac"], "app_user_agent": "^AcmeRadio/"},
                               "matomo": {"site_id": 3}},
                   "metro-kids": {"icecast": {"mounts": ["/metro.mp3"]}, "matomo": {"site_id": 7}}}
        values = {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": connection_string(blob.port),
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "IDENTITY_HASH_KEY": os.urandom(24).hex(),
            "TENANTS": json.dumps(tenants),
            "ICECAST_SERVERS": json.dumps([{"name": "local-icecast", "url": ice.url, "username": "admin",
                                            "password": "devstack-admin"}]),
            "MATOMO_URL": matomo.url_for("/"), "MATOMO_TOKEN": "devstack-matomo-token",
            "EVENTHUB_NAME": "fabrik-events", "EVENTHUB_CONSUMER_GROUP": "live-collectors",
        }
        SETTINGS.write_text(json.dumps({"IsEncrypted": False, "Values": values}, indent=2))
        settings = ["--settings", str(SETTINGS)]
        # A few icecast runs with listeners arriving between them, so the sparklines move.
        for i, (mount, agent, address) in enumerate(LISTENERS):
            ice.add_listener(mount, user_agent=agent, address=address)
            if i % 2 == 1:
                time.sleep(1.1)
                cli("run", "icecast_poller", *settings)
        cli("run", "matomo_live_poller", *settings)
        events = STATE / "events.jsonl"
        now = dt.datetime.now(dt.timezone.utc)
        lines = [{"type": "hls.listeners", "tenant": t, "time": (now - dt.timedelta(seconds=s)).isoformat(),
                  "listeners": n} for s, (t, n) in enumerate([("acme-fm", 21), ("acme-fm", 23), ("metro-kids", 4)])]
        lines += [{"tenant": "acme-fm", "type": "app.play", "time": now.isoformat(), "ip": "192.0.2.10"},
                  "not json: shows up in the deadletter container"]
        events.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
        cli("run", "eventhub_to_redis", "--input", str(events), *settings)
        cli("show", "acme-fm", *settings)
        cli("show", "metro-kids", *settings)
        cli("status", *settings)
        print(f"\nSettings of this stack: {SETTINGS.relative_to(ROOT)} (Redis on port {redis.port}).")
        if os.environ.get("KEEP") == "1":
            print("Everything keeps running; try: python -m shared.cli show acme-fm --json "
                  f"--settings {SETTINGS.relative_to(ROOT)}   (Ctrl-C to stop)")
            while True:
                time.sleep(3600)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        matomo.stop()
        ice.stop()
        blob.stop()
        redis.stop()


if __name__ == "__main__":
    sys.exit(main())
