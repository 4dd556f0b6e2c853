"""The reader code as the docs print it: SQL blocks by their ``-- query: <name>`` line, Python blocks whole."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"


def blocks(doc: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (DOCS / doc).read_text(), flags=re.S)


def query(doc: str, name: str) -> str:
    [found] = [b for b in blocks(doc, "sql") if b.startswith(f"-- query: {name}\n")]
    return found
