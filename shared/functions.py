"""Find the app's functions the way the Functions host does: every folder with a function.json.

The CLI dispatches through this, so a new collector plugs in by existing: no central list.
A function package exposes ``run(trigger, *, env=...) -> RunReport`` (``main`` is the host's
entry and calls it); an optional ``<function>/cli.py`` adds its own arguments and input.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

APP_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    folder: Path
    trigger: dict[str, Any]

    @property
    def trigger_type(self) -> str:
        return self.trigger.get("type", "")

    def module(self) -> ModuleType:
        return importlib.import_module(self.name)

    def cli_module(self) -> ModuleType | None:
        if not (self.folder / "cli.py").exists():
            return None
        return importlib.import_module(f"{self.name}.cli")


def discover(root: Path = APP_ROOT) -> dict[str, FunctionInfo]:
    found = {}
    for spec in sorted(root.glob("*/function.json")):
        folder = spec.parent
        if not (folder / "__init__.py").exists():
            continue
        bindings = json.loads(spec.read_text(encoding="utf-8")).get("bindings", [])
        trigger = next((b for b in bindings if str(b.get("type", "")).endswith("Trigger")), {})
        found[folder.name] = FunctionInfo(name=folder.name, folder=folder, trigger=trigger)
    return found
