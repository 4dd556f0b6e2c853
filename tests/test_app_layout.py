"""What the Functions host and the deploy rely on, checked without the host (it cannot run here)."""

import ast
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared.core.functions import discover
from tests.helpers import APP_FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = discover(ROOT)
SAMPLE = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
PLATFORM = {"WEBSITE_HOSTNAME"}  # set by Azure App Service itself, never by a deployment
# requests' own variables, read once by shared/clients/http.py on its behalf (docs/settings.md says so)
PLATFORM |= {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}
HEAVY = ("azure.storage.blob", "azure.eventhub", "jwt", "cryptography")


def test_v1_model_no_function_app_py():
    assert not (ROOT / "function_app.py").exists()
    assert APP_FUNCTIONS and set(FUNCTIONS) == APP_FUNCTIONS


def test_host_json():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert re.match(r"^\d\d:\d\d:\d\d$", host["functionTimeout"])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_json_matches_main_and_settings(name):
    info = FUNCTIONS[name]
    spec = json.loads((info.folder / "function.json").read_text())
    assert spec.get("scriptFile", "__init__.py") == "__init__.py"
    main = getattr(info.module(), spec.get("entryPoint", "main"))
    params = list(inspect.signature(main).parameters)
    inputs = [b["name"] for b in spec["bindings"] if b["direction"] == "in"]
    assert params == inputs, "binding names must match main()'s parameters"
    for binding in spec["bindings"]:
        for value in binding.values():
            for setting in re.findall(r"%([A-Za-z0-9_]+)%", str(value)):
                assert setting in SAMPLE, f"{name}: {setting} is not in local.settings.sample.json"
        if "connection" in binding:
            assert binding["connection"] in SAMPLE
    trigger = info.trigger
    if trigger["type"] == "timerTrigger":
        assert trigger["schedule"] == f"%{name.upper()}_SCHEDULE%"
        assert len(SAMPLE[f"{name.upper()}_SCHEDULE"].split()) == 6, "NCRONTAB has six fields"
    if trigger["type"] == "eventHubTrigger":
        assert (trigger["cardinality"], trigger["dataType"]) == ("many", "binary")
        assert spec["retry"]["strategy"] == "exponentialBackoff"


def _settings_read_in(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("get", "fail") and node.args:
            first = node.args[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and re.match(r"^[A-Z][A-Z0-9_]+$", first.value)
            ):
                names.add(first.value)
    return names


def test_no_function_imports_a_heavy_sdk_at_import_time():
    code = (
        "import sys; sys.path.insert(0, %r)\n" % str(ROOT)
        + "".join(f"import {n}\n" for n in sorted(FUNCTIONS))
        + "from shared.core.functions import descriptors; descriptors()\n"  # every run reads them
        + "print([m for m in sys.modules if m.split('.')[0] in {'jwt','cryptography'} or "
        "m.startswith(('azure.storage.blob', 'azure.eventhub'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", f"imported at module import time: {out}"


OWN_PACKAGES = {"shared", *FUNCTIONS, "haproxy_agent"}
HEAVY_PREFIXES = (
    "lxml",
    "requests",
    "redis",
    "jwt",
    "cryptography",
    "azure.storage",
    "azure.eventhub",
    "azure.identity",
)


def _pulls_heavy(module: str) -> list[str]:
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); import azure.functions; before = set(sys.modules)\n"
        f"import {module}\n"
        f"print(sorted(m for m in set(sys.modules) - before if m.startswith({HEAVY_PREFIXES!r})))"
    )
    return eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def _loaded_at_worker_start(rel: Path) -> bool:
    """The host imports every function's entry module when a worker starts, and every run reads
    every descriptor: deferring there keeps one function's code off the others' cold start
    (measured in make bench: importing all functions' code at the top costs ~80 ms, the
    descriptors' settings ~20 ms)."""
    return (rel.name == "__init__.py" and rel.parts[0] in FUNCTIONS and len(rel.parts) == 2) or rel.name == (
        "descriptor.py"
    )


def test_own_modules_are_imported_at_the_top_unless_they_load_a_heavy_library():
    """Deferring an import is for the heavy libraries and the worker's start only; elsewhere
    the app's own modules are read at the top, where a reader looks."""
    lazy, scanned = set(), 0
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in OWN_PACKAGES or "__pycache__" in rel.parts or _loaded_at_worker_start(rel):
            continue
        scanned += 1
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                        if node.module.split(".")[0] in OWN_PACKAGES:
                            lazy.add((str(rel), node.module))
    assert scanned > 50, "the scan found too few modules: is it still reading the code?"
    needless = [(where, module) for where, module in sorted(lazy) if not _pulls_heavy(module)]
    assert needless == []


MAX_COMPLEXITY = 15  # radon's cyclomatic complexity: ruff's C901 (12) plus each boolean operator
NOT_PRODUCTION = {"tests", "bench", "scripts", "batch", "node_modules", "devstack"}


def _production_modules() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not ({part for part in path.relative_to(ROOT).parts} & NOT_PRODUCTION)
        and not path.relative_to(ROOT).parts[0].startswith(".")
    ]


def test_no_production_function_is_more_complex_than_15():
    """Issue 39: ruff's C901 passed at 12 while radon counted 30 functions above it (``and`` and
    ``or`` branch too). Every function the app and the edge run stays at 15 or below."""
    from radon.complexity import cc_visit

    modules = _production_modules()
    assert len(modules) > 50, "the scan found too few modules"
    over = [
        f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname} = {block.complexity}"
        for path in modules
        for block in cc_visit(path.read_text())
        if block.complexity > MAX_COMPLEXITY
    ]
    assert not over, "\n".join(over)


def test_every_exception_the_app_and_the_edge_define_is_in_the_one_tree():
    """Issue 39: error classes outside shared.core.errors (the edge's ConfigProblem, the
    validator's _Refused) could not be told retriable or named a setting. Every exception class
    a production module defines is a FabrikError, so its fields decide (exit codes, redelivery)."""
    import importlib

    from shared.core.errors import FabrikError

    defined = []
    for path in _production_modules():
        tree = ast.parse(path.read_text())
        names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
        if not names:
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        defined += [
            (path.name, cls)
            for cls in (getattr(module, name) for name in names)
            if isinstance(cls, type) and issubclass(cls, BaseException)
        ]
    assert len(defined) >= 10, defined
    outside = [f"{where}: {cls.__name__}" for where, cls in defined if not issubclass(cls, FabrikError)]
    assert not outside, outside
