"""The documented JSON Schema and the fast hand-written check agree on the same messages."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from eventhub_to_redis.validate import Position, Rejection, check
from shared.privacy.identity import IdentityHasher

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "eventhub-messages.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
NOW_MS = 1_800_000_000_000

VALID = [
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00Z", "listeners": 12},
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00+01:00", "listeners": 0, "node": "h1"},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T07:59:03.120Z", "station": {"id": 1}},
    {"tenant": "a", "type": "x:y-z_1", "time": "2027-01-15T07:00:00-05:00"},
    # issue 13.8: the schema refused 5.0, the code accepted it; both accept it now (JSON Schema's integer)
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00Z", "listeners": 5.0},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15t08:00:00.5z"},
    # 1.1.0: an edge's whole tick; one naming no tenant still says the edge is up
    {
        "type": "hls.tick",
        "host": "edge-1",
        "time": "2027-01-15T08:00:00Z",
        "tenants": {"acme-fm": {"listeners": 12, "countries": {"DE": 9, "other": 3}}, "quiet": {"listeners": 0}},
    },
    {"type": "hls.tick", "host": "edge-1", "time": "2027-01-15T08:00:00Z"},
]
INVALID = [
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00Z", "listeners": "12"},
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00Z", "listeners": -1},
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00Z"},
    {"type": "app.play", "time": "2027-01-15T08:00:00Z"},
    {"tenant": "acme fm", "type": "app.play", "time": "2027-01-15T08:00:00Z"},
    {"tenant": "acme-fm", "type": "", "time": "2027-01-15T08:00:00Z"},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15 08:00:00"},
    {"tenant": "acme-fm", "type": "app.play", "time": "tomorrow"},
    {"tenant": "acme-fm", "type": "app.play"},
    ["not", "an", "object"],
    {"type": "hls.tick", "time": "2027-01-15T08:00:00Z", "tenants": {}},
    {"type": "hls.tick", "host": "10.0.0.1", "time": "2027-01-15T08:00:00Z", "tenants": {}},
    {"type": "hls.tick", "host": "edge-1", "time": "2027-01-15T08:00:00Z", "tenants": {"10.0.0.1": {"listeners": 1}}},
    {"type": "hls.tick", "host": "edge-1", "time": "2027-01-15T08:00:00Z", "tenants": {"acme-fm": 12}},
    {"type": "hls.tick", "host": "edge-1", "time": "2027-01-15T08:00:00Z", "tenants": {"acme-fm": {"listeners": -1}}},
    {"type": "hls.tick", "host": "edge-1", "time": "2027-01-15T08:00:00Z", "tenants": [{"acme-fm": 1}]},
    # issue 13.8: the code accepted these ISO 8601 forms, the schema did not; now neither does
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15 08:00:00Z"},
    {"tenant": "acme-fm", "type": "app.play", "time": "20270115T080000Z"},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-W03-5T08:00:00Z"},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T08Z"},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T08:00:00+01:00:30"},
    # issue 13.2: a final newline passed Python's $ in both
    {"tenant": "acme-fm\n", "type": "app.play", "time": "2027-01-15T08:00:00Z"},
    {"tenant": "acme-fm", "type": "app.play\n", "time": "2027-01-15T08:00:00Z"},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T08:00:00Z\n"},
]


def hand_check(doc):
    return check(
        json.dumps(doc).encode(),
        Position("0", 1),
        now_ms=NOW_MS,
        hasher=IdentityHasher(b"k" * 32),
        max_bytes=65536,
        max_future_ms=10**12,
    )


@pytest.mark.parametrize("doc", VALID)
def test_valid_for_both(doc):
    assert list(VALIDATOR.iter_errors(doc)) == []
    assert not isinstance(hand_check(doc), Rejection)


@pytest.mark.parametrize("doc", INVALID)
def test_invalid_for_both(doc):
    assert list(VALIDATOR.iter_errors(doc)) != []
    assert isinstance(hand_check(doc), Rejection)
