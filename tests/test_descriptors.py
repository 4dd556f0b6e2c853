"""The functions declare themselves (shared.core.descriptor): shared/ names none of them, and the
documented metrics are the declared ones, which are the ones the collectors write."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from icecast_poller.aggregate import aggregate
from icecast_poller.fetch import ServerResult
from icecast_poller.parse import parse_listclients, parse_stats
from icecast_poller.settings import parse_servers
from icecast_poller.tenant import MountOwners
from scripts.metric_docs import DOC, documented
from shared.cli.render import metric_table
from shared.core.functions import all_series, descriptors, discover
from shared.core.tenants import parse_tenants
from shared.privacy.identity import IdentityHasher

ROOT = Path(__file__).resolve().parent.parent
ICECAST_DATA = ROOT / "tests" / "icecast_poller" / "testdata"


def test_no_module_under_shared_imports_a_function_package():
    packages = set(discover(ROOT))
    found = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in packages]
    assert found == []


def test_no_module_under_shared_reads_a_function_folder():
    folders = "|".join(discover(ROOT))
    hits = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in sorted((ROOT / "shared").rglob("*.py"))
        for m in re.finditer(rf"[\"'/]({folders})[\"'/]", path.read_text(encoding="utf-8"))
    ]
    assert hits == []


def test_the_documented_metric_table_is_the_descriptors():
    assert documented(DOC.read_text(encoding="utf-8")) == metric_table(all_series().values()), (
        "docs/redis-schema.md is out of date: run make docs"
    )


def _readme_metrics(path: Path) -> dict[str, str]:
    """Metric name -> unit, from the README's table whose header starts ``| metric | unit |``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| metric | unit |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first, unit = [c.strip() for c in line.strip("|").split("|")[:2]]
        for name in re.findall(r"`([^`]+)`", first):
            rows[name] = unit
    return rows


def test_each_readme_lists_its_series_metrics_with_the_declared_units():
    """Every function that writes a series documents each of its metrics with its unit (no
    hand-kept count of collectors: a new one with a series is checked as it appears)."""
    for name, described in descriptors(ROOT).items():
        readme = ROOT / name / "README.md"
        if not described.series:
            continue
        assert "| metric | unit |" in readme.read_text(encoding="utf-8"), f"{name}/README.md has no metric table"
        [series] = described.series
        rows = _readme_metrics(readme)
        for metric, unit in rows.items():
            declared = series.metric_for(metric)
            assert declared is not None, f"{readme.name} of {name}: {metric} is not declared"
            assert declared.unit == unit, f"{name}: {metric} is in {declared.unit}, the README says {unit}"
        missing = [m.name for m in series.metrics if not any(m.matches(r) or m.name == r for r in rows)]
        assert missing == [], f"{name}/README.md leaves out {missing}"


def test_every_function_declares_itself_and_timers_have_their_schedule():
    settings_doc = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for name, info in discover(ROOT).items():
        described = descriptors(ROOT)[name]
        if info.trigger_type == "timerTrigger":
            sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
            assert described.schedule == sample[f"{name.upper()}_SCHEDULE"], name
            assert f"| `{name.upper()}_SCHEDULE` | `{described.schedule}` |" in settings_doc, name
        elif described.in_use:
            assert described.max_age_s, f"{name} has no timer: it needs max_age_s"


LISTS = ("icecast-2.4.4_admin_listclients_acme.mp3.xml", "icecast-2.4.4_admin_listclients_acme.aac.xml")


@settings(max_examples=40, deadline=None)
@given(
    mounts=st.lists(st.sampled_from(["/acme.mp3", "/acme.aac", "/metro.mp3", "/x"]), unique=True, max_size=3),
    fallback=st.sampled_from([[], ["/loop.mp3"]]),
    top=st.sampled_from([None, 1, 10]),
)
def test_every_metric_an_icecast_sample_carries_is_declared(mounts, fallback, top):
    """Whatever TENANTS claims, on a recorded server's answers: no undeclared metric is written."""
    tenants = parse_tenants(
        json.dumps({"acme-fm": {"icecast": {"mounts": mounts, "fallback_mounts": fallback}}, "b": {}})
    )
    hasher = IdentityHasher(b"k" * 32)
    listeners = {
        f"/{name.split('_')[-1][:-4]}": parse_listclients(
            (ICECAST_DATA / name).read_bytes(), ip_tokens=hasher.ip_tokens
        )
        for name in LISTS
    }
    if top is not None:
        listeners = {m: [r._replace(country="DE") for r in rs] for m, rs in listeners.items()}
    [server] = parse_servers(json.dumps([{"url": "http://127.0.0.1:1", "password": "p"}]))
    result = ServerResult(
        server=server, stats=parse_stats((ICECAST_DATA / "icecast-2.4.4_admin_stats.xml").read_bytes())
    )
    result.listeners = listeners
    spec = all_series()["icecast"]
    for sample in aggregate([result], MountOwners.of(tenants), time_ms=0, top_countries=top).samples:
        assert [k for k in sample.metrics if spec.metric_for(k) is None] == []
