"""Write local.settings.sample.json and docs/settings.md's tables from the declarations (``make docs``).

The declarations: ``shared.core.app_settings`` (the host's and every Redis-writing function's)
and each function's descriptor (``settings``, its schedule). In docs/settings.md the generated
part sits between ``<!-- settings -->`` and ``<!-- /settings -->``; the prose around it is the
doc's own. tests/test_settings_contract.py fails while either file differs from what this writes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.core.app_settings import APP, HOST  # noqa: E402
from shared.core.descriptor import Descriptor, Setting  # noqa: E402
from shared.core.functions import descriptors  # noqa: E402

DOC = ROOT / "docs" / "settings.md"
SAMPLE = ROOT / "local.settings.sample.json"
BLOCK = re.compile(r"(<!-- settings: (app|functions) -->\n)(.*?)(\n<!-- /settings -->)", re.DOTALL)


def schedules(found: dict[str, Descriptor]) -> list[Setting]:
    """The timers' schedule settings, read by the host (``%<NAME>_SCHEDULE%`` in function.json)."""
    return [
        Setting(f"{d.name.upper()}_SCHEDULE", d.schedule_help, default=f"`{d.schedule}`", example=d.schedule)
        for d in found.values()
        if d.schedule
    ]


def groups(root: Path = ROOT) -> list[tuple[str, tuple[Setting, ...], str]]:
    """(heading, settings, note) in the order the docs and the sample list them."""
    found = dict(descriptors(root))
    out = [
        ("Every function, and the CLI's `show`/`status`", (*HOST, *APP), ""),
        ("Schedules (read by the Functions host)", tuple(schedules(found)), _SCHEDULE_NOTE),
    ]
    out += [(d.name, d.settings, d.settings_note) for d in found.values() if d.settings]
    return out


_SCHEDULE_NOTE = (
    "The host refuses to load a timer function whose schedule setting is missing: set them in the "
    "app settings (the sample has the defaults)."
)


def table(settings: tuple[Setting, ...]) -> str:
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for s in settings:
        name = s.label or f"`{s.name}`"
        rows.append(f"| {name}{' 🔒' if s.secret else ''} | {s.default} | {s.help} |")
    return "\n".join(rows)


def settings_markdown(part: str, root: Path = ROOT) -> str:
    """``app``: the first group; ``functions``: the schedules and each function's own."""
    chosen = groups(root)[:1] if part == "app" else groups(root)[1:]
    parts = []
    for heading, settings, note in chosen:
        parts.append(f"## {heading}\n\n{table(settings)}" + (f"\n\n{note}" if note else ""))
    return "\n\n".join(parts)


def sample_json(root: Path = ROOT) -> str:
    """The sample: every declared setting with an example, in groups, as ``func start`` reads it."""
    seen: set[str] = set()
    blocks = []
    for _, settings, _ in groups(root):
        lines = []
        for s in settings:
            if s.example is None or s.name in seen:
                continue
            seen.add(s.name)
            lines.append(f"    {json.dumps(s.name)}: {json.dumps(s.example, ensure_ascii=False)}")
        if lines:
            blocks.append(lines)
    body = ",\n\n".join(",\n".join(lines) for lines in blocks)
    return '{\n  "IsEncrypted": false,\n  "Values": {\n' + body + "\n  }\n}\n"


def written_doc(text: str, root: Path = ROOT) -> str:
    if {m.group(2) for m in BLOCK.finditer(text)} != {"app", "functions"}:
        raise SystemExit(f"{DOC}: needs a <!-- settings: app --> and a <!-- settings: functions --> block")
    return BLOCK.sub(lambda m: m.group(1) + settings_markdown(m.group(2), root) + m.group(4), text)


def main() -> int:
    DOC.write_text(written_doc(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    SAMPLE.write_text(sample_json(), encoding="utf-8")
    count = sum(len(settings) for _, settings, _ in groups())
    print(f"{DOC.relative_to(ROOT)} and {SAMPLE.name}: {count} settings written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
