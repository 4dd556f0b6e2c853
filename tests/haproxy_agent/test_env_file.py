"""--env-file reads KEY=VALUE as systemd's EnvironmentFile does (systemd.exec(5)), or refuses,
naming the line and the key."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haproxy_agent.env_file import EnvFileError, parse_env_file

VALUE = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters="\ufeff"), max_size=40)


def double_quoted(value):
    return '"' + "".join("\\" + c if c in '"\\`$' else c for c in value) + '"'


@given(VALUE, st.sampled_from(["", " ", "\t"]))
def test_quoted_values_lose_their_quotes(value, space):
    text = f"# a comment\n; another\n\nA{space}={space}{double_quoted(value)}{space}\n"
    if "'" not in value:
        text += f"B='{value}'\n"
    parsed = parse_env_file(text)
    assert parsed["A"] == value
    if "'" not in value:
        assert parsed["B"] == value


@given(VALUE.filter(lambda v: v.strip(" \t\r") == v and v[:1] not in ("'", '"') and "\\" not in v))
def test_unquoted_values_keep_inner_white_space(value):
    assert parse_env_file(f"  KEY = {value}  \n")["KEY"] == value


def test_the_hash_key_written_with_quotes_is_the_same_key():
    assert (
        parse_env_file('LOGS_HASH_KEY="abc+/=="\n')
        == parse_env_file("LOGS_HASH_KEY=abc+/==\n")
        == {"LOGS_HASH_KEY": "abc+/=="}
    )


def test_sas_connection_strings_and_continuations():
    sas = "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2022&sp=cw&sig=a%2Bb%3D"
    assert parse_env_file(f"C={sas}\nD=one \\\n two\n") == {"C": sas, "D": "one  two"}


@pytest.mark.parametrize(
    "text, names",
    [
        ('KEY="never closed\n', ["line 1", "KEY", "never closed"]),
        ("A=1\nKEY='x'y\n", ["line 2", "KEY", "after the closing"]),
        ("1BAD=x\n", ["line 1", "1BAD", "not a variable name"]),
    ],
)
def test_what_systemd_would_read_differently_is_refused_by_name(text, names):
    with pytest.raises(EnvFileError) as caught:
        parse_env_file(text, source="/etc/fabrik/ship-logs.env")
    assert all(name in str(caught.value) for name in names), caught.value
