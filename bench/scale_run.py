"""One function's run at one platform size, measured in a fresh process (``bench.scale``).

``python -m bench.scale_run <job.json>`` prints one JSON line: wall and CPU seconds of the
measured call, the process's peak RSS, and the Redis commands, round trips and server time it
caused. The servers are the orchestrator's (real Redis, HAProxy, the Icecast and Matomo
stand-ins); this process only runs the app's code, so its CPU and memory are the function's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def hwm_mib() -> float:
    """VmHWM: the process's own peak (ru_maxrss carries the parent's over across exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def counting_client(url: str) -> Any:
    """A redis-py client whose connections count what they send: one send is one round trip."""
    import redis

    class Counting(redis.connection.Connection):
        sends = 0

        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            type(self).sends += 1
            super().send_packed_command(command, check_health)

    client = redis.Redis.from_url(url, decode_responses=True, connection_class=Counting)
    client.counting = Counting  # type: ignore[attr-defined]
    return client


def redis_totals(client: Any) -> tuple[int, float]:
    """``(commands, server µs in commands)`` from INFO commandstats, INFO itself left out."""
    stats = client.info("commandstats")
    calls = sum(v["calls"] for k, v in stats.items() if k != "cmdstat_info")
    usec = sum(v["usec"] for k, v in stats.items() if k != "cmdstat_info")
    return calls, usec


def measure(call: Callable[[], Any], client: Any) -> dict[str, float]:
    call()  # warm-up: imports, scripts loaded, schema written
    commands, usec = redis_totals(client)
    client.counting.sends = 0
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    trips = client.counting.sends
    after_commands, after_usec = redis_totals(client)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_mib": hwm_mib(),
        "redis_commands": after_commands - commands,
        "round_trips": trips,
        "redis_ms": (after_usec - usec) / 1000,
    }


def job_call(job: dict, client: Any) -> Callable[[], Any]:
    """The measured call of each kind of job."""
    env, kind = job["env"], job["kind"]
    if kind == "icecast_poller":
        import icecast_poller

        return lambda: icecast_poller.run(env=env, redis=client)
    if kind == "matomo_live_poller":
        import matomo_live_poller

        return lambda: matomo_live_poller.run(env=env, redis=client)
    if kind == "eventhub_to_redis":
        import eventhub_to_redis

        events = eventhub_batch(job["bodies"])
        return lambda: eventhub_to_redis.run(events, env=env, redis=client)
    if kind == "agent_tick":
        from haproxy_agent.agent import Agent
        from haproxy_agent.config import AgentConfig

        class Discard:
            def send(self, messages: Any) -> None:
                self.sent = messages

        agent = Agent(
            config=AgentConfig(socket=job["socket"], tenants=tuple(job["tenants"]), host="e"), sender=Discard()
        )
        return agent.tick
    if kind == "page_read":
        from shared.read.feed import feed

        headers = {"Authorization": f"Bearer {job['token']}"}
        return lambda: feed(job["tenant"], {}, headers, env=env, redis=client)
    if kind == "health":
        from shared.read.api import health

        return lambda: health(env=env, redis=client)
    raise ValueError(f"unknown job kind {kind!r}")


def page_read_again(job: dict, client: Any, tag: str) -> Any:
    from shared.read.feed import feed

    headers = {"Authorization": f"Bearer {job['token']}", "if-none-match": tag}
    return feed(job["tenant"], {}, headers, env=job["env"], redis=client)


def eventhub_batch(bodies: list[dict]) -> list[Any]:
    """Event Hub events as the worker hands them to the function (azure.functions' own type)."""
    import datetime as dt

    import azure.functions as func
    from azure.functions import meta

    context = meta.Datum(json.dumps({"PartitionId": "0", "EventHubName": "events"}), "json")
    now = dt.datetime.now(dt.timezone.utc)
    return [
        func.EventHubEvent(
            body=json.dumps(body).encode(),
            trigger_metadata={"PartitionContext": context},
            sequence_number=i,
            offset=str(i),
            enqueued_time=now,
            partition_key=None,
        )
        for i, body in enumerate(bodies)
    ]


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    client = counting_client(job["env"]["REDIS_URL"])
    call = job_call(job, client)
    out = measure(call, client)
    if job["kind"] == "page_read":  # what a refresh moves: the whole answer, or a 304 without a body
        status, headers, body = call()
        again = page_read_again(job, client, headers["ETag"])
        out.update(answer_bytes=len(body), revalidated_status=again[0], revalidated_bytes=len(again[2]))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
