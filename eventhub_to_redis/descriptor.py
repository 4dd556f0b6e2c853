"""eventhub_to_redis as the rest of the app sees it (shared.core.descriptor).

It writes the ``hls`` series (the HAProxy agents' counts, kept per edge and summed when read:
``shared.live.hls_edges``) and the tenants' event logs; it has no timer, so its freshness is a
fixed limit: the HAProxy agent sends every 10 s, the platform constantly.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from shared.core.descriptor import Descriptor, Metric, Probe, Series, Setting, lazy

HLS = Series(
    name="hls",
    bucket_ms=1_800_000,  # an edge's 180 counts at 10 s (shared.live.hls_edges)
    every_s=10,
    per_edge=True,
    metrics=(
        Metric("listeners", "listeners", "distinct HLS listeners: the definition above, made when read"),
        Metric("hosts", "edges", "how many edges that sum covers"),
        Metric(
            "active_sessions",
            "sessions",
            "1.1.0 edges: clients (address /64 + User-Agent) that fetched 60 s of segments over 60 s or more, "
            "bots out (docs/measurement.md); summed over edges as `listeners`",
        ),
        Metric("session_starts", "sessions", "sessions that qualified since the edge's previous tick"),
        Metric(
            "listening_seconds",
            "seconds",
            "segments fetched × segment duration by qualifying sessions since the previous tick (a new one: all "
            "of it); Σ over a window / 3600 = listening hours",
        ),
        Metric(
            "aqh_persons", "sessions", "qualifying sessions with `AQH_MIN_SECONDS` or more in the clock quarter hour"
        ),
        Metric("excluded:bot", "clients", "clients whose User-Agent is on the bot lists (the edge's map)"),
        Metric("excluded:short", "clients", "clients that have not yet qualified (under 60 s, or only playlists)"),
        Metric(
            "country:<code>",
            "listeners",
            "when the agents send `countries`: listeners per country (ISO code, `other`, `unknown`), summed over "
            "edges by the same rule as `listeners` (an edge's value is `<count>,<code>:<n>,…`)",
        ),
    ),
)


def _trigger_missing(env: Mapping[str, str]) -> dict[str, str]:
    if env.get("EVENTHUB_CONNECTION") or env.get("EVENTHUB_CONNECTION__fullyQualifiedNamespace"):
        return {}
    return {
        "EVENTHUB_CONNECTION": "missing: the trigger cannot connect to the Event Hub (or set "
        "EVENTHUB_CONNECTION__fullyQualifiedNamespace for the app's identity)"
    }


def _probes(settings: Any, env: Mapping[str, str]) -> Iterable[Probe]:
    from shared.clients.blob import reach_container

    yield Probe(
        f"blob container {settings.deadletter_container} (dead letters)",
        lambda: reach_container(settings.deadletter_connection, settings.deadletter_container),
    )
    yield Probe(f"event hub {env.get('EVENTHUB_NAME') or '(from the connection string)'}", lambda: _partitions(env))


def _partitions(env: Mapping[str, str]) -> str:
    from eventhub_to_redis.replay import partition_ids

    return f"{len(partition_ids(env, timeout=10))} partitions"


SETTINGS = (
    Setting(
        "EVENTHUB_CONNECTION",
        (
            "the trigger's connection (namespace connection string, or "
            "`EVENTHUB_CONNECTION__fullyQualifiedNamespace` for a managed identity); also used by "
            "`--from-eventhub`"
        ),
        default="required by the host",
        secret=True,
        example=(
            " Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=example-not-real"
        ),
    ),
    Setting(
        "EVENTHUB_NAME",
        "the hub",
        default="required by the host",
        example="fabrik-events",
    ),
    Setting(
        "EVENTHUB_CONSUMER_GROUP",
        "this app's own consumer group (do not share `$Default`)",
        default="required by the host",
        example="live-collectors",
    ),
    Setting(
        "DEADLETTER_STORAGE_CONNECTION",
        "storage account for dead letters",
        default="`AzureWebJobsStorage`'s account",
        secret=True,
    ),
    Setting(
        "DEADLETTER_CONTAINER",
        "container for dead letters",
        default="`deadletter`",
        example="deadletter",
    ),
    Setting(
        "EVENT_MAX_BYTES",
        "larger messages are dead-lettered",
        default="`65536`",
        example="65536",
    ),
    Setting(
        "EVENT_MAX_FUTURE_SECONDS",
        (
            "messages timed further in the future are dead-lettered (clock skew allowance); at most 60, as "
            "the live store refuses samples more than 60 s ahead. `hls.listeners` counts are clamped to their "
            "enqueued time instead (docs/eventhub-messages.md)"
        ),
        default="`60`",
        example="60",
    ),
    Setting(
        "EVENT_EXTRA_FIELDS",
        (
            "comma-separated field names of platform events this deployment keeps beside the declared ones "
            "(docs/eventhub-messages.md); names of `a-z 0-9 _`, none that says personal data (`client_ip`, "
            "`email`, …). Every other undeclared field is dropped and counted (`fields_dropped`)"
        ),
        default="(none)",
    ),
)


DESCRIPTOR = Descriptor(
    name="eventhub_to_redis",
    in_use=("EVENTHUB_CONNECTION", "EVENTHUB_CONNECTION__fullyQualifiedNamespace", "EVENTHUB_NAME"),
    load_settings=lazy("eventhub_to_redis.settings", "load_settings"),
    max_age_s=600,
    series=(HLS,),
    probes=_probes,
    trigger_missing=_trigger_missing,
    settings=SETTINGS,
)
