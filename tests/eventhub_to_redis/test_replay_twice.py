"""Issue 38.3: a replay says what happened, once. Replaying the same file twice stores and counts
its events and dead letters once; a replay's own source stops weighing on health once its
dead-letter window is over."""

import json

from shared.runtime.status import SourceStatus
from shared.runtime.verdict import judge
from tests.eventhub_to_redis.test_function import deadletters, iso, store_of
from tests.eventhub_to_redis.test_hostile import env  # noqa: F401 (the fixture: Redis and Azurite)
from tests.helpers import run_cli, write_settings


def test_replaying_a_file_twice_stores_and_counts_it_once(env, tmp_path):
    lines = [json.dumps({"tenant": "acme-fm", "type": "app.play", "time": iso(10 + i)}) for i in range(25)]
    lines += ["not json"] * 5
    source = tmp_path / "batch.jsonl"
    source.write_text("\n".join(lines) + "\n")
    settings = write_settings(tmp_path / "s.json", env)
    store, client = store_of(env)
    client.script_flush()  # Redis forgot its scripts (a restart): the write is sent again, in part
    first = run_cli("run", "eventhub_to_redis", "--input", str(source), settings=settings)
    client.script_flush()
    second = run_cli("run", "eventhub_to_redis", "--input", str(source), settings=settings)
    assert "5 of 30 messages dead-lettered" in first.stdout + first.stderr
    assert "5 of 30 messages dead-lettered" in second.stdout + second.stderr
    _, counts, _ = store.read_tenant("acme-fm", [], counts=True)
    assert counts.total == 25
    assert len(store.read_events("acme-fm")) == 25 and len(deadletters(env)) == 5
    status = run_cli("status", "--json", settings=settings)
    [replay] = [s for s in json.loads(status.stdout)["sources"] if s["source"].startswith("partition:replay:")]
    assert "5 of 30 messages dead-lettered in the last 10-20 minutes" in replay["reason"]  # not 10 of 60


def _replay_row(*, rolling: dict, last_run: int, ok: bool = True) -> SourceStatus:
    return SourceStatus(
        function="eventhub_to_redis",
        source="partition:replay:batch.jsonl@0a1b2c3d",
        ok=ok,
        last_run=last_run,
        last_success=last_run,
        last_error=None,
        last_error_time=None,
        counts={"deadlettered": 5, **rolling},
    )


def test_a_replays_source_weighs_on_health_only_while_its_dead_letters_are_recent():
    now = 10_000_000_000
    live = SourceStatus("eventhub_to_redis", "partition:0", True, now, now, None, None, {})
    recent = _replay_row(rolling={"rolling_messages": 30, "rolling_deadlettered": 5}, last_run=now - 60_000)
    [_, judged] = judge({"eventhub_to_redis": [live, recent]}, ["eventhub_to_redis"], {}, now_ms=now)
    assert judged.state == "fail" and "5 of 30" in judged.reason
    over = _replay_row(rolling={}, last_run=now - 25 * 60_000)  # its window (10-20 minutes) is over
    verdicts = judge({"eventhub_to_redis": [live, over]}, ["eventhub_to_redis"], {}, now_ms=now)
    assert [v.source for v in verdicts] == ["partition:0"] and verdicts[0].state == "ok"
    hour = _replay_row(rolling={}, last_run=now - 16 * 60_000)  # past the partition freshness limit too
    assert [v.source for v in judge({"eventhub_to_redis": [live, hour]}, ["eventhub_to_redis"], {}, now_ms=now)] == [
        "partition:0"
    ]


def test_deadletters_lists_the_newest_with_their_reasons_and_shows_one(env, tmp_path):
    """Issue 38.3: a command reads the dead letters, so on call needs no storage browser."""
    source = tmp_path / "bad.jsonl"
    source.write_text(
        json.dumps({"tenant": "acme-fm", "type": "app.play", "time": iso(5)})
        + "\nnot json\n"
        + json.dumps({"tenant": "acme-fm", "type": "app.play", "user_id": "u-7"})
        + "\n"
    )
    settings = write_settings(tmp_path / "s.json", env)
    run_cli("run", "eventhub_to_redis", "--input", str(source), settings=settings)
    listed = run_cli("deadletters", "--since", "1h", settings=settings)
    assert listed.returncode == 0, listed.stderr
    assert "not JSON" in listed.stdout and "field 'time' is missing" in listed.stdout
    assert "2 shown" in listed.stdout
    as_json = [json.loads(line) for line in run_cli("deadletters", "--json", settings=settings).stdout.splitlines()]
    name = next(d["name"] for d in as_json if "time" in d["reason"])
    shown = json.loads(run_cli("deadletters", "--show", name, settings=settings).stdout)
    assert json.loads(shown["body"])["user_id"] == "hmac:removed" and "u-7" not in json.dumps(shown)
    assert run_cli("deadletters", "--since", "yesterday", settings=settings).returncode == 2
    missing = run_cli("deadletters", "--show", "eventhub_to_redis/none.json", settings=settings)
    assert missing.returncode == 2 and "no dead letter named" in missing.stderr
