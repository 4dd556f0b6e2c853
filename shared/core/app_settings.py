"""The settings every Redis-writing function and the CLI read (docs/settings.md's first table).

Declared once, like each function's own (its descriptor's ``settings``): ``make docs`` writes
local.settings.sample.json and docs/settings.md from them, and tests hold the code's reads and
defaults to them.
"""

from __future__ import annotations

from shared.core.descriptor import Setting

# The Functions host's own, first in the sample (a local host needs both).
HOST = (
    Setting("FUNCTIONS_WORKER_RUNTIME", "the Functions host's language worker", default="`python`", example="python"),
    Setting(
        "AzureWebJobsStorage",
        "the storage account every function app has (the host's leases, timers' schedules; the status epoch)",
        default="required by the host",
        secret=True,
        example="UseDevelopmentStorage=true",
    ),
)

APP = (
    Setting(
        "REDIS_URL",
        (
            "`redis://`, `rediss://` (TLS, Azure: `rediss://:<key>@<host>:6380/0`) or `unix://`. Judged as "
            "redis-py reads it: a parameter given twice, and any `ssl_*` option other than "
            "`ssl_cert_reqs=required` or a true `ssl_check_hostname` (redis-py reads `f`, `n`, `0`, `no`, "
            "`false` as false) are refused, so certificate and host-name checks stay on and no CA comes from "
            "the URL: for a private CA set `REDIS_CA_FILE`"
        ),
        default="required",
        secret=True,
        example="redis://127.0.0.1:6379/0",
    ),
    Setting(
        "REDIS_CLUSTER",
        "`true` for a Redis Cluster (OSS cluster policy; Azure Managed Redis, Premium clustering)",
        default="`false`",
        example="false",
    ),
    Setting(
        "LIVE_WINDOW_SECONDS",
        "how long live samples and events are kept",
        default="`7200`",
        example="7200",
    ),
    Setting(
        "REDIS_KEY_PREFIX",
        "first part of every key; no braces, colons or spaces",
        default="`fabrik`",
        example="fabrik",
    ),
    Setting(
        "REDIS_CREDENTIAL",
        (
            "`managedidentity`: Microsoft Entra ID with the app's managed identity (Azure Managed Redis, "
            "access keys off); `default`: azure-identity's chain (a service principal's `AZURE_*` variables, "
            "`az login`). `REDIS_URL` then carries no password and must be `rediss://` (the token is the "
            "password: never in clear), checked by every function's settings, not only the CLI's; the user is "
            "the identity's object id (from the token). A token is renewed 5 minutes before it expires; if "
            "the identity endpoint fails then, the current token is kept and the renewal retried with "
            "back-off, and only an expired token with no new one is an error"
        ),
        default="none (the password in `REDIS_URL`)",
    ),
    Setting(
        "REDIS_CLIENT_ID",
        "with `REDIS_CREDENTIAL=managedidentity`: a user-assigned identity's client id",
    ),
    Setting(
        "REDIS_CA_FILE",
        "a PEM file of a private CA for `rediss://` (certificates are always verified)",
    ),
    Setting(
        "<CONNECTION>__blobServiceUri",
        (
            "identity-based Blob Storage for `AzureWebJobsStorage`, `DEADLETTER_STORAGE_CONNECTION`, "
            "`DOWNLOADS_STORAGE_CONNECTION` (and the agent's `LOGS_STORAGE_CONNECTION`), read as the Functions "
            "host reads them: `https://<account>.blob.core.windows.net`, `managedidentity`, a user-assigned "
            "identity's client id"
        ),
        label="`<CONNECTION>__blobServiceUri`, `__serviceUri`, `__accountName`, `__credential`, `__clientId`",
        default="",
        example=None,
    ),
    Setting(
        "EVENTHUB_CONNECTION__fullyQualifiedNamespace",
        "identity-based Event Hubs for the trigger (the host), `--from-eventhub` and the HAProxy agent",
        label="`EVENTHUB_CONNECTION__fullyQualifiedNamespace` (+ `__credential`, `__clientId`)",
        default="",
        example=None,
    ),
    Setting(
        "GEOIP_DATABASE",
        (
            "`icecast_poller` (and the HAProxy agent): the path of a MaxMind-format **country** database, "
            "`.mmdb`, read memory-mapped with `maxminddb` and reopened when the file changes. A new file is "
            "copied, read whole by another process (maxminddb's C extension crashes a process on some damaged "
            "files) and only then mapped, from the private copy (a file rewritten in place changes nothing "
            "under it); one mapping per path. A missing, damaged, truncated, non-country or non-regular file "
            "costs the countries only: listener numbers go on, countries are `unknown`, and the run has a "
            "failing source `geoip` naming this key (status, doctor, health) until the file is fixed. Where "
            'to get one: **DB-IP Lite Country** (db-ip.com, monthly, free, licence CC BY 4.0: credit "IP '
            'Geolocation by DB-IP" where the numbers are shown) or **GeoLite2-Country** (MaxMind, free with '
            "an account and a licence key, GeoLite2 EULA: refresh at least monthly and delete outdated "
            "copies, e.g. with `geoipupdate`). Refresh monthly; on Azure, deploy the file with the app or "
            "mount it from a storage share"
        ),
        default="none (no country metrics, no cost)",
    ),
    Setting(
        "GEOIP_TOP_COUNTRIES",
        (
            "how many countries a sample names; the rest are `country:other`, unplaced addresses "
            "`country:unknown` (1 to 50)"
        ),
        default="`10`",
        example="10",
    ),
    Setting(
        "VIEW_SIGNING_KEYS",
        (
            "`live_feed` and `share`: one or more base64 keys of at least 32 bytes (`openssl rand -base64 "
            "32`), comma-separated: the first signs new viewer links, every one verifies. To rotate: put a "
            "new key first, keep the old one until its links have expired (`share --days`, default 30), then "
            "remove it. Removing a key ends every link it signed"
        ),
        default="required for viewer links",
        secret=True,
        example="replace-me-with-openssl-rand-base64-32-output",
    ),
    Setting(
        "PUBLIC_BASE_URL",
        "`share`: the app's address in the links it prints (a custom domain, a front door)",
        default="`https://$WEBSITE_HOSTNAME` on Azure",
    ),
    Setting(
        "HEALTH_MAX_DEADLETTER_RATIO",
        (
            "health, `status`, `doctor`: a partition whose share of dead-lettered messages over the last "
            "10-20 minutes is above this (from 20 messages on) fails"
        ),
        default="`0.05`",
        example="0.05",
    ),
    Setting(
        "HEALTH_MAX_EVENTHUB_LAG_SECONDS",
        (
            "health, `status`, `doctor`: `eventhub_to_redis` fails when a batch was processed further behind "
            "its newest enqueued time than this (a backlog)"
        ),
        default="`300`",
        example="300",
    ),
    Setting(
        "HEALTH_MAX_AGE_<FUNCTION>_SECONDS",
        (
            "`GET /api/health`: how long a collector may go without a success, e.g. "
            "`HEALTH_MAX_AGE_ICECAST_POLLER_SECONDS`"
        ),
        default="from the schedule (docs/live-api.md)",
        example=None,
    ),
    Setting(
        "HLS_HOST_STALE_SECONDS",
        (
            "`eventhub_to_redis` and readers: an HAProxy edge that sent nothing for longer than this (no "
            "`hls.tick`, no `hls.listeners`) drops out of the tenants' sums; while it ticks, its last count "
            "of a tenant stands"
        ),
        default="`30`",
        example="30",
    ),
    Setting(
        "IDENTITY_HASH_KEY",
        (
            "key of the HMAC-SHA-256 over IP addresses and device ids; at least 16 characters, use `openssl "
            "rand -base64 32`. Changing it changes every hash. Never put it on an HAProxy edge: ship-logs "
            "takes `LOGS_HASH_KEY`, derived from it (haproxy_agent/README.md, where the agent's and "
            "ship-logs' settings are)."
        ),
        default="required (not for `show`/`status`)",
        secret=True,
        example="replace-me-with-openssl-rand-base64-32-output",
    ),
    Setting(
        "TENANTS",
        (
            "JSON, inline or `@path/to/file.json` (relative to the working directory): which mounts, Matomo "
            "site and apps belong to which tenant. See below."
        ),
        default="required for the pollers; optional for `eventhub_to_redis`",
        example=(
            '{"acme-fm": {"icecast": {"mounts": ["/acme.mp3", "/acme.aac"], "app_user_agent": "^AcmeRadio/"}, '
            '"matomo": {"site_id": 3}, "apple": {"app_id": "1234567890"}, "google": {"package": '
            '"com.acme.radio"}}, "metro-kids": {"icecast": {"mounts": ["/metro.mp3"]}, "matomo": {"site_id": '
            "7}}}"
        ),
    ),
)
