"""The access-log parser on lines as Debian 12's rsyslog and HAProxy write them, and the privacy
promise (no query, path parameter, e-mail, token or free text survives) on generated lines."""

import base64
import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haproxy_agent.access_log import LineParser, clean_path, client_hash
from shared.core.user_agents import DEVICES, KINDS
from shared.privacy.identity import IdentityHasher

HASHER = IdentityHasher(b"test-logs-hash-key-0123456789")


def ONE_DAY(day):  # the hasher of every day: these tests are about parsing (salts: test_salts.py)
    return HASHER


BODY = (
    'fabrik-hls 1795980035.737 203.0.113.7 200 18800 41 acme-fm "/acme-fm/live/seg12.ts" '
    '"VLC/3.0.18 LibVLC/3.0.18" "198.51.100.4, 2001:db8::4"'
)
HEADERS = [
    "2026-11-29T19:20:35.737688+00:00 edge1 haproxy[5069]: ",  # RSYSLOG_FileFormat (Debian 12)
    "2026-11-29T19:20:35+00:00 edge1 haproxy[5069]: ",
    "2026-11-29T20:20:35.7+01:00 edge1 haproxy: ",
    "2026-11-29T19:20:35Z edge1 haproxy[1]: ",
    "Nov 29 19:20:35 edge1 haproxy[5069]: ",  # traditional
    "<134>Nov 29 19:20:35 haproxy[5069]: ",
    "",
]


def parse(line, host="edge-1"):
    record, second, parsed = LineParser(ONE_DAY, host, year_hint=2026).parse(line)
    return json.loads(record), second, parsed


def test_every_header_rsyslog_writes_parses_to_the_lines_own_time():
    for header in HEADERS:
        record, second, parsed = parse(header + BODY + "\n")
        assert parsed, header
        assert record["time"] == "2026-11-29T19:20:35.737Z" and second == 1795980035
        assert (record["tenant"], record["path"], record["status"], record["bytes"]) == (
            "acme-fm",
            "/acme-fm/live/seg12.ts",
            200,
            18800,
        )
        assert record["client"] == client_hash("203.0.113.7", HASHER)
        assert record["forwarded_for"] == [client_hash("198.51.100.4", HASHER), client_hash("2001:db8::4", HASHER)]
        assert (record["client_kind"], record["device"]) == (
            "player",
            "computer",
        )  # VLC: OPAWG and "user_agent" not in record


def test_an_unparsed_line_ships_no_text_but_keeps_its_headers_time():
    for header in HEADERS[:5]:
        record, second, parsed = parse(header + "Server hls/origin is DOWN, reason: alice@example.com 203.0.113.9")
        assert not parsed and set(record) == {"time", "host", "unparsed", "chars"}
        assert dt.datetime.fromtimestamp(second, dt.timezone.utc).strftime("%H:%M") in ("19:20",), header
    record, second, parsed = parse("garbage without any header")
    assert record["time"] is None and second is None and record["chars"] == len("garbage without any header")


def test_httplog_keeps_the_allowed_path_only():
    line = (
        "2026-11-29T10:15:00.5+00:00 e haproxy[1]: 203.0.113.7:53532 [28/Nov/2026:10:15:00.123] fe_hls be/srv "
        "0/0/0/1/41 200 18800 - - ---- 1/1/0/0/0 0/0 "
        '"GET /acme-fm/live;jsessionid=ABC123/seg1.ts?token=s3cr3t HTTP/1.1"'
    )
    record, second, parsed = parse(line)
    assert parsed and record["format"] == "httplog" and record["path"] == "/acme-fm/live/seg1.ts"
    assert record["time"] == "2026-11-28T10:15:00.123Z" and record["method"] == "GET"


def test_the_allow_list_keeps_stream_paths_and_nothing_else():
    assert clean_path("/acme-fm/live/seg1795860900.ts") == "/acme-fm/live/seg1795860900.ts"
    assert clean_path("/acme-fm/hls/aac_96k/chunk-128k-0001.m4s") == "/acme-fm/hls/aac_96k/chunk-128k-0001.m4s"
    assert clean_path("/acme-fm/9f8e7d6c5b4a/index.m3u8") == "/acme-fm/*/index.m3u8"
    assert (
        clean_path("/acme-fm/Main2/1080p/AAC96/media_1795860900123.m4s")
        == "/acme-fm/Main2/1080p/AAC96/media_1795860900123.m4s"
    )
    assert clean_path("//00000000000A/live") == "//*/live"
    assert clean_path("/acme-fm/AAAAAAAAAAAAAAAAAAAAAA/x.ts") == "/acme-fm/*/x.ts"
    assert clean_path("/acme-fm/alice%40example.com/x.ts") == "/acme-fm/*/x.ts"
    assert clean_path("/acme-fm/live/seg1.ts;jsessionid=0AB1") == "/acme-fm/live/seg1.ts"
    assert clean_path("http://203.0.113.5/acme-fm/live/x.ts?sig=abc") == "/acme-fm/live/x.ts"
    assert clean_path("<BADREQ>") == "*"


# Tokens as services make them: 12 to 32 random bytes, in hex or base64url.
SECRET = st.tuples(st.binary(min_size=12, max_size=32), st.booleans()).map(
    lambda b: b[0].hex() if b[1] else base64.urlsafe_b64encode(b[0]).decode().rstrip("=")
)
SEGMENT = st.sampled_from(["live", "hls", "aac_96k", "seg12.ts", "index.m3u8", "acme-fm", "chunk-0001.m4s"])


@st.composite
def hostile_paths(draw):
    secret = draw(SECRET)
    user = draw(st.sampled_from(["alice", "bob.smith", "x_y"]))
    leak = draw(
        st.sampled_from(
            [
                f"?token={secret}",
                f"?code={secret}&x=1",
                f"?sig={secret}",
                f"?email={user}%40example.com",
                f";jsessionid={secret}",
                f"/{user}@example.com",
                f"/{user}%40example.com",
                f"/{secret}",
                f"/{secret}.ts",
                f"#frag{secret}",
            ]
        )
    )
    parts = draw(st.lists(SEGMENT, min_size=1, max_size=4))
    where = draw(st.integers(0, len(parts)))
    path = "/" + "/".join(parts[:where]) + leak + ("/" + "/".join(parts[where:]) if parts[where:] else "")
    return path, [secret, f"{user}@example.com", f"{user}%40example.com"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_paths(), st.sampled_from(HEADERS), st.booleans())
def test_no_query_parameter_email_or_token_survives_any_format(case, header, httplog):
    path, secrets = case
    if httplog:
        line = (
            f"{header}203.0.113.7:5353 [28/Nov/2026:10:15:00.123] fe be/s 0/0/0/1/41 200 10 - - ---- "
            f'1/1/0/0/0 0/0 "GET {path} HTTP/1.1"'
        )
    else:
        line = f'{header}fabrik-hls 1795980035.737 203.0.113.7 200 10 4 acme-fm "{path}" "Agent {secrets[2]}" ""'
    text, _, _ = LineParser(ONE_DAY, "edge-1").parse(line)
    for secret in secrets:
        assert secret.lower() not in text.lower(), (line, text)
    assert "203.0.113.7" not in text


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_an_unparsed_line_never_ships_its_text(noise):
    text, _, parsed = LineParser(ONE_DAY, "edge-1").parse("Nov 29 19:20:35 edge1 other: x" + noise)
    record = json.loads(text)
    if not parsed:
        assert set(record) == {"time", "host", "unparsed", "chars"}


@settings(max_examples=200)
@given(st.text(min_size=1, max_size=200).filter(lambda s: '"' not in s and "\n" not in s and "\r" not in s))
def test_the_user_agent_leaves_the_edge_as_its_client_kind_and_device_only(agent):
    """Issue 37.6: a User-Agent can carry ids, names and addresses: its only trace in a shipped
    record is its client kind and device (the record is otherwise the same for any agent)."""

    def shipped(user_agent):
        line = f'fabrik-hls 1795980035.737 203.0.113.7 200 10 4 acme-fm "/acme-fm/live/seg1.ts" "{user_agent}" ""'
        text, _, parsed = LineParser(ONE_DAY, "edge-1").parse(line)
        assert parsed
        return json.loads(text)

    record, other = shipped(agent), shipped("VLC/3.0.20 LibVLC/3.0.20")
    assert "user_agent" not in record
    assert record["client_kind"] in KINDS and record["device"] in DEVICES
    drop = lambda r: {k: v for k, v in r.items() if k not in ("client_kind", "device")}  # noqa: E731
    assert drop(record) == drop(other)
