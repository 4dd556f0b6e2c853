"""Property tests for the Event Hub contract and the privacy promise (issue 13).

Hypothesis generates the hostile cases: messages that probe every edge of the schema, and
nested bodies with addresses planted at random depths, keys and spellings.
"""

import datetime as dt
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import eventhub_to_redis
from devstack.azurite import connection_string
from eventhub_to_redis.event_body import DECLARED, ENVELOPE, HLS_FIELDS, PSEUDONYMS, extra_field_problem
from eventhub_to_redis.validate import Position, Rejection, check
from shared.live.store import Event
from shared.privacy.identity import IdentityHasher
from tests.eventhub_to_redis.test_function import batch, deadletters, iso, store_of
from tests.helpers import dump_redis

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "eventhub-messages.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
NOW_MS = 1_800_000_000_000
HASHER = IdentityHasher(b"k" * 32)
NAME_CHARS = string.ascii_letters + string.digits + "._:-\n @{}/"


def two(lo, hi):
    return st.integers(lo, hi).map(lambda n: f"{n:02d}")


rfc3339 = st.builds(
    lambda y, mo, d, t, h, mi, s, frac, zone: f"{y:04d}-{mo}-{d}{t}{h}:{mi}:{s}{frac}{zone}",
    st.integers(0, 9999),
    two(0, 13),
    two(0, 32),
    st.sampled_from("Tt "),
    two(0, 24),
    two(0, 60),
    two(0, 61),
    st.sampled_from(["", ".5", ".120", ".123456789"]),
    st.one_of(
        st.sampled_from(["Z", "z", "", "+01:00:30", "\n", "Z\n"]),
        st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), two(0, 24), two(0, 60)),
    ),
)
times = st.one_of(
    rfc3339,
    st.sampled_from(
        [
            "2027-01-15 08:00:00Z",
            "20270115T080000Z",
            "2027-W03-5T08:00:00Z",
            "2027-01-15T08Z",
            "2027-02-29T00:00:00Z",
            "2028-02-29T00:00:00Z",
            "2027-01-15T08:00:00+01:00:30",
            "2027-01-15T08:00:00.Z",
        ]
    ),
    st.text(max_size=12),
    st.integers(),
    st.none(),
)
names = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,8}", fullmatch=True),
    st.text(NAME_CHARS, max_size=70),
    st.sampled_from(["acme-fm\n", "10.0.0.1", "a::b", "a:b:c:d", "hls.listeners", "hls.tick", "x" * 65, "x" * 101]),
    st.integers(),
    st.none(),
)
listeners = st.one_of(
    st.integers(-3, 10_000_003),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([5.0, 1e7, 10_000_000.5, True, "12"]),
    st.none(),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


valid_times = st.builds(
    lambda when, frac, zone: when.strftime("%Y-%m-%dT%H:%M:%S") + frac + zone,
    st.datetimes(dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31)),
    st.sampled_from(["", ".5", ".120"]),
    st.sampled_from(["Z", "z", "+00:00", "-05:30", "+23:59"]),
)
valid = {
    "tenant": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True),
    "type": st.one_of(
        st.sampled_from(["hls.listeners", "hls.tick"]),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,8}", fullmatch=True),
    ),
    "time": valid_times,
    "listeners": st.integers(0, 10_000_000),
    "host": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True),
}
tenant_counts = st.one_of(
    st.fixed_dictionaries(
        {"listeners": st.integers(0, 10_000_000)},
        optional={
            "countries": st.dictionaries(st.sampled_from(["DE", "AT", "other", "unknown", "de", "XYZ"]), listeners)
        },
    ),
    st.fixed_dictionaries({"listeners": listeners}),
    json_values,
)
valid["tenants"] = st.dictionaries(valid["tenant"], tenant_counts.filter(lambda v: isinstance(v, dict)), max_size=4)
hostile = {
    "tenant": names,
    "type": names,
    "time": times,
    "listeners": listeners,
    "host": names,
    "tenants": st.one_of(st.dictionaries(st.text(NAME_CHARS, max_size=70), tenant_counts, max_size=4), json_values),
}


@st.composite
def messages(draw):
    """Mostly valid messages with one or two fields pushed over an edge, so both sides are probed."""
    doc = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    for field in ("tenant", "type", "time", "listeners", "host", "tenants"):
        roll = draw(st.integers(0, 19))
        if roll >= 6:
            doc[field] = draw(valid[field])
        elif roll >= 1:
            doc[field] = draw(hostile[field])
    return doc


@settings(max_examples=600, deadline=None)
@given(messages())
def test_the_schema_and_the_fast_check_accept_exactly_the_same_messages(doc):
    by_schema = not list(VALIDATOR.iter_errors(doc))
    result = check(
        json.dumps(doc).encode(), Position("0", 1), now_ms=NOW_MS, hasher=HASHER, max_bytes=10**9, max_future_ms=10**15
    )
    assert by_schema == (not isinstance(result, Rejection)), (doc, result)


# --- privacy -------------------------------------------------------------------------------


def address_forms(ip):
    text = str(ip)
    if ip.version == 4:
        return st.sampled_from([text, f"{text}:8443", f"::ffff:{text}", f"[::ffff:{text}]:443"])
    return st.sampled_from([text, ip.exploded, f"[{text}]:443", f"{text}%eth0", text.upper()])


planted = st.one_of(st.ip_addresses().flatmap(address_forms), st.emails())
personal_names = st.sampled_from(
    [
        "ip",
        "IP",
        "clientIp",
        "client_ip",
        "ipAddress",
        "x_forwarded_for",
        "X-Forwarded-For",
        "remote_addr",
        "remoteAddr",
        "userip",
        "src-ip",
        "email",
    ]
)
free_text = st.text(st.sampled_from(string.ascii_letters + " -_/,!?éß"), max_size=6)


@st.composite
def hiding_places(draw, secret):
    """A JSON value with ``secret`` somewhere inside it."""
    how = draw(
        st.sampled_from(["value", "text", "key", "list", "personal", "personal-list", "personal-object", "glued"])
    )
    if how == "value":
        inner = secret
    elif how == "text":
        inner = f"{draw(free_text)} {secret} {draw(free_text)}"
    elif how == "glued":
        inner = f"{draw(free_text)}{secret}{draw(free_text)}"
    elif how == "key":
        inner = {secret: draw(json_values)}
    elif how == "list":
        inner = [draw(json_values), secret]
    elif how == "personal":
        inner = {draw(personal_names): secret}
    elif how == "personal-list":
        inner = {draw(personal_names): [secret, draw(st.integers())]}
    else:
        inner = {draw(personal_names): {"v4": secret, "n": draw(st.integers())}}
    for _ in range(draw(st.integers(0, 6))):  # bury it
        inner = draw(st.sampled_from([lambda x: [x], lambda x: {"ctx": x}, lambda x: {"a": 1, "deeper": [0, x]}]))(
            inner
        )
    return inner


@pytest.fixture
def env(base_env, azurite_server, key_prefix):
    return {
        **base_env,
        "AzureWebJobsStorage": connection_string(azurite_server.port),
        "DEADLETTER_CONTAINER": f"dl{key_prefix.lower()}",
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_address_survives_in_redis_or_dead_letters(env, data, caplog):
    secrets = data.draw(st.lists(planted, min_size=1, max_size=3))
    bodies = []
    for i, secret in enumerate(secrets):
        place = data.draw(hiding_places(secret))
        # "title" is declared (kept, scanned), "payload" is not (dropped): both must hide the secret
        bodies.append({"tenant": "acme-fm", "type": "app.play", "time": iso(10 + i), "title": place, "payload": place})
        bodies.append({"tenant": "acme-fm", "type": "app.play", "title": place})  # invalid: dead letter
    eventhub_to_redis.run(batch(bodies, first_sequence=data.draw(st.integers(0, 10**9))), env=env)
    _, client = store_of(env)
    everything = dump_redis(client, env["REDIS_KEY_PREFIX"]) + json.dumps(deadletters(env)) + caplog.text
    for secret in secrets:
        assert secret not in everything and secret.lower() not in everything.lower()


safe_words = st.sampled_from(["station", "title", "genre", "episode", "volume", "score", "duration", "program"])
safe_text = st.text(st.sampled_from(string.ascii_letters + string.digits + " -_/,!?'()éßü€"), max_size=30)
safe_values = st.recursive(
    st.none() | st.booleans() | st.integers() | safe_text | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(safe_words, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(DECLARED)), safe_values, max_size=5), st.booleans())
def test_valid_events_without_personal_data_round_trip_unchanged(extra, ascii_only):
    doc = {**extra, "tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T07:00:00.5+01:00"}
    body = json.dumps(doc, ensure_ascii=ascii_only).encode()
    event = check(body, Position("0", 1), now_ms=NOW_MS, hasher=HASHER, max_bytes=10**9, max_future_ms=0)
    assert isinstance(event, Event)
    assert json.loads(event.body) == doc
    if b"\\" not in body:
        assert event.body.encode() == body  # byte for byte, as the producer sent it
    assert event.time_ms == int(dt.datetime(2027, 1, 15, 6, 0, 0, 500000, dt.timezone.utc).timestamp() * 1000)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.text(), st.text(st.sampled_from("0123456789abcdefABCDEF:.@[]% xyz"), max_size=40), planted))
def test_the_fast_address_check_is_the_full_pattern(text):
    from shared.privacy.scrub import ADDRESS, looks_personal

    assert looks_personal(text) == (ADDRESS.search(text) is not None)


field_names = st.one_of(
    st.sampled_from(sorted(DECLARED | PSEUDONYMS | {"userId", "sessionId", "lat", "lon", "push_token", "name"})),
    st.text(max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(field_names, safe_values, max_size=8))
def test_only_declared_fields_are_kept_and_pseudonyms_only_as_hashes(fields):
    """Issue 37.7: an allow-list. Every undeclared field is dropped (and counted), a declared
    pseudonym is kept as a keyed hash, a declared field as sent; in dead letters nothing keyed."""
    from eventhub_to_redis.deadletter import document

    doc = {**fields, "tenant": "acme-fm", "type": "app.play", "time": "2027-01-15T07:00:00Z"}
    body = json.dumps(doc).encode()
    event = check(body, Position("0", 1), now_ms=NOW_MS, hasher=HASHER, max_bytes=10**9, max_future_ms=0)
    assert isinstance(event, Event)
    stored = json.loads(event.body)
    undeclared = {k for k in doc if k not in ENVELOPE | DECLARED | PSEUDONYMS}
    assert set(stored) <= ENVELOPE | DECLARED | PSEUDONYMS and not undeclared & set(stored)
    pseudonyms = {k for k in doc if k in PSEUDONYMS}
    unhashable = {k for k in pseudonyms if isinstance(doc[k], (bool, list, dict)) or doc[k] is None}
    assert event.dropped_fields == len(undeclared) + len(unhashable)
    for key in pseudonyms - unhashable:
        assert stored[key] == f"hmac:{HASHER.hash(str(doc[key]), kind=key)}"
    for key in set(doc) & DECLARED:
        assert stored[key] == json.loads(json.dumps(doc[key]))  # safe values: kept as sent
    letter = json.loads(document(Rejection(Position("0", 1), "a reason", body)))
    kept = json.loads(letter["body"])
    assert set(kept) <= ENVELOPE | DECLARED | PSEUDONYMS | HLS_FIELDS
    assert all(kept[k] == "hmac:removed" for k in pseudonyms)
    assert letter["fields_dropped"] == len(undeclared - HLS_FIELDS)  # an HLS message's fields help on call
    for key in undeclared - HLS_FIELDS:
        assert key not in kept


def test_a_body_that_is_not_a_json_object_keeps_no_text_in_its_dead_letter():
    from eventhub_to_redis.deadletter import document

    for body in (b"alice@example.com said 203.0.113.9", b'["Alice Smith"]', b"\xff\xfeA"):
        letter = json.loads(document(Rejection(Position("0", 1), "not JSON", body)))
        assert letter["body"] is None and letter["size_bytes"] == len(body)


def test_no_declared_field_is_taken_for_personal_data():
    from shared.privacy.scrub import personal_kind

    assert [name for name in DECLARED if personal_kind(name)] == []
    assert extra_field_problem("client_ip") and extra_field_problem("Title") and not extra_field_problem("genre")


def test_the_schema_declares_exactly_the_fields_the_code_keeps():
    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "eventhub-messages.schema.json").read_text())
    declared = set(schema["$defs"]["fabrikEvent"]["properties"])
    assert declared == ENVELOPE | DECLARED | PSEUDONYMS
    doc = (Path(__file__).resolve().parents[2] / "docs" / "eventhub-messages.md").read_text()
    assert all(f"`{name}`" in doc for name in DECLARED | PSEUDONYMS)
