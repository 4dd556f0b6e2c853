import json

import pytest

from eventhub_to_redis.validate import Position, Rejection, check
from shared.live.store import Event, Sample
from shared.privacy.identity import IdentityHasher

NOW_MS = 1_800_000_000_000  # 2027-01-15T08:00:00Z
POS = Position(partition="2", sequence=77, offset="1024", enqueued_ms=NOW_MS)
HASHER = IdentityHasher(b"k" * 32)


def run(body, **kw):
    options = dict(now_ms=NOW_MS, hasher=HASHER, max_bytes=65536, max_future_ms=600_000)
    options.update(kw)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return check(raw, POS, **options)


def test_fabrik_event_keeps_its_original_body_and_position():
    body = b'{"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T07:59:00Z", "station": "x"}'
    event = run(body)
    assert event == Event(
        tenant="acme-fm", type="app.play", time_ms=NOW_MS - 60_000, partition="2", sequence=77, body=body.decode()
    )


def test_hls_message_becomes_a_sample():
    sample = run({"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00+01:00", "listeners": 12})
    assert sample == Sample(
        tenant="acme-fm", series="hls", time_ms=NOW_MS - 3_600_000, metrics={"listeners": 12}, host="-"
    )  # no host: an agent from before the field


def test_only_declared_fields_are_kept_pseudonyms_hashed_and_addresses_inside_them_too():
    event = run(
        {
            "tenant": "acme-fm",
            "type": "app.open",
            "time": "2027-01-15T08:00:00Z",
            "ip": "203.0.113.7",  # undeclared: dropped
            "userId": "alice",  # undeclared (the contract's name is user_id): dropped
            "user_id": "u-1234",  # a declared pseudonym: a keyed hash
            "device_type": {"device_id": "ABCD-1234"},  # declared; a personal name inside is hashed
            "title": "call me at 203.0.113.7",  # declared; an address inside is hashed
        }
    )
    assert "203.0.113.7" not in event.body and "ABCD-1234" not in event.body and "alice" not in event.body
    doc = json.loads(event.body)
    assert set(doc) == {"tenant", "type", "time", "user_id", "device_type", "title"} and event.dropped_fields == 2
    assert doc["user_id"] == f"hmac:{HASHER.hash('u-1234', kind='user_id')}"
    assert doc["device_type"]["device_id"] == f"hmac:{HASHER.hash('ABCD-1234', kind='device')}"
    assert doc["title"] == f"call me at ip:{HASHER.hash_ip('203.0.113.7')}"


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "expected a JSON object, got list"),
        ({"type": "x", "time": "2027-01-15T08:00:00Z"}, "field 'tenant' is missing"),
        ({"tenant": 5, "type": "x", "time": "2027-01-15T08:00:00Z"}, "field 'tenant' is missing or not a string"),
        ({"tenant": "a{b}", "type": "x", "time": "2027-01-15T08:00:00Z"}, "field 'tenant' must be 1-64"),
        ({"tenant": "a", "time": "2027-01-15T08:00:00Z"}, "field 'type'"),
        ({"tenant": "a", "type": "x"}, "field 'time'"),
        ({"tenant": "a", "type": "x", "time": "2027-01-15 08:00"}, "RFC 3339 date-time with a time zone"),
        ({"tenant": "a", "type": "x", "time": "yesterday at noon"}, "field 'time'"),
        ({"tenant": "a", "type": "x", "time": "2027-01-16T08:00:00Z"}, "86400 s in the future"),
        ({"tenant": "a", "type": "hls.listeners", "time": "2027-01-15T08:00:00Z", "listeners": "12"}, "'listeners'"),
        ({"tenant": "a", "type": "hls.listeners", "time": "2027-01-15T08:00:00Z", "listeners": -1}, "'listeners'"),
        ({"tenant": "a", "type": "hls.listeners", "time": "2027-01-15T08:00:00Z", "listeners": True}, "'listeners'"),
        (b'{"tenant": "a", "n": 1' + b"0" * 5000 + b"}", "not JSON"),
        (b"[" * 50_000, "not JSON"),
    ],
)
def test_invalid_messages_are_rejected_with_a_reason(body, reason):
    result = run(body)
    assert isinstance(result, Rejection) and reason in result.reason
    assert result.position == POS


def test_oversized_message_is_rejected_before_parsing():
    result = run({"tenant": "a", "type": "x", "time": "2027-01-15T08:00:00Z", "pad": "x" * 70_000})
    assert isinstance(result, Rejection) and "more than the 65536 allowed" in result.reason


def test_unknown_tenant_is_rejected_when_tenants_are_configured():
    body = {"tenant": "stranger", "type": "x", "time": "2027-01-15T08:00:00Z"}
    assert "not in TENANTS" in run(body, tenants={"acme-fm"}).reason
    assert isinstance(run(body), Event)
