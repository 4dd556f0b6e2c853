from pathlib import Path

import pytest

from haproxy_agent.errors import BadAnswer
from haproxy_agent.table import parse_show_table

DATA = Path(__file__).parent / "testdata"


def load(name):
    return (DATA / name).read_text()


def test_recorded_2_6_answer():
    counts = parse_show_table(load("haproxy-2.6.12_show_table.txt"))
    assert (counts.table, counts.used) == ("hls_listeners", 3)
    assert dict(counts.listeners) == {"acme-fm": 2, "metro-kids": 1}
    assert counts.skipped == 0


def test_shard_column_other_store_columns_escapes_and_ipv6():
    counts = parse_show_table(load("haproxy-2.8_show_table_shard_columns.txt"))
    assert dict(counts.listeners) == {"acme-fm": 2, "metro-kids": 1}
    assert counts.skipped == 1  # "with space=eq" is not a valid tenant name


@pytest.mark.parametrize(
    "name,message",
    [
        ("haproxy-2.6_show_table_user_level.txt", "level operator"),
        ("haproxy-2.6_show_table_no_such_table.txt", "No such table"),
        ("haproxy-2.6_unknown_command.txt", "Unknown command"),
    ],
)
def test_error_answers_are_named(name, message):
    with pytest.raises(BadAnswer, match=message):
        parse_show_table(load(name))


def test_empty_and_garbage_answers():
    with pytest.raises(BadAnswer, match="empty answer"):
        parse_show_table("")
    with pytest.raises(BadAnswer, match="HAProxy answered"):
        parse_show_table("\x00\x01 HTTP/1.1 400 Bad Request\r\n")


def test_several_thousand_entries_in_one_pass_with_junk_lines():
    lines = ["# table: hls_listeners, type: string, size:204800, used:6000"]
    for i in range(6000):
        lines.append(
            f"0x{i:012x}: key=tenant-{i % 7}|10.0.{i // 256}.{i % 256} use=0 exp={1000 + i} http_req_cnt={i % 9}"
        )
    lines.insert(3000, "this line is noise")
    lines.insert(10, "0xdeadbeef: use=0 exp=1")  # an entry without a key
    counts = parse_show_table("\n".join(lines) + "\n\n")
    assert sum(counts.listeners.values()) == 6000
    assert counts.listeners["tenant-0"] == len(range(0, 6000, 7)) and counts.skipped == 2  # every 7th entry
