"""Find the app's functions the way the Functions host does: every folder with a function.json.

The CLI, health, ``doctor``, ``TENANTS`` and the live store go through this, so a new collector
plugs in by existing: no central list. A function package exposes ``run(trigger, *, env=...)
-> RunReport`` (``main`` is the host's entry and calls it), declares itself in
``<function>/descriptor.py`` (``shared.core.descriptor``), and may add ``<function>/cli.py`` for its
own arguments and input.
"""

from __future__ import annotations

import functools
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Mapping

from shared.core.descriptor import Descriptor, Series, TenantSection

APP_ROOT = Path(__file__).resolve().parents[2]


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

    def descriptor(self) -> Descriptor:
        if not (self.folder / "descriptor.py").exists():
            return Descriptor(name=self.name)
        found = importlib.import_module(f"{self.name}.descriptor").DESCRIPTOR
        if found.name != self.name:
            raise RuntimeError(f"{self.folder}/descriptor.py names {found.name!r}, not its folder {self.name!r}")
        return found


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


@functools.cache
def descriptors(root: Path = APP_ROOT) -> Mapping[str, Descriptor]:
    """Every function's descriptor, by name (read once a process: they are constants)."""
    return MappingProxyType({name: info.descriptor() for name, info in discover(root).items()})


def all_series(root: Path = APP_ROOT) -> dict[str, Series]:
    """The live series, by name, in the order of their functions."""
    return {s.name: s for d in descriptors(root).values() for s in d.series}


def writer_of(series: str, root: Path = APP_ROOT) -> Descriptor:
    return next(d for d in descriptors(root).values() if any(s.name == series for s in d.series))


def tenant_sections(root: Path = APP_ROOT) -> dict[str, TenantSection]:
    return {t.name: t for d in descriptors(root).values() for t in d.tenant_sections}
