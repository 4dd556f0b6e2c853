"""Run every collector with known IPs, passwords, tokens and keys; then scan every Redis key and
value, every blob, and every captured log line: none of them may appear."""

import json
import logging

from azure.storage.blob import BlobServiceClient

import eventhub_to_redis
import icecast_poller
import matomo_live_poller
import store_downloads_fetcher
from devstack.appstore import appstore_handler, google_token_handler
from devstack.azurite import KEY as AZURITE_KEY
from devstack.azurite import connection_string
from devstack.matomo import matomo_handler
from tests.conftest import TEST_HASH_KEY, _start
from tests.eventhub_to_redis.test_function import batch, iso
from tests.helpers import dump_redis, run_cli, write_settings

ICE_PASSWORD = "Ice-Secret-Pw-4821"
MATOMO_TOKEN = "matomo0token0value0a1b2c3d4e5f6"
LISTENER_IPS = ("127.0.0.2", "127.0.0.3")
EVENT_IP, EVENT_DEVICE, DEAD_IP = "198.51.100.23", "DEVICE-ID-7F3A-99", "203.0.113.250"


def test_no_secret_or_raw_ip_anywhere(base_env, key_prefix, azurite_server, httpserver, tmp_path, caplog):
    from devstack.icecast import Icecast

    ice = _start(lambda: Icecast(tmp_path / "ice", admin_password=ICE_PASSWORD).start())
    from devstack.keys import apple_key as new_apple_key
    from devstack.keys import google_key as new_google_key

    apple_key, google_key = new_apple_key(), new_google_key()
    storage = connection_string(azurite_server.port)
    container = f"dl{key_prefix.lower()}"
    try:
        ice.add_source("/acme.mp3")
        for ip in LISTENER_IPS:
            ice.add_listener("/acme.mp3", user_agent=f"Player from {ip}", address=ip)
        ice.wait_for_listeners()
        httpserver.expect_request("/index.php", method="POST").respond_with_handler(
            matomo_handler({3: {3: {"visits": 1, "visitors": 1, "actions": 1}}}, token=MATOMO_TOKEN)
        )
        httpserver.expect_request("/v1/salesReports").respond_with_handler(
            appstore_handler(apple_key.public, issuer="iss", key_id="KID", vendor="85", days={})
        )
        httpserver.expect_request("/token", method="POST").respond_with_handler(
            google_token_handler(
                google_key.public, client_email="sa@x.iam.gserviceaccount.com", token_url=httpserver.url_for("/token")
            )
        )
        httpserver.expect_request("/storage/v1/b/bucket/o").respond_with_json({"items": []})
        env = {
            **base_env,
            "AzureWebJobsStorage": storage,
            "DEADLETTER_CONTAINER": container,
            "DOWNLOADS_CONTAINER": container + "d",
            "TENANTS": json.dumps(
                {
                    "acme-fm": {
                        "icecast": {"mounts": ["/acme.mp3"]},
                        "matomo": {"site_id": 3},
                        "apple": {"app_id": "1234567890"},
                        "google": {"package": "com.acme.radio"},
                    }
                }
            ),
            "ICECAST_SERVERS": json.dumps([{"name": "ice", "url": ice.url, "password": ICE_PASSWORD}]),
            "MATOMO_URL": httpserver.url_for("/"),
            "MATOMO_TOKEN": MATOMO_TOKEN,
            "APPLE_ISSUER_ID": "iss",
            "APPLE_KEY_ID": "KID",
            "APPLE_PRIVATE_KEY": apple_key.private,
            "APPLE_VENDOR_NUMBER": "85",
            "APPLE_API_URL": httpserver.url_for("/").rstrip("/"),
            "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(
                {
                    "client_email": "sa@x.iam.gserviceaccount.com",
                    "private_key": google_key.private,
                    "token_uri": httpserver.url_for("/token"),
                }
            ),
            "GOOGLE_PLAY_BUCKET": "bucket",
            "GOOGLE_STORAGE_URL": httpserver.url_for("").rstrip("/"),
        }
        with caplog.at_level(logging.DEBUG):
            icecast_poller.run(env=env)
            matomo_live_poller.run(env=env)
            eventhub_to_redis.run(
                batch(
                    [
                        {
                            "tenant": "acme-fm",
                            "type": "app.open",
                            "time": iso(1),
                            "ip": EVENT_IP,
                            "device_id": EVENT_DEVICE,
                        },
                        f"garbage from {DEAD_IP} that is not json".encode(),
                    ]
                ),
                env=env,
            )
            store_downloads_fetcher.run(env=env)
        settings = write_settings(tmp_path / "s.json", env)
        outputs = [
            run_cli(*argv, settings=settings)
            for argv in (
                ["run", "icecast_poller"],
                ["status"],
                ["status", "--json"],
                ["show", "acme-fm"],
                ["show", "acme-fm", "--json"],
            )
        ]
    finally:
        ice.stop()

    import redis

    everything = [
        dump_redis(redis.Redis.from_url(base_env["REDIS_URL"], decode_responses=True), key_prefix),
        caplog.text,
    ]
    everything += [o.stdout + o.stderr for o in outputs]
    service = BlobServiceClient.from_connection_string(storage)
    for name in (container, container + "d"):
        c = service.get_container_client(name)
        everything += [c.download_blob(b.name).readall().decode("utf-8", "replace") for b in c.list_blobs()]
    text = "\n".join(everything)
    assert "acme-fm" in text and "dead-lettered" in text  # the scan looked at real output
    secrets = [
        ICE_PASSWORD,
        MATOMO_TOKEN,
        *LISTENER_IPS,
        EVENT_IP,
        EVENT_DEVICE,
        DEAD_IP,
        TEST_HASH_KEY,
        AZURITE_KEY,
        apple_key.private.splitlines()[1],
        google_key.private.splitlines()[1],
    ]
    leaks = [s for s in secrets if s in text]
    assert leaks == []
