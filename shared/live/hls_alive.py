"""When each HAProxy edge was ticking: the spans that let an edge's last count stand.

From 1.1.0 an edge sends a tenant's count while it has listeners and once when it drops to
zero, not every tick (docs/eventhub-messages.md). A zero sent an hour ago is still true as
long as the edge goes on ticking, so a count stands until the edge's next count for the
tenant or until the edge stops ticking for more than ``HLS_HOST_STALE_SECONDS``. What an
edge's ticks were is kept here, once for all tenants: every ``hls.tick`` (even one naming no
tenant) and every 1.0.0 ``hls.listeners`` message is a tick of its edge.

Key ``fabrik:live:hls:alive`` (hash: edge -> ``start:end,start:end``, epoch ms): an edge's
ticks merged into spans wherever two are at most the stale limit apart. The merge is a union,
so the record does not depend on the order or batches the ticks arrive in, nor on
redeliveries. Spans that ended before the window are dropped on each write. One small hash
for the whole platform (tens of edges, a few spans each): a write is one script call per
batch, a read one HGETALL.
"""

from __future__ import annotations

import bisect
import hashlib
from typing import Any, Iterable, Mapping, Sequence

# KEYS[1]: the alive hash. ARGV: stale ms, keep-from ms (spans ending before are dropped),
# time to live ms, then edge, tick, edge, tick... Every edge's spans are re-merged and trimmed;
# only an edge whose record changed is written back.
WRITE = """
local stale, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
local spans_of, before = {}, {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local spans = {}
  for s, e in string.gmatch(all[i + 1], '(%d+):(%d+)') do spans[#spans + 1] = {tonumber(s), tonumber(e)} end
  spans_of[all[i]] = spans
  before[all[i]] = all[i + 1]
end
for i = 4, #ARGV, 2 do
  local edge, t = ARGV[i], tonumber(ARGV[i + 1])
  spans_of[edge] = spans_of[edge] or {}
  table.insert(spans_of[edge], {t, t})
end
for edge, spans in pairs(spans_of) do
  table.sort(spans, function(a, b) return a[1] < b[1] end)
  local parts, last = {}, nil
  for _, s in ipairs(spans) do
    if last and s[1] - last[2] <= stale then
      if s[2] > last[2] then last[2] = s[2] end
    else
      if last and last[2] >= keep then parts[#parts + 1] = string.format('%d:%d', last[1], last[2]) end
      last = {s[1], s[2]}
    end
  end
  if last and last[2] >= keep then parts[#parts + 1] = string.format('%d:%d', last[1], last[2]) end
  local text = table.concat(parts, ',')
  if #parts == 0 then
    if before[edge] then redis.call('HDEL', KEYS[1], edge) end
  elseif text ~= before[edge] then
    redis.call('HSET', KEYS[1], edge, text)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""
WRITE_SHA = hashlib.sha1(WRITE.encode()).hexdigest()

Spans = Mapping[str, Sequence[tuple[int, int]]]


def alive_key(prefix: str) -> str:
    return f"{prefix}:live:hls:alive"


def add_write(
    pipe: Any, ticks: Mapping[str, Iterable[int]], *, prefix: str, stale_ms: int, keep_from_ms: int, ttl_ms: int
) -> None:
    """Queue one script call taking every edge's ``ticks`` (ms) into its spans."""
    args: list[Any] = []
    for edge, times in sorted(ticks.items()):
        for when in sorted(set(times)):
            args += [edge, when]
    if not args:
        return
    pipe.execute_command("EVALSHA", WRITE_SHA, 1, alive_key(prefix), stale_ms, keep_from_ms, max(1, ttl_ms), *args)


def decode(answer: Mapping[Any, Any] | None) -> dict[str, list[tuple[int, int]]]:
    """HGETALL's answer as each edge's spans, oldest first; damaged parts are skipped."""
    out: dict[str, list[tuple[int, int]]] = {}
    for edge, text in (answer or {}).items():
        spans = []
        for part in _text(text).split(","):
            start, _, end = part.partition(":")
            if start.isdigit() and end.isdigit() and int(start) <= int(end):
                spans.append((int(start), int(end)))
        out[_text(edge)] = sorted(spans)
    return out


def last_tick(spans: Sequence[tuple[int, int]], when: int) -> int | None:
    """The end of the span holding ``when``: the edge's last tick of the run ``when`` is in."""
    i = bisect.bisect_right(spans, (when, float("inf"))) - 1
    if i >= 0 and spans[i][0] <= when <= spans[i][1]:
        return spans[i][1]
    return None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
