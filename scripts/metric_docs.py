"""Write the descriptors' metric table into docs/redis-schema.md (``make docs``).

The table sits between ``<!-- metrics: ... -->`` and ``<!-- /metrics -->``; everything else in
the file is left as it is. tests/test_descriptors.py fails while the two differ.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.cli.render import metric_table  # noqa: E402
from shared.core.functions import all_series  # noqa: E402

DOC = ROOT / "docs" / "redis-schema.md"
BLOCK = re.compile(r"(<!-- metrics:[^\n]*-->\n)(.*?)(\n<!-- /metrics -->)", re.DOTALL)


def documented(text: str) -> str:
    """The table in the doc as it stands."""
    found = BLOCK.search(text)
    if found is None:
        raise SystemExit(f"{DOC}: no <!-- metrics: --> ... <!-- /metrics --> block")
    return found.group(2)


def main() -> int:
    text = DOC.read_text(encoding="utf-8")
    documented(text)
    table = metric_table(all_series().values())
    DOC.write_text(BLOCK.sub(lambda m: m.group(1) + table + m.group(3), text), encoding="utf-8")
    print(f"{DOC.relative_to(ROOT)}: metric table written ({table.count(chr(10)) - 1} metrics)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
