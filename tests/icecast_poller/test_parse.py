import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from icecast_poller.parse import parse_listclients, parse_stats
from shared.core.errors import BadInputError
from shared.core.user_agents import classify
from shared.privacy.identity import IdentityHasher

DATA = Path(__file__).parent / "testdata"
HASHER = IdentityHasher(b"k" * 32)


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_stats_2_4_4_recorded():
    stats = parse_stats(load("icecast-2.4.4_admin_stats.xml"))
    assert stats.server_id == "Icecast 2.4.4"
    assert stats.listeners == 4
    assert [(m.mount, m.listeners, m.listener_peak, m.bitrate) for m in stats.mounts] == [
        ("/tenant-a/live.mp3", 3, 3, 128),
        ("/tenant-b/live.mp3", 1, 1, 128),
    ]
    assert stats.mounts[0].stream_start == "2026-11-27T23:48:04+0000"
    assert stats.mounts[0].content_type == "audio/mpeg"


def test_listclients_2_4_4_hashes_every_ip():
    listeners = parse_listclients(load("icecast-2.4.4_admin_listclients.xml"), ip_tokens=HASHER.ip_tokens)
    assert [(l.user_agent, l.connected_seconds) for l in listeners] == [
        ("VLC/3.0.0", 3),
        ("VLC/3.0.1", 3),
        ("VLC/3.0.2", 3),
    ]
    assert {l.ip_token for l in listeners} == set(HASHER.ip_tokens(["127.0.0.1"]))
    assert all("127.0.0.1" not in repr(l) for l in listeners)


def test_listclients_unknown_user_agent_is_empty():
    listeners = parse_listclients(load("icecast-2.4.4_admin_listclients_acme.aac.xml"), ip_tokens=HASHER.ip_tokens)
    assert [l.user_agent for l in listeners] == ["VLC/3.0.20 LibVLC/3.0.20", ""]


def test_icecast_2_5_lower_case_names_and_ipv6():
    listeners = parse_listclients(load("icecast-2.5-rc2_admin_listclients.xml"), ip_tokens=HASHER.ip_tokens)
    assert [(l.connected_seconds, l.ip_token) for l in listeners] == [
        (125, *HASHER.ip_tokens(["2001:db8::17"])),
        (3605, *HASHER.ip_tokens(["203.0.113.9"])),
    ]
    stats = parse_stats(load("icecast-2.5-rc2_admin_stats.xml"))
    assert [(m.mount, m.listeners, m.listener_peak, m.bitrate) for m in stats.mounts] == [("/acme.mp3", 2, 5, 128)]
    assert stats.mounts[0].content_type == "audio/mpeg"


def test_icecast_kh_listclients_and_underflowed_total():
    listeners = parse_listclients(load("icecast-kh-22_admin_listclients.xml"), ip_tokens=HASHER.ip_tokens)
    assert [l.connected_seconds for l in listeners] == [40, 901]
    stats = parse_stats(load("icecast-kh-22_admin_stats_underflow.xml"))
    assert stats.listeners is None  # 2^64-1 is not a listener count
    assert [(m.mount, m.listeners) for m in stats.mounts] == [("/metro.mp3", 2)]


def test_control_characters_in_titles_do_not_lose_the_document():
    stats = parse_stats(load("icecast-2.4.3_admin_stats_control_chars.xml"))
    assert [(m.mount, m.listeners) for m in stats.mounts] == [("/acme.mp3", 7), ("/metro.mp3", 3)]


@pytest.mark.parametrize(
    "name", ["proxy_error_page.html", "icecast-2.4.4_admin_stats_401.html", "icecast-2.4.4_status-json.xsl.json"]
)
def test_not_icestats_is_bad_input_naming_the_source(name):
    with pytest.raises(BadInputError, match=r"icecast ice1 /admin/stats: (expected <icestats>|not XML)"):
        parse_stats(load(name), what="icecast ice1 /admin/stats")


def test_empty_and_binary_bodies_are_bad_input():
    for body in (b"", b"\x00\xff\xfe garbage", b"<icestats"):
        with pytest.raises(BadInputError):
            parse_stats(body)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<icestats><source mount="/acme.mp3"><title>&lol9;</title><listeners>5</listeners></source></icestats>"""


def test_billion_laughs_is_refused_quickly():
    with pytest.raises(BadInputError, match="declares a DTD"):
        parse_stats(BILLION_LAUGHS)


def test_quadratic_blowup_is_refused():
    big = "x" * 100_000
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "{big}">]><icestats><source mount="/a">'
        f"<title>{'&a;' * 10_000}</title><listeners>1</listeners></source></icestats>"
    ).encode()
    with pytest.raises(BadInputError, match="declares a DTD"):
        parse_stats(doc)


def test_dtd_in_utf16_is_refused_too():
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "b">]><icestats/>'.encode("utf-16")
    with pytest.raises(BadInputError, match="declares a DTD"):
        parse_stats(doc)


def test_truncated_document_is_refused_not_read_as_zero():
    body = load("icecast-2.4.4_admin_stats_3mounts.xml")
    with pytest.raises(BadInputError, match="malformed XML"):
        parse_stats(body[: len(body) * 2 // 3])


def test_latin1_title_without_declaration_keeps_the_counts():
    doc = b'<icestats><source mount="/a"><title>caf\xe9 cr\xe8me</title><listeners>3</listeners></source></icestats>'
    assert parse_stats(doc).mounts[0].listeners == 3


def test_external_entities_read_neither_files_nor_urls(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"REMOTE")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        doc = (
            f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY f SYSTEM "file://{secret}">'
            f'<!ENTITY h SYSTEM "http://127.0.0.1:{server.server_port}/x">'
            f'<!ENTITY % p SYSTEM "http://127.0.0.1:{server.server_port}/dtd"> %p;]>'
            f'<icestats><source mount="/a"><listeners>2</listeners></source>'
            f"<listener><IP>1.2.3.4</IP><UserAgent>&f;&h;</UserAgent></listener></icestats>"
        ).encode()
        with pytest.raises(BadInputError, match="declares a DTD"):
            parse_listclients(doc, ip_tokens=HASHER.ip_tokens)
        # The parser underneath is hardened on its own too: nothing is fetched or read.
        from lxml import etree

        from shared.clients import xml as hardened

        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
        tree = etree.fromstring(doc, parser=parser)
        assert hardened.local_name(tree) == "icestats"
        assert "TOPSECRET" not in etree.tostring(tree).decode() and "REMOTE" not in etree.tostring(tree).decode()
    finally:
        server.shutdown()
    assert hits == []


@pytest.mark.parametrize(
    "ua,pattern,expected",
    [
        ("AcmeRadio/3.2 (iPhone; iOS 17.1) CFNetwork/1474", "^AcmeRadio/", "app"),
        ("AcmeRadio/3.2 (Android 14) ExoPlayerLib/2.19.1", "^AcmeRadio/", "app"),
        ("AcmeRadio/3.2 (Android 14) ExoPlayerLib/2.19.1", None, "player"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            None,
            "browser",
        ),
        (
            "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
            None,
            "browser",
        ),
        ("VLC/3.0.20 LibVLC/3.0.20", None, "player"),
        ("AppleCoreMedia/1.0.0.21G93 (iPhone; U; CPU OS 17_6 like Mac OS X)", None, "player"),
        ("Lavf/60.3.100", None, "bot"),  # OPAWG: ffmpeg downloads are bots
        ("Sonos/79.1-55140 (ZPS27)", None, "player"),
        ("Icecast 2.4.4", None, "relay"),
        ("", None, "other"),
        ("curl/8.5.0", None, "bot"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", None, "bot"),
        ("okhttp/4.12.0", None, "bot"),  # OPAWG: a bare HTTP library
        ("Spotify/8.9.10 iOS/17.1 (iPhone15,2)", None, "player"),
    ],
)
def test_client_types(ua, pattern, expected):
    import re

    assert classify(ua, re.compile(pattern, re.I) if pattern else None).kind == expected


def test_a_configured_mount_without_its_source_is_recognised():
    from pathlib import Path

    stats = parse_stats((Path(__file__).parent / "testdata" / "icecast-2.4.4_admin_stats_on_fallback.xml").read_bytes())
    by_mount = {m.mount: m for m in stats.mounts}
    assert (by_mount["/a.mp3"].has_source, by_mount["/a.mp3"].listeners) == (False, 0)
    assert (by_mount["/fb.mp3"].has_source, by_mount["/fb.mp3"].listeners) == (True, 2)
