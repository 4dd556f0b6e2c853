import json

import pytest

from icecast_poller.tenant import MountOwners
from shared.core.errors import ConfigError
from shared.core.settings import SettingsReader, hash_key, load_store_settings, read_store
from shared.core.tenants import parse_tenants


def test_store_defaults_apply():
    s = load_store_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert (s.redis_cluster, s.window_seconds, s.key_prefix) == (False, 7200, "fabrik")


def test_one_error_names_every_bad_key_without_printing_secrets():
    env = {
        "REDIS_URL": "http://:supersecretpw@host:6379",
        "LIVE_WINDOW_SECONDS": "two hours",
        "REDIS_CLUSTER": "maybe",
        "REDIS_KEY_PREFIX": "a{b}",
    }
    with pytest.raises(ConfigError) as caught:
        load_store_settings(env)
    message = str(caught.value)
    for name in ("REDIS_URL", "LIVE_WINDOW_SECONDS", "REDIS_CLUSTER", "REDIS_KEY_PREFIX"):
        assert name in message
    assert "supersecretpw" not in message
    assert "'two hours'" in message  # non-secret values are quoted to help


def test_missing_required_key_is_named():
    with pytest.raises(ConfigError) as caught:
        load_store_settings({})
    assert caught.value.problems == {"REDIS_URL": "missing (required)"}


def test_store_settings_repr_hides_the_url():
    s = load_store_settings({"REDIS_URL": "rediss://:accesskey123@cache.example:6380"})
    assert "accesskey123" not in repr(s)


def test_hash_key_too_short_is_rejected_without_echo():
    reader = SettingsReader({"IDENTITY_HASH_KEY": "short-key"})
    reader.get("IDENTITY_HASH_KEY", hash_key, secret=True)
    with pytest.raises(ConfigError) as caught:
        reader.check()
    assert "short-key" not in str(caught.value)
    assert "IDENTITY_HASH_KEY" in str(caught.value)


def test_tenants_inline_and_mount_lookup():
    t = parse_tenants(
        json.dumps(
            {
                "acme-fm": {
                    "icecast": {"mounts": ["/acme", "/acme-aac"], "app_user_agent": "AcmeRadio/"},
                    "matomo": {"site_id": 3},
                    "apple": {"app_id": "1234567890"},
                    "google": {"package": "com.acme.radio"},
                },
                "metro-kids": {"icecast": {"mounts": ["/metro-kids.mp3"]}},
            }
        )
    )
    owners = MountOwners.of(t)
    assert owners.tenant_for_mount("/acme-aac") == "acme-fm"
    assert owners.tenant_for_mount("/metro-kids.mp3") == "metro-kids"
    assert owners.tenant_for_mount("/unclaimed") is None
    acme = t.by_name["acme-fm"]
    assert acme.section("matomo") == 3 and acme.section("apple") == ("1234567890",)
    assert acme.section("google") == ("com.acme.radio",)
    assert acme.section("icecast").app_user_agent.search("acmeradio/3.1 CFNetwork")
    assert t.by_name["metro-kids"].section("matomo") is None


def test_tenants_from_file(tmp_path):
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps({"a": {"matomo": {"site_id": 1}}}))
    assert list(parse_tenants(f"@{path}").by_name) == ["a"]
    assert list(parse_tenants("@tenants.json", base_dir=tmp_path).by_name) == ["a"]


def test_tenants_problems_are_all_reported():
    raw = json.dumps(
        {
            "bad name!": {},
            "a": {"icecast": {"mounts": ["/x"]}, "matomo": {"site_id": "3"}},
            "b": {"icecast": {"mounts": ["/x"]}, "radio": {}},
            "c": {"icecast": {"mounts": ["/y"]}},
            "d": {"icecast": {"mounts": ["/y"], "colour": 1}},
        }
    )
    with pytest.raises(ValueError) as caught:
        parse_tenants(raw)
    text = str(caught.value)
    assert "'bad name!'" in text
    assert "a.matomo.site_id" in text
    assert "unknown source 'radio'" in text
    assert "d.icecast: unknown key 'colour'" in text


def test_mount_claimed_twice_is_an_error():
    raw = json.dumps({"a": {"icecast": {"mounts": ["/x"]}}, "b": {"icecast": {"mounts": ["/x"]}}})
    with pytest.raises(ValueError, match="/x is claimed by both a and b"):
        parse_tenants(raw)


def test_tenants_not_json_names_the_position():
    with pytest.raises(ValueError, match="line 1 column"):
        parse_tenants("{acme: 1}")


def test_reader_collects_across_helpers():
    reader = SettingsReader({"LIVE_WINDOW_SECONDS": "-5"})
    read_store(reader)
    with pytest.raises(ConfigError) as caught:
        reader.check()
    assert set(caught.value.problems) == {"REDIS_URL", "LIVE_WINDOW_SECONDS"}


def test_a_redis_url_the_check_accepts_keeps_certificate_checks_on_as_redis_py_reads_it():
    """Issue 37.1: the URL check once kept the last of a repeated parameter where redis-py uses
    the first, and took `f` or `n` for true. Now, for any mix of parameters, a URL that passes
    builds a redis-py connection that verifies the certificate and the host name, with no CA
    of the URL's choosing."""
    import ssl

    import redis
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from shared.core.settings import redis_url

    names = st.sampled_from(
        ["ssl_cert_reqs", "ssl_check_hostname", "SSL_CERT_REQS", "ssl_ca_certs", "ssl_min_version", "db"]
        + ["socket_timeout", "ssl_exclude_verify_flags", "ssl_ca_data"]
    )
    values = st.sampled_from(
        ["none", "required", "optional", "Required", "f", "n", "0", "no", "false", "true", "", "5"]
    )

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.tuples(names, values), max_size=4))
    def check(pairs):
        url = "rediss://cache.example.net:6380/0" + ("?" + "&".join(f"{k}={v}" for k, v in pairs) if pairs else "")
        try:
            redis_url(url)
        except ValueError as refused:
            assert "cache.example.net" not in str(refused)
            return
        connection = redis.Redis.from_url(url).connection_pool.make_connection()
        assert connection.cert_reqs == ssl.CERT_REQUIRED and connection.check_hostname is True
        assert connection.ca_certs is None and connection.ca_data is None

    check()


@pytest.mark.parametrize("function", ["icecast_poller", "matomo_live_poller", "eventhub_to_redis"])
def test_every_collector_refuses_an_entra_token_over_plain_redis(function):
    """Issue 37.2: the rediss:// rule for REDIS_CREDENTIAL held only where the CLI and the read
    side loaded settings; the collectors read the store settings without it."""
    from shared.core.functions import descriptors

    env = {
        "REDIS_URL": "redis://cache.example.net:6379/0",
        "REDIS_CREDENTIAL": "managedidentity",
        "IDENTITY_HASH_KEY": "test-identity-hash-key-0123456789",
    }
    with pytest.raises(ConfigError) as caught:
        descriptors()[function].load_settings(env)
    assert "would travel in clear" in caught.value.problems["REDIS_CREDENTIAL"]
