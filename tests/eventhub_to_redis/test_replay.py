"""--from-eventhub up to the client boundary: an Event Hubs service cannot run here, so a
stand-in with the SDK's ``receive_batch`` contract delivers real ``azure.eventhub.EventData``."""

import datetime as dt

import pytest
from azure.eventhub import EventData

from eventhub_to_redis.replay import read_range
from shared.core.errors import ConfigError

CONN = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=c2VjcmV0a2V5MTIzNDU2"


def event(sequence, body):
    e = EventData(body)
    e.raw_amqp_message.annotations.update(
        {
            b"x-opt-sequence-number": sequence,
            b"x-opt-offset": str(sequence * 10).encode(),
            b"x-opt-enqueued-time": 1_800_000_000_000,
            b"x-opt-partition-key": b"acme-fm",
        }
    )
    return e


class StandInClient:
    """Behaves like EventHubConsumerClient.receive_batch: starts at a position, calls back in batches."""

    def __init__(self, stored, calls):
        self.stored, self.calls, self.closed = stored, calls, False

    def receive_batch(self, on_event_batch, **kwargs):
        self.calls.append(kwargs)
        start = (
            kwargs["starting_position"] if kwargs["starting_position_inclusive"] else kwargs["starting_position"] + 1
        )
        pending = [e for e in self.stored if e.sequence_number >= start]
        while pending and not self.closed:
            on_event_batch(None, pending[: kwargs["max_batch_size"]])
            pending = pending[kwargs["max_batch_size"] :]

    def close(self):
        self.closed = True


def test_reads_exactly_the_range_as_host_shaped_events():
    stored = [event(n, f'{{"n": {n}}}'.encode()) for n in range(40, 60)]
    calls, made = [], []

    def factory(conn, *, consumer_group, eventhub_name, **retry):
        made.append((conn, consumer_group, eventhub_name))
        return StandInClient(stored, calls)

    env = {"EVENTHUB_CONNECTION": CONN, "EVENTHUB_NAME": "events", "EVENTHUB_CONSUMER_GROUP": "functions"}
    events = read_range(env, partition="2", sequence=45, count=5, wait=5, client_factory=factory)
    assert made == [(CONN, "fabrik-oncall", "events")]  # the on-call group, never the function's
    assert calls[0]["partition_id"] == "2" and calls[0]["starting_position"] == 45
    assert [e.sequence_number for e in events] == [45, 46, 47, 48, 49]
    assert events[0].get_body() == b'{"n": 45}'
    assert events[0].metadata["PartitionContext"]["PartitionId"] == "2"
    assert events[0].enqueued_time == dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.timezone.utc)
    assert events[0].partition_key == "acme-fm"


def test_missing_connection_settings_are_named():
    with pytest.raises(ConfigError) as caught:
        read_range({}, partition="0", sequence=0, count=1)
    assert set(caught.value.problems) == {"EVENTHUB_CONNECTION", "EVENTHUB_NAME"}


def test_the_real_client_is_built_from_the_connection_string():
    from azure.eventhub import EventHubConsumerClient

    client = EventHubConsumerClient.from_connection_string(CONN, consumer_group="$Default", eventhub_name="events")
    assert client.eventhub_name == "events"
    client.close()


def test_16_10_the_functions_own_group_is_refused_and_event_hubs_answer_is_said():
    from shared.core.errors import RetriableError

    env = {"EVENTHUB_CONNECTION": CONN, "EVENTHUB_NAME": "events", "EVENTHUB_CONSUMER_GROUP": "functions"}
    with pytest.raises(ConfigError) as caught:
        read_range(env, partition="0", sequence=0, count=1, consumer_group="functions")
    assert "--consumer-group" in caught.value.problems

    class Refusing:
        def receive_batch(self, on_event_batch, on_error, **kwargs):
            on_error(
                None,
                RuntimeError(
                    "New receiver 'nil' with higher epoch of '0' is created hence current "
                    "receiver 'nil' with epoch '0' is getting disconnected."
                ),
            )

        def close(self):
            pass

    with pytest.raises(RetriableError) as failed:
        read_range(env, partition="0", sequence=0, count=1, wait=2, client_factory=lambda *a, **k: Refusing())
    assert "Event Hubs answered: RuntimeError: New receiver" in str(failed.value)
    assert "fabrik-oncall" in str(failed.value)


def test_the_identity_based_client_is_built_from_the_namespace_and_a_credential(monkeypatch):
    """EVENTHUB_CONNECTION__fullyQualifiedNamespace, as the host reads it: the real SDK client is
    built with the namespace and azure-identity's credential (no Event Hubs service here)."""
    from azure.eventhub import EventHubConsumerClient

    built = []
    real_init = EventHubConsumerClient.__init__

    def spy(self, *args, **kwargs):
        built.append(kwargs)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(EventHubConsumerClient, "__init__", spy)
    monkeypatch.setattr(
        EventHubConsumerClient,
        "receive_batch",
        lambda self, on_event_batch, on_error, **kw: on_error(None, RuntimeError("no Event Hubs here")),
    )
    monkeypatch.setattr(
        EventHubConsumerClient,
        "get_partition_properties",
        lambda self, partition: {"beginning_sequence_number": 0, "last_enqueued_sequence_number": 10},
    )
    env = {
        "EVENTHUB_CONNECTION__fullyQualifiedNamespace": "fabrik.servicebus.windows.net",
        "EVENTHUB_CONNECTION__credential": "managedidentity",
        "EVENTHUB_NAME": "events",
    }
    from shared.core.errors import RetriableError

    with pytest.raises(RetriableError, match="no Event Hubs here"):
        read_range(env, partition="0", sequence=1, count=1, wait=2)
    assert built[0]["fully_qualified_namespace"] == "fabrik.servicebus.windows.net"
    assert type(built[0]["credential"]).__name__ == "ManagedIdentityCredential"
    assert built[0]["consumer_group"] == "fabrik-oncall" and built[0]["eventhub_name"] == "events"


def test_an_unreachable_hub_is_an_error_quoting_event_hubs_not_nothing_to_do(tmp_path, base_env):
    """Issue 38: --from-eventhub against a hub that cannot be reached printed "ok … nothing to
    do" and exited 0. The real SDK client, a refused port: exit 3 with the SDK's own words."""
    from tests.helpers import run_cli, write_settings

    for endpoint, said in (("127.0.0.1:1", "Connection refused"), ("nonexistent.invalid", "Name or service not known")):
        env = {
            **base_env,
            "EVENTHUB_CONNECTION": f"Endpoint=sb://{endpoint}/;SharedAccessKeyName=listen;"
            "SharedAccessKey=a2V5a2V5a2V5;EntityPath=events",
        }
        done = run_cli(
            "run", "eventhub_to_redis", "--from-eventhub", "--partition", "0", "--sequence", "1", "--count", "1",
            "--wait", "3", settings=write_settings(tmp_path / "s.json", env),
        )  # fmt: skip
        assert done.returncode == 3, done.stdout + done.stderr
        assert "Event Hubs answered" in done.stderr and said in done.stderr and "a2V5a2V5a2V5" not in done.stderr
