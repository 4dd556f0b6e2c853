"""``make run``: the whole app on this machine, with real local servers, in about a minute.

Starts Redis, Azurite, two Icecast mounts per tenant with a generated stream and listeners,
and a Matomo stand-in; writes ``.devstack/local.settings.json``; runs every collector through
the CLI exactly as on-call would; then shows each tenant's live data and the run status, and
leaves everything running until Ctrl-C so you can try the CLI yourself and
open the live page it prints (served on ``PORT``, default 7071, as Core Tools would).
Then it keeps running as the deployed app runs (devstack/running.py) until Ctrl-C or ``make
stop``; ``ONCE=1 make run`` stops after the first round.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devstack.azurite import azurite, connection_string
from devstack.icecast import Icecast
from devstack.matomo import matomo_handler
from devstack.redis_servers import redis_server

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("DEVSTACK_DIR") or ROOT / ".devstack")  # DEVSTACK_DIR: a stack elsewhere (tests)
SETTINGS = STATE / "local.settings.json"
LISTENERS = [  # (mount, User-Agent, source address)
    ("/acme.mp3", "AcmeRadio/3.2 (iPhone; iOS 17.1) CFNetwork/1474", "127.0.0.2"),
    (
        "/acme.mp3",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "127.0.0.3",
    ),
    ("/acme.aac", "VLC/3.0.20 LibVLC/3.0.20", "127.0.0.4"),
    ("/metro.mp3", "AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X)", "127.0.0.5"),
    ("/acme.mp3", "AcmeRadio/3.2 (Android 14) ExoPlayerLib/2.19.1", "127.0.0.6"),
    ("/metro.mp3", "Sonos/79.1-55140 (ZPS27)", "127.0.0.7"),
]


def cli(*args: str) -> int:
    argv = [sys.executable, "-m", "shared.cli", *args]
    print(f"\n$ ./fabrik {' '.join(args)}", flush=True)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TERM", "COLUMNS")}
    return subprocess.run(argv, cwd=ROOT, env=env).returncode


def downloads_stand_ins(api: Any, values: dict, now: dt.datetime) -> list:
    """Apple's sales reports and Google's token endpoint on ``api``; a GCS emulator with this
    month's UTF-16 report. Returns what to stop afterwards."""
    import codecs

    from gcp_storage_emulator.server import create_server

    from devstack.appstore import apple_tsv, appstore_handler, google_token_handler
    from devstack.keys import apple_key as new_apple_key
    from devstack.keys import google_key as new_google_key
    from devstack.process import free_port

    apple_key, google_key = new_apple_key(), new_google_key()
    yesterday = (now - dt.timedelta(days=1)).date().isoformat()
    days = {
        yesterday: apple_tsv(
            yesterday,
            [
                ("1234567890", "1F", "DE", 42),
                ("1234567890", "3", "DE", 5),
                ("1234567890", "7", "AT", 80),
                ("1234567890", "1T", "AT", 9),
            ],
        )
    }
    api.expect_request("/v1/salesReports").respond_with_handler(
        appstore_handler(apple_key.public, issuer="devstack-issuer", key_id="DEVSTACK01", vendor="85000000", days=days)
    )
    email = "reports@devstack.iam.gserviceaccount.com"
    api.expect_request("/token", method="POST").respond_with_handler(
        google_token_handler(google_key.public, client_email=email, token_url=api.url_for("/token"))
    )
    port = free_port()
    gcs = create_server("127.0.0.1", port, in_memory=True, default_bucket="pubsite_prod_rev_devstack")
    gcs.start()
    csv_text = "Date,Package name,Country,Daily Device Installs,Daily Device Upgrades,Install events\r\n" + "".join(
        f"{(now - dt.timedelta(days=k)).date()},com.acme.radio,{c},{n},{n * 3},{n}\r\n"
        for k in range(3, 6)
        for c, n in (("DE", 10 + k), ("AT", k))
    )
    name = f"stats/installs/installs_com.acme.radio_{now:%Y%m}_country.csv"
    import requests

    requests.post(
        f"http://127.0.0.1:{port}/upload/storage/v1/b/pubsite_prod_rev_devstack/o",
        params={"uploadType": "media", "name": name},
        data=codecs.BOM_UTF16_LE + csv_text.encode("utf-16-le"),
        timeout=10,
    ).raise_for_status()
    values.update(
        {
            "APPLE_ISSUER_ID": "devstack-issuer",
            "APPLE_KEY_ID": "DEVSTACK01",
            "APPLE_PRIVATE_KEY": apple_key.private,
            "APPLE_VENDOR_NUMBER": "85000000",
            "APPLE_API_URL": api.url_for("/").rstrip("/"),
            "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(
                {
                    "type": "service_account",
                    "client_email": email,
                    "private_key": google_key.private,
                    "token_uri": api.url_for("/token"),
                }
            ),
            "GOOGLE_PLAY_BUCKET": "pubsite_prod_rev_devstack",
            "GOOGLE_STORAGE_URL": f"http://127.0.0.1:{port}",
        }
    )
    return [gcs]


def show_downloads(connection: str) -> None:
    from azure.storage.blob import BlobServiceClient

    container = BlobServiceClient.from_connection_string(connection).get_container_client("app-downloads")
    names = sorted(b.name for b in container.list_blobs())
    print(f"\nBlob Storage, container app-downloads ({len(names)} blobs):")
    for name in names:
        print(f"  {name}")
    latest = [n for n in names if n.startswith("normalised/apple/") and "acme-fm" in n]
    if latest:
        print(f"\n{latest[-1]}:")
        print(container.download_blob(latest[-1]).readall().decode())


PIDS = STATE / "pids"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def write_pids(own: int, *servers: Any) -> None:
    """``.devstack/pids``: this process first, then every server it started (``make stop`` reads it)."""
    pids = [own] + [s.proc.pid for s in servers if getattr(s, "proc", None) is not None]
    PIDS.write_text("\n".join(str(p) for p in pids) + "\n")


def stop_kept_stack() -> int:
    """Stop a stack left running (``make run``, or one whose parent was killed): SIGTERM to
    its runner, then to each server's process group. Returns how many processes were signalled."""
    try:
        pids = [int(p) for p in PIDS.read_text().split()]
    except (OSError, ValueError):
        return 0
    signalled = 0
    for index, pid in enumerate(pids):
        try:
            if index == 0:
                os.kill(pid, signal.SIGTERM)
            else:
                os.killpg(pid, signal.SIGTERM)
            signalled += 1
        except (ProcessLookupError, PermissionError):
            continue
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    PIDS.unlink(missing_ok=True)
    return signalled


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def main() -> int:
    import logging

    from pytest_httpserver import HTTPServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stop_kept_stack()
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    # SIGTERM (make stop, a supervisor) ends the stack as Ctrl-C does: every child stopped.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    redis = redis_server(STATE / "redis").start()
    blob = azurite(STATE / "azurite").start()
    ice = Icecast(STATE / "icecast", admin_password="devstack-admin").start()
    write_pids(os.getpid(), redis, blob, ice.server)
    matomo = HTTPServer(host="127.0.0.1", port=0)
    matomo.expect_request("/index.php", method="POST").respond_with_handler(
        matomo_handler(
            {
                3: {3: {"visits": 14, "visitors": 11, "actions": 52}, 1: {"visits": 5, "visitors": 5, "actions": 17}},
                7: {3: {"visits": 4, "visitors": 4, "actions": 9}, 1: {"visits": 1, "visitors": 1, "actions": 2}},
            },
            token="devstack-matomo-token",
        )
    )
    matomo.start()
    stops = []
    try:
        for mount in ("/acme.mp3", "/acme.aac", "/metro.mp3"):
            ice.add_source(mount)
        tenants = {
            "acme-fm": {
                "icecast": {"mounts": ["/acme.mp3", "/acme.aac"], "app_user_agent": "^AcmeRadio/"},
                "matomo": {"site_id": 3},
                "apple": {"app_id": "1234567890"},
                "google": {"package": "com.acme.radio"},
            },
            "metro-kids": {"icecast": {"mounts": ["/metro.mp3"]}, "matomo": {"site_id": 7}},
        }
        values = {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": connection_string(blob.port),
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "IDENTITY_HASH_KEY": os.urandom(24).hex(),
            "VIEW_SIGNING_KEYS": base64.b64encode(os.urandom(32)).decode(),
            "TENANTS": json.dumps(tenants),
            "ICECAST_SERVERS": json.dumps(
                [{"name": "local-icecast", "url": ice.url, "username": "admin", "password": "devstack-admin"}]
            ),
            "MATOMO_URL": matomo.url_for("/"),
            "MATOMO_TOKEN": "devstack-matomo-token",
            # No Event Hub here: the hub stand-in (devstack/running.py) feeds eventhub_to_redis
            # directly, so its trigger is not configured and doctor does not ask for it.
        }
        # Apple's "yesterday" is a Pacific-time day: 09:00 UTC is still the day before in Cupertino.
        stops += downloads_stand_ins(matomo, values, dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=9))
        SETTINGS.write_text(json.dumps({"IsEncrypted": False, "Values": values}, indent=2))
        settings = ["--settings", str(SETTINGS)]
        # A few icecast runs with listeners arriving between them, so the sparklines move.
        for i, (mount, agent, address) in enumerate(LISTENERS):
            ice.add_listener(mount, user_agent=agent, address=address)
            if i % 2 == 1:
                time.sleep(1.1)  # samples a second apart, so the sparklines have points to draw
                ice.wait_for_listeners()
                cli("run", "icecast_poller", *settings)
        cli("run", "matomo_live_poller", *settings)
        events = STATE / "events.jsonl"
        now = dt.datetime.now(dt.timezone.utc)
        lines = [
            {"type": "hls.listeners", "tenant": t, "time": (now - dt.timedelta(seconds=s)).isoformat(), "listeners": n}
            for s, (t, n) in enumerate([("acme-fm", 21), ("acme-fm", 23), ("metro-kids", 4)])
        ]
        lines += [
            {"tenant": "acme-fm", "type": "app.play", "time": now.isoformat(), "ip": "192.0.2.10"},
            "not json: shows up in the deadletter container",
        ]
        events.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
        cli("run", "eventhub_to_redis", "--input", str(events), *settings)
        cli("run", "store_downloads_fetcher", *settings)
        show_downloads(values["AzureWebJobsStorage"])
        cli("show", "acme-fm", *settings)
        cli("show", "metro-kids", *settings)
        cli("status", *settings)
        print(f"\nSettings of this stack: {_shown(SETTINGS)} (Redis on port {redis.port}).")
        from devstack.http_host import HttpHost

        web = HttpHost(env=values, port=int(os.environ.get("PORT", "7071"))).start()
        stops.append(type("Stop", (), {"stop": staticmethod(web.stop)})())
        health = web.handle("GET", f"/api/health?code={web.key}", {})
        print("\nThe station's page (a viewer link for acme-fm only, 1 day):")
        cli("share", "acme-fm", "--days", "1", "--base-url", web.url, *settings)
        print(
            f"The operators' side (function key {web.key}):\n"
            f"  live API    {web.url}/api/live/acme-fm?code={web.key}\n"
            f"  health      {web.url}/api/health?code={web.key}   (now: {health[0]})"
        )
        if os.environ.get("ONCE") == "1":
            print("ONCE=1: one round only; these URLs stop working now. `make run` keeps the app running.")
            return 0
        from devstack.running import LocalApp

        app = LocalApp(values, STATE)
        stops.append(app)
        write_pids(os.getpid(), redis, blob, ice.server, *app.processes)
        print(
            "\nEverything keeps running as the deployed app runs: the timers on their schedules, an HAProxy edge "
            "with four HLS players and its agent every 10 s, app events every 10 s, the pages above; try: "
            f"./fabrik show acme-fm --json --settings {_shown(SETTINGS)}   (Ctrl-C or make stop to stop)",
            flush=True,
        )
        app.run_forever()
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for server in stops:
            server.stop()
        matomo.stop()
        ice.stop()
        blob.stop()
        redis.stop()
        PIDS.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
