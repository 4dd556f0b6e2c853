"""The tables ``make bench-scale`` prints (and docs/benchmarks.md keeps)."""

from __future__ import annotations

from typing import Any, Callable


def _t(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def print_tables(results: dict[int, dict[str, Any]], rows_for: Callable[..., list[dict]], busy: dict) -> None:
    print("\nPer run (one execution, measured in its own process)\n")
    head = ("stations", "function", "wall", "CPU", "peak RSS", "Redis cmds", "round trips", "Redis time", "runs/month")
    lines = []
    for size, out in results.items():
        for r in rows_for(size, out):
            lines.append(
                (
                    str(size),
                    r["function"]
                    + (f" ({out['eventhub_to_redis']['batch']} msgs)" if r["function"] == "eventhub_to_redis" else "")
                    + (f" ({out['agent_tick']['entries']:,} entries)" if r["function"] == "agent_tick" else ""),
                    _t(r["wall_s"]),
                    _t(r["cpu_s"]),
                    f"{r['rss_mib']:.0f} MiB",
                    f"{r['redis_commands']:,}",
                    str(r["round_trips"]),
                    f"{r['redis_ms']:.1f} ms",
                    f"{r['executions']:,.0f}" if r["executions"] else "-",
                )
            )
    _print(head, lines)
    print("\nPer station and month (compute, free grants off the platform's total; page reads apart)\n")
    head = (
        "stations", "messages/s", "1.0.0 messages/s", "runs/month", "€ 512 MB", "€ 2,048 MB",
        "1.0.0 € 512 MB", "Redis bytes/station", "page €/viewer-hour 512 MB",
    )  # fmt: skip
    lines = []
    for size, out in results.items():
        b = out["bill"]
        lines.append(
            (
                str(size),
                f"{b['messages_s']:,.1f}",
                f"{b['naive_messages_s']:,.0f}",
                f"{b['executions']:,.0f}",
                f"€{b['eur_station_512']:.3f}",
                f"€{b['eur_station_2048']:.3f}",
                f"€{b['naive_eur_station_512']:.3f}",
                f"{out['redis_bytes_per_station'] / 1024:,.0f} KiB",
                f"€{b['page_viewer_hour_512']:.5f}",
            )
        )
    _print(head, lines)
    page = results[max(results)]["page_read"]
    print(
        f"\nPage answer of the largest station (a full window, 20 edges): {page['answer_bytes']:,} bytes; "
        f"asked again unchanged: HTTP {page['revalidated_status']}, {page['revalidated_bytes']} bytes"
    )
    print(
        f"\nPage read of a station with 200,000 events in its window: wall {_t(busy['wall_s'])}, "
        f"Redis {busy['redis_ms']:.1f} ms in {busy['redis_commands']} commands, {busy['round_trips']} round trip(s)"
    )


def _print(head: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    widths = [max(len(head[i]), *(len(line[i]) for line in lines)) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
