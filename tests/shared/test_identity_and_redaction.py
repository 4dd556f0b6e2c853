import logging

from shared.privacy.identity import IdentityHasher, normalise_ip
from shared.privacy.redact import redact_text, redact_url
from shared.runtime.logs import get_logger, register_secrets


def test_hmac_depends_on_key_and_is_stable():
    a = IdentityHasher(b"k" * 32)
    b = IdentityHasher(b"j" * 32)
    assert a.hash_ip("203.0.113.5") == a.hash_ip("203.0.113.5")
    assert a.hash_ip("203.0.113.5") != b.hash_ip("203.0.113.5")
    assert a.hash_ip("203.0.113.5") != a.hash_ip("203.0.113.6")
    assert "203.0.113.5" not in a.hash_ip("203.0.113.5")
    assert len(a.hash_ip("203.0.113.5")) == 32


def test_ipv4_mapped_ipv6_hashes_like_ipv4():
    h = IdentityHasher(b"k" * 32)
    assert h.hash_ip("::ffff:203.0.113.5") == h.hash_ip("203.0.113.5")
    assert normalise_ip("2001:DB8::0001") == "2001:db8::1"


def test_ip_and_device_namespaces_differ():
    h = IdentityHasher(b"k" * 32)
    assert h.hash("abc", kind="device") != h.hash("abc", kind="ip")
    assert "k" * 32 not in repr(h)


def test_redact_url_strips_userinfo_and_secret_params():
    url = "https://admin:pw123@host:8000/admin/stats?mount=/a&token_auth=abc123&api_key=zz"
    out = redact_url(url)
    assert "pw123" not in out and "abc123" not in out and "zz" not in out
    assert "mount=/a" in out and "host:8000" in out


def test_redact_text_masks_known_secrets_and_key_values():
    text = "failed: password=hunter2 at http://u:p4ss@h/x Authorization: Bearer abcdefghijkl sk=verysecretvalue"
    out = redact_text(text, ["verysecretvalue"])
    for secret in ("hunter2", "p4ss", "abcdefghijkl", "verysecretvalue"):
        assert secret not in out


def test_every_log_record_has_context_and_no_secret(caplog):
    register_secrets(["s3cr3t-token-value"])
    log = get_logger("icecast_poller", source="ice1").bind(tenant="acme-fm")
    with caplog.at_level(logging.INFO, logger="fabrik"):
        log.info("server said %s", "denied for s3cr3t-token-value")
        try:
            raise RuntimeError("boom with s3cr3t-token-value")
        except RuntimeError:
            log.exception("crashed")
    text = caplog.text
    assert "[icecast_poller tenant=acme-fm source=ice1] server said" in text
    assert "s3cr3t-token-value" not in text
    assert caplog.records[0].fabrik == {"function": "icecast_poller", "tenant": "acme-fm", "source": "ice1"}


def test_the_fast_keyed_hash_is_hmac_sha256():
    import hashlib
    import hmac

    from shared.privacy.identity import IdentityHasher, normalise_ip

    for key in (b"k" * 16, b"0123456789abcdef" * 3, b"x" * 64, b"long-key-" * 20):
        hasher = IdentityHasher(key)
        for value in ("203.0.113.5", "::ffff:203.0.113.5", "2001:DB8::1", " 10.0.0.1 ", "010.1.1.1", "device-1"):
            expected = hmac.new(key, f"ip\x00{normalise_ip(value)}".encode(), hashlib.sha256).hexdigest()[:32]
            assert hasher.hash_ip(value) == expected
            assert (
                hasher.hash(value, kind="device")
                == hmac.new(key, f"device\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]
            )


def _addresses():
    from hypothesis import strategies as st

    quads = st.tuples(*[st.integers(0, 255)] * 4).map(lambda q: ".".join(map(str, q)))
    odd = st.sampled_from(["::ffff:{}", " {} ", "{}\n9.9.9.9", "0{}", "{}%eth0"])
    return st.one_of(
        quads,
        st.tuples(odd, quads).map(lambda t: t[0].format(t[1])),
        st.ip_addresses(v=6).map(str),
        st.text(max_size=20),
    )


def test_ip_tokens_tell_apart_exactly_what_hash_ip_tells_apart():
    """The in-run tokens (icecast_poller's distinct listeners and relay matching) must count
    like the stored hashes: equal exactly when hash_ip is equal, whatever a batch mixes."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    hasher, other = IdentityHasher(b"k" * 32), IdentityHasher(b"j" * 32)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(_addresses(), max_size=12))
    def check(addresses):
        tokens = hasher.ip_tokens(addresses)
        assert len(tokens) == len(addresses)
        assert tokens == [hasher.ip_tokens([a])[0] for a in addresses]  # a batch changes nothing
        for i, a in enumerate(addresses):
            for j, b in enumerate(addresses):
                assert (tokens[i] == tokens[j]) == (hasher.hash_ip(a) == hasher.hash_ip(b))
        if addresses:
            assert other.ip_tokens(addresses)[0] != tokens[0]  # keyed
            assert addresses[0].encode() not in tokens[0] or len(addresses[0]) < 4

    check()
