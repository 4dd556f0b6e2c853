"""The documented JSON Schema and the fast hand-written check agree on the same messages."""
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from eventhub_to_redis.validate import Position, Rejection, check
from shared.identity import IdentityHasher

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "eventhub-messages.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
NOW_MS = 1_800_000_000_000

VALID = [
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00Z", "listeners": 12},
    {"type": "hls.listeners", "tenant": "acme-fm", "time": "2027-01-15T08:00:00+01:00", "listeners": 0, "node": "h1"},
    {"tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T07:59:03.120Z", "station": {"id": 1}},
    {"tenant": "a", "type": "x:y-z_1", "time": "2027-01-15T07:00:00-05:00"},
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
]


def hand_check(doc):
    return check(json.dumps(doc).encode(), Position("0", 1), now_ms=NOW_MS, hasher=IdentityHasher(b"k" * 32),
                 max_bytes=65536, max_future_ms=10**12)


@pytest.mark.parametrize("doc", VALID)
def test_valid_for_both(doc):
    assert list(VALIDATOR.iter_errors(doc)) == []
    assert not isinstance(hand_check(doc), Rejection)


@pytest.mark.parametrize("doc", INVALID)
def test_invalid_for_both(doc):
    assert list(VALIDATOR.iter_errors(doc)) != []
    assert isinstance(hand_check(doc), Rejection)
