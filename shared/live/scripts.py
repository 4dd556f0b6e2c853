"""The live store's Lua scripts, and running a pipeline that calls them.

Why scripts: a sample in a hash bucket (``shared.live.series_codec``) carries no schema id when it
has its bucket's schema, and only Redis knows a bucket's schema at write time; exact trimming
of a hash (its fields are not ordered) is a loop over its fields. A script does either inside
the batch's one round trip. Sent by SHA; the text only when Redis does not know it yet (after a
restart, a failover, on a new node). Every script takes its keys as KEYS (one tenant's hash
tag): cluster-safe. Redis 6.0 commands only.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable, Sequence

# KEYS[1]: a hash bucket. ARGV: schema id, ttl ms, cutoff (fields below it are dropped; -1:
# none), then pairs of (ms into the bucket, values). Field "s" holds the bucket's schema id,
# set by its first write; a value of another schema is written as "<schema id>|<values>".
# Lua: ``prefix`` for a value of schema ``sid`` in hash bucket ``key`` (its field "s" is set on
# the bucket's first write).
SCHEMA_PREFIX = """
local function schema_prefix(key, sid)
  local s = redis.call('HGET', key, 's')
  if not s then
    redis.call('HSET', key, 's', sid)
    return ''
  end
  if s == sid then return '' end
  return sid .. '|'
end
"""

WRITE = (
    SCHEMA_PREFIX
    + """
local key, sid, cutoff = KEYS[1], ARGV[1], tonumber(ARGV[3])
if cutoff >= 0 then
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local offset = tonumber(f)
    if offset and offset < cutoff then redis.call('HDEL', key, f) end
  end
end
if #ARGV > 3 then
  local prefix = schema_prefix(key, sid)
  for i = 4, #ARGV, 2 do
    redis.call('HSET', key, ARGV[i], prefix .. ARGV[i + 1])
  end
  redis.call('PEXPIRE', key, ARGV[2])
end
return 1
"""
)
WRITE_SHA = hashlib.sha1(WRITE.encode()).hexdigest()


def add_write(
    pipe: Any, key: str, *, sid: str, ttl_ms: int, values: Iterable[tuple[int, str]] = (), cutoff: int = -1
) -> None:
    """Write ``(ms into the bucket, values)`` pairs of one schema to one bucket; with ``cutoff``,
    first drop the bucket's samples before that offset (the bucket the window starts in)."""
    args: list[Any] = [sid, ttl_ms, cutoff]
    for offset, text in values:
        args += [offset, text]
    # execute_command: redis-py's cluster pipeline has no evalsha(), but routes EVALSHA by its keys
    pipe.execute_command("EVALSHA", WRITE_SHA, 1, key, *args)


def execute(fill: Callable[[Any], None], client: Any, scripts: Sequence[str]) -> list[Any]:
    """Fill a pipeline with ``fill`` and run it. When Redis does not know a script, load
    ``scripts`` and send again only the commands that failed for it: the others ran (a pipeline
    is not a transaction), and some are not idempotent (HINCRBY of the rolling counters ran
    twice when the whole pipeline was sent again)."""
    from redis.exceptions import NoScriptError

    pipe = client.pipeline(transaction=False)
    fill(pipe)
    results = pipe.execute(raise_on_error=False)
    missing = {i for i, result in enumerate(results) if isinstance(result, NoScriptError)}
    if missing:
        for script in scripts:
            client.script_load(script)
        again = client.pipeline(transaction=False)
        fill(_Only(again, missing))
        for index, result in zip(sorted(missing), again.execute(raise_on_error=False)):
            results[index] = result
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


class _Only:
    """A pipeline that queues only the commands at ``keep`` (by order of the calls ``fill`` makes:
    each call queues one command)."""

    def __init__(self, pipe: Any, keep: set[int]):
        self._pipe, self._keep, self._index = pipe, keep, 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._pipe, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            index, self._index = self._index, self._index + 1
            if index in self._keep:
                method(*args, **kwargs)
            return self

        return call
