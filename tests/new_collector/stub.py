"""A fifth collector, written as docs/new-collector.md says: its own folder and nothing else.

A stub SHOUTcast DNAS poller (``GET /statistics?json=1``, ``currentlisteners``). ``build_app``
copies the app (the files git knows, without tests' data or benchmarks) into a directory and
adds the folder, so the app's own discovery, docs generator, CLI, health and the worker library
meet a collector no hand-written list names.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NAME = "shoutcast_poller"

FILES = {
    "function.json": """{
  "scriptFile": "__init__.py",
  "entryPoint": "main",
  "bindings": [
    {"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "%SHOUTCAST_POLLER_SCHEDULE%",
     "runOnStartup": false, "useMonitor": false}
  ]
}
""",
    "__init__.py": '''"""shoutcast_poller: a SHOUTcast DNAS server's current listeners into a tenant's series."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import azure.functions as func

from shared.runtime.status import RunReport


def main(timer: func.TimerRequest) -> None:
    run(timer)


def run(
    timer: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
    redis: Any = None,
    clock: Callable[[], float] = time.time,
) -> RunReport:
    from shared.runtime.collect import run_collector
    from shoutcast_poller.descriptor import DESCRIPTOR

    return run_collector(DESCRIPTOR, timer, env=env, session=session, redis=redis, clock=clock)
''',
    "descriptor.py": '''"""shoutcast_poller as the rest of the app sees it."""

from shared.core.descriptor import Descriptor, Metric, Probe, Series, Setting, lazy

SHOUTCAST = Series(
    name="shoutcast",
    bucket_ms=1_800_000,
    metrics=(Metric("listeners", "connections", "current listeners of the server's streams"),),
)
SETTINGS = (
    Setting("SHOUTCAST_URL", "the DNAS server's root URL", default="required", example="http://127.0.0.1:8000"),
    Setting("SHOUTCAST_TENANT", "the tenant its listeners belong to", default="required", example="acme-fm"),
)


def _probes(settings, env):
    from shoutcast_poller.collect import fetch

    yield Probe(f"shoutcast {settings.url}", lambda: f"{fetch(None, settings.url)} listeners")


DESCRIPTOR = Descriptor(
    name="shoutcast_poller",
    in_use=("SHOUTCAST_URL",),
    load_settings=lazy("shoutcast_poller.settings", "load_settings"),
    schedule="*/30 * * * * *",
    schedule_help="every 30 s",
    series=(SHOUTCAST,),
    settings=SETTINGS,
    probes=_probes,
    collect=lazy("shoutcast_poller.collect", "collect"),
)
''',
    "settings.py": '''"""Settings of shoutcast_poller."""

from dataclasses import dataclass

from shared.core.settings import SettingsReader, StoreSettings, cached_loader, http_url, read_store


@dataclass(frozen=True)
class ShoutcastSettings:
    store: StoreSettings
    url: str
    tenant: str


def _load(env):
    reader = SettingsReader(env)
    store = read_store(reader)
    url = reader.get("SHOUTCAST_URL", http_url)
    tenant = reader.get("SHOUTCAST_TENANT")
    reader.check()
    return ShoutcastSettings(store=store, url=url, tenant=tenant)


load_settings = cached_loader(_load)
''',
    "collect.py": '''"""shoutcast_poller's step."""

import requests

from shared.core.errors import BadInputError, RetriableError
from shared.live.records import Sample


def fetch(session, url):
    try:
        answer = (session or requests).get(f"{url}/statistics?json=1", timeout=(3, 5))
        answer.raise_for_status()
        return int(answer.json()["currentlisteners"])
    except requests.RequestException as exc:
        raise RetriableError(f"shoutcast {url}: {type(exc).__name__}") from None
    except (ValueError, KeyError, TypeError):
        raise BadInputError(f"shoutcast {url}: no currentlisteners in the answer") from None


def collect(settings, context):
    try:
        listeners = fetch(context.session, settings.url)
    except (RetriableError, BadInputError) as exc:
        context.report.fail("server", exc)
        return []
    context.report.succeed("server", listeners=listeners)
    return [Sample(settings.tenant, "shoutcast", context.report.started_ms, {"listeners": listeners})]
''',
    "README.md": """# shoutcast_poller

Current listeners of one SHOUTcast DNAS server (`/statistics?json=1`), every 30 s, into the
tenant's `shoutcast` series. A server that does not answer is a failed source `server`.

| metric | unit | from |
|---|---|---|
| `listeners` | connections | `currentlisteners` |
""",
}


def build_app(target: Path) -> Path:
    """The app as git knows it (committed or not, ignored files left out), plus the stub's folder."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for name in listed:
        if not name or name.startswith(("bench/", "tests/")) or not (ROOT / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    for name in ("tests/__init__.py", "tests/conftest.py", "tests/helpers.py", "tests/faulty.py", "pytest.ini"):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "tests" / "worker", target / "tests" / "worker")
    folder = target / NAME
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    return target
