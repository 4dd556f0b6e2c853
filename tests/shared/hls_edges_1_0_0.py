"""The 1.0.0 reader of an edge's HLS buckets, as released (shared/hls_edges.py at the commit
"Release 1.0.0", 3221f0b): kept here so tests read what 1.1.0 writes with both releases' code."""

from typing import Any, Sequence

BUCKET_MS = 1_800_000


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode(answer: Sequence[Any]) -> dict[str, list[tuple[int, int]]]:
    """The script's answer as each edge's ``(time ms, count)``, oldest first; damaged fields are skipped."""
    edges: dict[str, list[tuple[int, int]]] = {}
    for i in range(0, len(answer) - 2, 3):
        edge, bucket, entries = _text(answer[i]), int(answer[i + 1]), answer[i + 2]
        base = bucket * BUCKET_MS
        counts = edges.setdefault(edge, [])
        for j in range(0, len(entries) - 1, 2):
            try:
                counts.append((base + int(entries[j]), int(entries[j + 1])))
            except ValueError:
                continue
    for counts in edges.values():
        counts.sort()
    return edges
